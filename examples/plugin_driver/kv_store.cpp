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
uvdb::result<std::string> param_text(const uvdb::param& p, std::size_t n) {
    using kind = uvdb::param::kind;
    switch (p.type()) {
        case kind::null:
            return uvdb::error(uvdb::errc::bad_input,
                               "kv: parameter $" + std::to_string(n) + " is NULL; the kv backend stores text only");
        case kind::binary:
            return uvdb::error(uvdb::errc::bad_input,
                               "kv: parameter $" + std::to_string(n) + " is binary; the kv backend stores text only");
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
            return p.as_text();
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
        return uvdb::error(uvdb::errc::bad_input, "kv: the statement uses $" + std::to_string(n) + " but " +
                                                      std::to_string(p.size()) + " parameter(s) were given");
    }
    return param_text(p[n - 1], n);
}

std::unique_ptr<uvdb::owned_result> key_value_result() {
    return std::make_unique<uvdb::owned_result>(std::vector<uvdb::owned_result::column>{
        {"key", uvdb::column_kind::text, 0, "text"}, {"value", uvdb::column_kind::text, 0, "text"}});
}

uvdb::result_set tagged(std::unique_ptr<uvdb::owned_result> r, std::string tag, std::uint64_t affected) {
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

outcome run_statement(store& s, std::string_view sql, const uvdb::params& p) {
    auto w = words(sql);
    if (w.empty()) return {syntax("empty statement")};
    const std::string verb = upper(w[0]);
    auto want = [&](std::size_t min, std::size_t max) { return w.size() - 1 >= min && w.size() - 1 <= max; };

    std::vector<std::string> args;
    for (std::size_t i = 1; i < w.size(); ++i) {
        auto a = argument(w[i], p);
        if (!a) return {std::move(a).err()};
        args.push_back(std::move(*a));
    }

    if (verb == "PUT" && want(2, 2)) {
        std::lock_guard lock(s.mutex);
        s.data[args[0]] = args[1];
        return {tagged(std::make_unique<uvdb::owned_result>(), "PUT 1", 1)};
    }
    if (verb == "GET" && want(1, 1)) {
        auto r = key_value_result();
        std::lock_guard lock(s.mutex);
        if (auto it = s.data.find(args[0]); it != s.data.end()) r->add_row({it->first, it->second});
        auto n = r->rows();
        return {tagged(std::move(r), "GET " + std::to_string(n), n)};
    }
    if (verb == "DELETE" && want(1, 1)) {
        std::lock_guard lock(s.mutex);
        auto n = s.data.erase(args[0]);
        return {tagged(std::make_unique<uvdb::owned_result>(), "DELETE " + std::to_string(n), n)};
    }
    if (verb == "SCAN" && want(0, 1)) {
        const std::string prefix = args.empty() ? std::string() : args[0];
        auto r = key_value_result();
        std::lock_guard lock(s.mutex);
        for (auto it = s.data.lower_bound(prefix); it != s.data.end() && it->first.starts_with(prefix); ++it) {
            r->add_row({it->first, it->second});
        }
        auto n = r->rows();
        return {tagged(std::move(r), "SCAN " + std::to_string(n), n)};
    }
    if (verb == "COUNT" && want(0, 0)) {
        auto r = std::make_unique<uvdb::owned_result>(
            std::vector<uvdb::owned_result::column>{{"count", uvdb::column_kind::int64, 0, "integer"}});
        std::lock_guard lock(s.mutex);
        r->add_row({std::to_string(s.data.size())});
        return {tagged(std::move(r), "COUNT", 1)};
    }
    if (verb == "SLEEP" && want(1, 1)) {
        long long ms = -1;
        auto [ptr, ec] = std::from_chars(args[0].data(), args[0].data() + args[0].size(), ms);
        if (ec != std::errc() || ptr != args[0].data() + args[0].size() || ms < 0) {
            return {syntax("SLEEP needs a number of milliseconds, not \"" + args[0] + "\"")};
        }
        return {tagged(std::make_unique<uvdb::owned_result>(), "SLEEP", 0), std::chrono::milliseconds(ms)};
    }
    if (verb == "BEGIN" || verb == "COMMIT" || verb == "ROLLBACK") {
        return {uvdb::error(uvdb::errc::bad_input, "kv: transactions are not supported by the kv backend")};
    }
    return {syntax("unknown command or wrong number of arguments: \"" + std::string(w[0]) +
                   "\" (the kv backend knows PUT k v, GET k, DELETE k, SCAN [prefix], COUNT, SLEEP ms)")};
}

}  // namespace kv
