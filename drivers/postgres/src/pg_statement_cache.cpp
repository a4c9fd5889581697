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

bool pipelinable(std::string_view sql) noexcept {
    const std::size_t i = first_token(sql);
    std::size_t end = i;
    while (end < sql.size() && end - i < 8 &&
           std::isalpha(static_cast<unsigned char>(sql[end])) != 0) {
        ++end;
    }
    // A keyword must end there: "selectx" is not SELECT.
    if (end < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[end])) != 0 ||
                             sql[end] == '_' || sql[end] == '$')) {
        return false;
    }
    char word[8] = {};
    const std::size_t n = end - i;
    if (n < 4 || n > 6) return false;
    for (std::size_t k = 0; k < n; ++k) {
        word[k] = static_cast<char>(std::tolower(static_cast<unsigned char>(sql[i + k])));
    }
    const std::string_view w(word, n);
    return w == "select" || w == "insert" || w == "update" || w == "delete" || w == "merge" ||
           w == "with" || w == "values" || w == "table" || w == "show";
}

bool drops_prepared_statements(const char* tag) noexcept {
    return tag != nullptr && tag[0] == 'D' &&
           (std::strcmp(tag, "DISCARD ALL") == 0 || std::strcmp(tag, "DEALLOCATE ALL") == 0);
}

}  // namespace uvdb::postgres::detail
