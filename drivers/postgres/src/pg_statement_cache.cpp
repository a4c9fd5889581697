#include "pg_statement_cache.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace uvdb::postgres::detail {

namespace {
bool same_types(const std::vector<Oid>& a, const Oid* b, int n) {
    return a.size() == static_cast<std::size_t>(n) && (n == 0 || std::equal(a.begin(), a.end(), b));
}

/// Where the first keyword of `sql` starts: after white space and comments,
/// as PostgreSQL's lexer reads them ("-- ..." up to a line end, and "/* ... */",
/// which nest). An unterminated comment leaves nothing; the server refuses it.
std::size_t first_token(std::string_view sql) noexcept {
    std::size_t i = 0;
    while (i < sql.size()) {
        if (std::isspace(static_cast<unsigned char>(sql[i])) != 0) {
            ++i;
        } else if (sql.compare(i, 2, "--") == 0) {
            i = sql.find_first_of("\r\n", i + 2);
            if (i == std::string_view::npos) return sql.size();
        } else if (sql.compare(i, 2, "/*") == 0) {
            int depth = 1;
            for (i += 2; i < sql.size() && depth > 0;) {
                if (sql.compare(i, 2, "/*") == 0) {
                    ++depth;
                    i += 2;
                } else if (sql.compare(i, 2, "*/") == 0) {
                    --depth;
                    i += 2;
                } else {
                    ++i;
                }
            }
        } else {
            break;
        }
    }
    return i;
}

}  // namespace

const statement_cache::entry* statement_cache::find(std::string_view sql, const Oid* types, int n) {
    auto it = by_sql_.find(sql);
    if (it == by_sql_.end()) return nullptr;
    if (!same_types(it->second->types, types, n)) {
        forget(it->second->name, true);
        return nullptr;
    }
    lru_.splice(lru_.begin(), lru_, it->second);  // no allocation
    return &*it->second;
}

const statement_cache::entry& statement_cache::insert(std::string_view sql, const Oid* types, int n,
                                                      std::uint64_t parsed_by) {
    if (lru_.size() >= capacity_) {
        entry& victim = lru_.back();
        to_close_.push_back(std::move(victim.name));
        by_sql_.erase(victim.sql);
        lru_.pop_back();
    }
    entry e;
    e.sql.assign(sql);
    e.name = "uvdb_s" + std::to_string(++next_id_);
    e.types.assign(types, types + n);
    e.parsed_by = parsed_by;
    lru_.push_front(std::move(e));
    by_sql_.emplace(lru_.front().sql, lru_.begin());
    return lru_.front();
}

const statement_cache::entry* statement_cache::by_name(std::string_view name) const {
    for (const entry& e : lru_) {
        if (e.name == name) return &e;
    }
    return nullptr;
}

void statement_cache::forget(std::string_view name, bool on_server) {
    auto it =
        std::find_if(lru_.begin(), lru_.end(), [&](const entry& e) { return e.name == name; });
    if (it == lru_.end()) return;
    if (on_server) to_close_.push_back(std::move(it->name));
    by_sql_.erase(it->sql);
    lru_.erase(it);
}

void statement_cache::clear() noexcept {
    by_sql_.clear();
    lru_.clear();
    to_close_.clear();
}

bool uncacheable(std::string_view sql) noexcept {
    const std::size_t i = first_token(sql);
    if (sql.size() - i < 4) return false;
    auto lower = [&](std::size_t k) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(sql[i + k])));
    };
    return lower(0) == 'c' && lower(1) == 'o' && lower(2) == 'p' && lower(3) == 'y';
}

namespace {

/// The keyword starting at `i` in `sql`, lower-cased into `out` (at most 9
/// letters, "savepoint"; longer words and non-words give an empty view), and
/// moves `i` past it.
std::string_view keyword_at(std::string_view sql, std::size_t& i, char (&out)[10]) noexcept {
    std::size_t end = i;
    while (end < sql.size() && end - i < 10 &&
           std::isalpha(static_cast<unsigned char>(sql[end])) != 0) {
        ++end;
    }
    const std::size_t n = end - i;
    // A keyword must end there: "selectx" is not SELECT.
    if (n == 0 || n > 9 ||
        (end < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[end])) != 0 ||
                              sql[end] == '_' || sql[end] == '$'))) {
        return {};
    }
    for (std::size_t k = 0; k < n; ++k) {
        out[k] = static_cast<char>(std::tolower(static_cast<unsigned char>(sql[i + k])));
    }
    i = end;
    return {out, n};
}

}  // namespace

statement_kind classify(std::string_view sql) noexcept {
    std::size_t i = first_token(sql);
    char word[10] = {};
    const std::string_view w = keyword_at(sql, i, word);
    if (w == "select" || w == "insert" || w == "update" || w == "delete" || w == "merge" ||
        w == "with" || w == "values" || w == "table" || w == "show") {
        return statement_kind::ordinary;
    }
    if (w == "begin" || w == "start") return statement_kind::begins;
    if (w == "savepoint" || w == "release") return statement_kind::savepoint;
    const bool commit = w == "commit" || w == "end";
    const bool rollback = w == "rollback" || w == "abort";
    if (!commit && !rollback) return statement_kind::other;
    // COMMIT PREPARED / ROLLBACK PREPARED act on another transaction (and
    // refuse to run inside one); ROLLBACK TO [SAVEPOINT] stays in this one.
    i = first_token(sql.substr(i)) + i;
    char next[10] = {};
    const std::string_view n = keyword_at(sql, i, next);
    if (n == "prepared") return statement_kind::other;
    if (rollback && n == "to") return statement_kind::savepoint;
    return statement_kind::ends;
}

bool drops_prepared_statements(const char* tag) noexcept {
    return tag != nullptr && tag[0] == 'D' &&
           (std::strcmp(tag, "DISCARD ALL") == 0 || std::strcmp(tag, "DEALLOCATE ALL") == 0);
}

}  // namespace uvdb::postgres::detail
