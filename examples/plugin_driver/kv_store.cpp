#include "kv_store.hpp"

#include <cctype>
#include <charconv>
#include <optional>
#include <utility>
#include <vector>

namespace kv {
namespace {

std::vector<std::string_view> words(std::string_view sql) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < sql.size()) {
        while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i]))) ++i;
        std::size_t start = i;
        while (i < sql.size() && !std::isspace(static_cast<unsigned char>(sql[i]))) ++i;
        if (i > start) out.push_back(sql.substr(start, i - start));
    }
    return out;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

uvdb::error syntax(std::string text) {
    uvdb::error e(uvdb::errc::server_error, "the kv backend rejected the statement");
    e.with_sqlstate("42601").with_server_text(std::move(text));
    return e;
}

// The text of a parameter as the store keeps it; NULL and binary data cannot be stored.
uvdb::result<std::string> param_text(uvdb::param_view p, std::size_t n) {
    using kind = uvdb::param::kind;
    switch (p.type()) {
        case kind::null:
            return uvdb::error(uvdb::errc::bad_input,
                               "kv: parameter $" + std::to_string(n) +
                                   " is NULL; the kv backend stores text only");
        case kind::binary:
            return uvdb::error(uvdb::errc::bad_input,
                               "kv: parameter $" + std::to_string(n) +
                                   " is binary; the kv backend stores text only");
        case kind::boolean:
            return std::string(p.as_bool() ? "true" : "false");
        case kind::int16:
        case kind::int32:
        case kind::int64:
            return std::to_string(p.as_int());
        case kind::float32:
        case kind::float64: {
            char buf[64];
            auto r = std::to_chars(buf, buf + sizeof buf, p.as_double());
            return std::string(buf, r.ptr);
        }
        case kind::text:
            return std::string(p.as_text());
    }
    return uvdb::error(uvdb::errc::internal, "kv: unknown parameter kind");
}

// A word, or the parameter it names ($1 is p[0]).
uvdb::result<std::string> argument(std::string_view w, const uvdb::params& p) {
    if (w.size() < 2 || w[0] != '$') return std::string(w);
    std::size_t n = 0;
    auto [ptr, ec] = std::from_chars(w.data() + 1, w.data() + w.size(), n);
    if (ec != std::errc() || ptr != w.data() + w.size() || n == 0) {
        return syntax("bad parameter reference \"" + std::string(w) + "\"");
    }
    if (n > p.size()) {
        return uvdb::error(uvdb::errc::bad_input, "kv: the statement uses $" + std::to_string(n) +
                                                      " but " + std::to_string(p.size()) +
                                                      " parameter(s) were given");
    }
    return param_text(p[n - 1], n);
}

std::unique_ptr<uvdb::owned_result> key_value_result() {
    return std::make_unique<uvdb::owned_result>(
        std::vector<uvdb::owned_result::column>{{"key", uvdb::column_kind::text, 0, "text"},
                                                {"value", uvdb::column_kind::text, 0, "text"}});
}

uvdb::result_set tagged(std::unique_ptr<uvdb::owned_result> r, std::string tag,
                        std::uint64_t affected) {
    r->set_command_tag(std::move(tag));
    r->set_affected_rows(affected);
    return uvdb::result_set(std::move(r));
}

}  // namespace

std::shared_ptr<store> open_store(const std::string& name) {
    static std::mutex registry_mutex;
    static std::map<std::string, std::shared_ptr<store>> stores;
    std::lock_guard lock(registry_mutex);
    auto& s = stores[name];
    if (!s) s = std::make_shared<store>();
    return s;
}

namespace {

// Reads and writes of one statement: through the open transaction if there is one.
class view {
  public:
    view(store& s, std::optional<transaction>& tx) : s_(s), tx_(tx), lock_(s.mutex) {}

    std::optional<std::string> get(const std::string& k) const {
        if (tx_) {
            if (auto it = tx_->writes.find(k); it != tx_->writes.end()) return it->second;
        }
        auto it = s_.data.find(k);
        return it == s_.data.end() ? std::nullopt : std::optional<std::string>(it->second);
    }
    void put(const std::string& k, std::optional<std::string> v) {
        if (tx_) {
            tx_->writes[k] = std::move(v);
        } else if (v) {
            s_.data[k] = std::move(*v);
        } else {
            s_.data.erase(k);
        }
    }
    // Everything visible, in key order (small stores: a copy is fine).
    std::map<std::string, std::string> all() const {
        auto out = s_.data;
        if (tx_) {
            for (const auto& [k, v] : tx_->writes) {
                if (v) {
                    out[k] = *v;
                } else {
                    out.erase(k);
                }
            }
        }
        return out;
    }

  private:
    store& s_;
    std::optional<transaction>& tx_;
    std::lock_guard<std::mutex> lock_;
};

uvdb::column_kind kind_of(uvdb::param_view p, std::string& type_name) {
    using kind = uvdb::param::kind;
    switch (p.type()) {
        case kind::boolean:
            type_name = "boolean";
            return uvdb::column_kind::boolean;
        case kind::int16:
        case kind::int32:
        case kind::int64:
            type_name = "integer";
            return uvdb::column_kind::int64;
        case kind::float32:
        case kind::float64:
            type_name = "double";
            return uvdb::column_kind::float64;
        case kind::binary:
            type_name = "bytes";
            return uvdb::column_kind::binary;
        case kind::null:
        case kind::text:
            break;
    }
    type_name = "text";
    return uvdb::column_kind::text;
}

// ECHO: one row holding the arguments; a parameter keeps its kind, bytes come
// back in the hex form ("\\x…") that row::get<uvdb::bytes>() reads, NULL as NULL.
uvdb::result<uvdb::result_set> echo(const std::vector<std::string_view>& w, const uvdb::params& p) {
    std::vector<uvdb::owned_result::column> cols;
    std::vector<std::optional<std::string>> cells;
    for (std::size_t i = 1; i < w.size(); ++i) {
        uvdb::owned_result::column c{"?column" + std::to_string(i) + "?", uvdb::column_kind::text,
                                     0, "text"};
        std::optional<std::string> cell{std::string(w[i])};
        if (w[i].size() >= 2 && w[i][0] == '$') {
            std::size_t n = 0;
            auto [ptr, ec] = std::from_chars(w[i].data() + 1, w[i].data() + w[i].size(), n);
            if (ec != std::errc() || ptr != w[i].data() + w[i].size() || n == 0) {
                return syntax("bad parameter reference \"" + std::string(w[i]) + "\"");
            }
            if (n > p.size()) {
                return uvdb::error(uvdb::errc::bad_input,
                                   "kv: the statement uses $" + std::to_string(n) + " but " +
                                       std::to_string(p.size()) + " parameter(s) were given");
            }
            const uvdb::param_view v = p[n - 1];
            c.kind = kind_of(v, c.type_name);
            if (v.is_null()) {
                cell.reset();
            } else if (v.type() == uvdb::param::kind::binary) {
                static constexpr char hex[] = "0123456789abcdef";
                std::string t = "\\x";
                for (std::byte b : v.as_bytes()) {
                    t += hex[std::to_integer<unsigned>(b) >> 4];
                    t += hex[std::to_integer<unsigned>(b) & 15];
                }
                cell = std::move(t);
            } else {
                auto text = param_text(v, n);
                if (!text) return std::move(text).err();
                cell = std::move(*text);
            }
        }
        cols.push_back(std::move(c));
        cells.push_back(std::move(cell));
    }
    auto r = std::make_unique<uvdb::owned_result>(std::move(cols));
    r->add_row(std::move(cells));
    return tagged(std::move(r), "ECHO", 1);
}

outcome execute_statement(view& v, std::optional<transaction>& tx, std::string_view sql,
                          const uvdb::params& p) {
    auto w = words(sql);
    if (w.empty()) return {syntax("empty statement")};
    const std::string verb = upper(w[0]);
    if (verb == "ECHO") return {echo(w, p)};
    if (verb == "BEGIN" && w.size() == 1) {
        if (tx) return {uvdb::error(uvdb::errc::bad_input, "kv: a transaction is already open")};
        tx.emplace();
        return {tagged(std::make_unique<uvdb::owned_result>(), "BEGIN", 0)};
    }
    auto want = [&](std::size_t min, std::size_t max) {
        return w.size() - 1 >= min && w.size() - 1 <= max;
    };

    std::vector<std::string> args;
    for (std::size_t i = 1; i < w.size(); ++i) {
        auto a = argument(w[i], p);
        if (!a) return {std::move(a).err()};
        args.push_back(std::move(*a));
    }

    if (verb == "PUT" && want(2, 2)) {
        v.put(args[0], args[1]);
        return {tagged(std::make_unique<uvdb::owned_result>(), "PUT 1", 1)};
    }
    if (verb == "GET" && want(1, 1)) {
        auto r = key_value_result();
        if (auto value = v.get(args[0])) r->add_row({args[0], *value});
        auto n = r->rows();
        return {tagged(std::move(r), "GET " + std::to_string(n), n)};
    }
    if (verb == "DELETE" && want(1, 1)) {
        std::uint64_t n = v.get(args[0]) ? 1 : 0;
        v.put(args[0], std::nullopt);
        return {tagged(std::make_unique<uvdb::owned_result>(), "DELETE " + std::to_string(n), n)};
    }
    if (verb == "SCAN" && want(0, 1)) {
        const std::string prefix = args.empty() ? std::string() : args[0];
        auto r = key_value_result();
        auto all = v.all();
        for (auto it = all.lower_bound(prefix); it != all.end() && it->first.starts_with(prefix);
             ++it) {
            r->add_row({it->first, it->second});
        }
        auto n = r->rows();
        return {tagged(std::move(r), "SCAN " + std::to_string(n), n)};
    }
    if (verb == "COUNT" && want(0, 0)) {
        auto r = std::make_unique<uvdb::owned_result>(std::vector<uvdb::owned_result::column>{
            {"count", uvdb::column_kind::int64, 0, "integer"}});
        r->add_row({std::to_string(v.all().size())});
        return {tagged(std::move(r), "COUNT", 1)};
    }
    if (verb == "SLEEP" && want(1, 1)) {
        long long ms = -1;
        auto [ptr, ec] = std::from_chars(args[0].data(), args[0].data() + args[0].size(), ms);
        if (ec != std::errc() || ptr != args[0].data() + args[0].size() || ms < 0) {
            return {syntax("SLEEP needs a number of milliseconds, not \"" + args[0] + "\"")};
        }
        return {tagged(std::make_unique<uvdb::owned_result>(), "SLEEP", 0),
                std::chrono::milliseconds(ms)};
    }
    return {
        syntax("unknown command or wrong number of arguments: \"" + std::string(w[0]) +
               "\" (the kv backend knows PUT k v, GET k, DELETE k, SCAN [prefix], COUNT, SLEEP ms, "
               "ECHO args, BEGIN, COMMIT, ROLLBACK)")};
}

}  // namespace

outcome run_statement(store& s, std::optional<transaction>& tx, std::string_view sql,
                      const uvdb::params& p) {
    const std::string verb = upper(words(sql).empty() ? std::string_view{} : words(sql)[0]);
    if (verb == "COMMIT" || verb == "ROLLBACK") {
        // Outside a transaction both are harmless no-ops, as in PostgreSQL.
        std::string tag = verb;
        if (tx && verb == "COMMIT" && !tx->failed) {
            std::lock_guard lock(s.mutex);
            for (auto& [k, value] : tx->writes) {
                if (value) {
                    s.data[k] = std::move(*value);
                } else {
                    s.data.erase(k);
                }
            }
        } else if (tx && verb == "COMMIT") {
            tag = "ROLLBACK";  // committing a failed transaction rolls it back
        }
        tx.reset();
        return {tagged(std::make_unique<uvdb::owned_result>(), tag, 0)};
    }
    if (tx && tx->failed) {
        uvdb::error e(uvdb::errc::server_error, "the kv backend rejected the statement");
        e.with_sqlstate("25P02").with_server_text(
            "current transaction is aborted, commands ignored until end of transaction block");
        return {std::move(e)};
    }
    outcome out;
    {
        view v(s, tx);
        out = execute_statement(v, tx, sql, p);
    }
    if (!out.answer && tx) tx->failed = true;
    return out;
}

}  // namespace kv
