// load_config: defaults < preset < file < environment < code, into a fresh
// draft that is handed out only when every layer and every check passed.

#include <spdlog/logger.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <system_error>
#include <utility>
#include <uvdb/log.hpp>
#include <uvdb/url.hpp>

#include "config/config_detail.hpp"

namespace uvdb {

std::string_view to_string(config_source source) noexcept {
    switch (source) {
        case config_source::default_value:
            return "default";
        case config_source::preset:
            return "preset";
        case config_source::file:
            return "file";
        case config_source::environment:
            return "environment";
        case config_source::code:
            return "code";
    }
    return "unknown";
}

std::string to_string(const value_origin& origin) {
    std::string s(to_string(origin.source));
    if (!origin.where.empty()) {
        s += origin.source == config_source::default_value ? " (" + origin.where + ")"
                                                           : " " + origin.where;
    }
    return s;
}

value_origin config::origin(std::string_view key) const {
    auto it = sources.find(key);
    return it == sources.end() ? value_origin{} : it->second;
}

namespace {

using namespace detail::cfg;

constexpr std::size_t max_config_file = std::size_t{1024} * 1024;
constexpr std::size_t max_problems_shown = 20;

struct loader {
    const load_options& opts;
    env_lookup env;
    draft d;
    std::string name;  // how messages name the file
    std::vector<problem> file_problems;
    std::vector<std::string> problems;  // after the file's, in order

    std::optional<std::string> env_value(std::string_view var) const {
        auto v = env(var);
        if (!v || v->empty()) return std::nullopt;
        return v;
    }

    /// "uvdb.toml:7:1".
    std::string place(text_pos pos) const {
        std::string s = at(name, pos);
        return s.substr(0, s.size() - 2);
    }

    /// Sets a dotted key ("pool.size", "database.extra.keepalives") from text.
    std::string set_dotted(std::string_view key, const raw_value& v) {
        constexpr std::string_view extra = "database.extra.";
        if (key.substr(0, extra.size()) == extra)
            return set_extra(d.cfg, key.substr(extra.size()), v);
        const auto dot = key.find('.');
        const setting* s = dot == std::string_view::npos
                               ? nullptr
                               : find_setting(key.substr(0, dot), key.substr(dot + 1));
        if (s == nullptr) return "no such key";
        return s->set(d, v);
    }

    void record_defaults() {
        const config defaults;
        for (const auto& s : settings()) {
            value_origin o;
            if (s.get(d.cfg) != s.get(defaults)) o.where = "application";
            d.cfg.sources[dotted(s)] = std::move(o);
        }
        for (const auto& [k, v] : d.cfg.pool.connection.extra) {
            d.cfg.sources["database.extra." + k] = {config_source::default_value, "application"};
        }
        if (!d.cfg.pool.connection.password.empty() || d.cfg.pool.connection.password_provider) {
            d.cfg.password_from = "code";
            d.cfg.sources["database.password"] = {config_source::default_value, "application"};
        }
    }

    std::optional<file_doc> read_file() {
        std::optional<std::string> path = opts.file;
        bool from_env = false;
        if (!path) {
            path = env_value("UVDB_CONFIG");
            from_env = path.has_value();
        }
        if (opts.text) {
            name = path && !path->empty() ? *path : std::string("<text>");
            return parse_toml(*opts.text, name);
        }
        if (!path || path->empty()) return std::nullopt;
        name = *path;
        const std::string shown =
            quote(printable(name, 200)) + (from_env ? " (named by UVDB_CONFIG)" : "");
        std::FILE* f = std::fopen(path->c_str(), "rb");
        if (f == nullptr) {
            const int e = errno;
            problems.push_back("cannot read configuration file " + shown + ": " +
                               std::error_code(e, std::generic_category()).message());
            return std::nullopt;
        }
        std::string text;
        char buf[8192];
        std::size_t n = 0;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && text.size() <= max_config_file)
            text.append(buf, n);
        const bool failed = std::ferror(f) != 0;
        std::fclose(f);
        if (failed) {
            problems.push_back("cannot read configuration file " + shown);
            return std::nullopt;
        }
        if (text.size() > max_config_file) {
            problems.push_back("configuration file " + shown +
                               " is larger than 1 MiB: is it the right file?");
            return std::nullopt;
        }
        return parse_toml(text, name);
    }

    void choose_preset(const file_doc* doc) {
        std::string chosen = "medium";
        value_origin origin;
        const setting* preset_key = find_setting("pool", "preset");
        if (doc != nullptr) {
            for (const auto& e : doc->entries) {
                if (e.section != "pool" || e.key != "preset") continue;
                if (auto why = preset_key->set(d, e.value); !why.empty()) {
                    file_problems.push_back(
                        {e.value_pos, at(name, e.value_pos) + "[pool] preset: " + why});
                } else {
                    chosen = d.cfg.preset;
                    origin = {config_source::file, place(e.key_pos)};
                }
            }
        }
        if (auto v = env_value("UVDB_PRESET")) {
            if (auto why = preset_key->set(d, raw_value::from_text(*v)); !why.empty()) {
                problems.push_back(env_label("UVDB_PRESET", *v) + ": " + why);
            } else {
                chosen = d.cfg.preset;
                origin = {config_source::environment, "UVDB_PRESET"};
            }
        }
        if (opts.preset) {
            if (auto why = preset_key->set(d, raw_value::from_text(*opts.preset)); !why.empty()) {
                problems.push_back("load_options::preset: " + why);
            } else {
                chosen = d.cfg.preset;
                origin = {config_source::code, {}};
            }
        }
        d.cfg.preset = chosen;
        d.cfg.sources["pool.preset"] = origin;
        // Nobody chose: "medium" names uvdb's defaults, and applying it would
        // only overwrite the application's own (load_options::base).
        if (origin.source == config_source::default_value) return;
        const preset_info* p = find_preset(chosen);
        for (const auto& [key, value] : p->values) {
            // A failure here is a bug in the preset table; the tests load every preset.
            if (auto why = set_dotted(key, raw_value::from_text(std::string(value)));
                !why.empty()) {
                problems.push_back("preset " + std::string(p->name) + ": " + std::string(key) +
                                   ": " + why);
                continue;
            }
            d.cfg.sources[std::string(key)] = {config_source::preset, std::string(p->name)};
        }
    }

    void apply_file(const file_doc& doc) {
        for (const auto& e : doc.entries) {
            const std::string key_at = at(name, e.key_pos);
            const std::string where = place(e.key_pos);
            if (e.section == "database.extra") {
                if (auto why = set_extra(d.cfg, e.key, e.value); !why.empty()) {
                    file_problems.push_back(
                        {e.value_pos, at(name, e.value_pos) + "[database.extra] " +
                                          quote(printable(e.key)) + ": " + why});
                } else {
                    d.cfg.sources["database.extra." + e.key] = {config_source::file, where};
                }
                continue;
            }
            if (e.section.rfind("replica.", 0) == 0) {
                const std::size_t index = std::stoul(e.section.substr(8));
                if (auto why = set_replica_key(d, index, e.key, e.value); !why.empty()) {
                    file_problems.push_back(
                        {e.value_pos, at(name, e.value_pos) + "[[replica]] " + e.key + ": " + why});
                } else {
                    d.cfg.sources["replica"] = {config_source::file, where};
                }
                continue;
            }
            const setting* s = find_setting(e.section, e.key);
            if (s == nullptr) {
                file_problems.push_back({e.key_pos, key_at + "[" + e.section + "] unknown key " +
                                                        quote(printable(e.key)) +
                                                        did_you_mean(e.key, keys_of(e.section))});
                continue;
            }
            if (e.section == "pool" && e.key == "preset") continue;  // chosen before the layers
            if (auto why = s->set(d, e.value); !why.empty()) {
                file_problems.push_back({e.value_pos, at(name, e.value_pos) + "[" + e.section +
                                                          "] " + e.key + ": " + why});
                continue;
            }
            d.cfg.sources[dotted(*s)] = {config_source::file, where};
        }
    }

    /// Where a key's value was set, as a message prefix ("uvdb.toml:3:1: ").
    std::string prefix_of(std::string_view key) const {
        const value_origin o = d.cfg.origin(key);
        if (o.source == config_source::file) return o.where + ": ";
        if (o.source == config_source::environment) return "environment " + o.where + ": ";
        return std::string(to_string(o.source)) + ": ";
    }

    void resolve_password() {
        const int given = static_cast<int>(!d.password_file.empty()) +
                          static_cast<int>(!d.password_env.empty()) +
                          static_cast<int>(!d.password_command.empty());
        if (given == 2 && d.password_command.empty()) {
            problems.push_back(prefix_of("database.password_env") +
                               "[database] password_file and password_env are both set; keep one");
            return;
        }
        if (given > 1) {
            const char* key =
                !d.password_command.empty() ? "database.password_command" : "database.password_env";
            problems.push_back(prefix_of(key) +
                               "[database] more than one of password_file, password_env and "
                               "password_command is set; keep one");
            return;
        }
        auto& conn = d.cfg.pool.connection;
        if (!d.password_env.empty()) {
            auto v = env_value(d.password_env);
            if (!v) {
                problems.push_back(prefix_of("database.password_env") +
                                   "[database] password_env: " + d.password_env +
                                   " is not set or empty");
                return;
            }
            conn.password = std::move(*v);
            d.cfg.password_from = "password_env " + d.password_env;
            d.cfg.sources["database.password"] = d.cfg.origin("database.password_env");
        } else if (!d.password_file.empty()) {
            std::string path = d.password_file;
            // Relative to the configuration file, so that the pair can move together.
            if (path.front() != '/' && !name.empty() && name != "<text>") {
                if (const auto slash = name.rfind('/'); slash != std::string::npos) {
                    path = name.substr(0, slash + 1) + path;
                }
            }
            // Read now so that a missing or bad file is reported with the
            // file's line; then again before every connect (a provider), so
            // that a rotated secret is used without a restart.
            auto pw = read_password_file(path, d.password_file, d.cfg.warnings);
            if (!pw.value) {
                problems.push_back(prefix_of("database.password_file") + "[database] " + pw.reason);
                return;
            }
            // Kept for code that reads the options; connects use the provider.
            conn.password = std::move(*pw.value);
            conn.password_provider = password_file_provider(path, d.password_file);
            d.cfg.password_from = "password_file " + d.password_file;
            d.cfg.sources["database.password"] = d.cfg.origin("database.password_file");
        } else if (!d.password_command.empty()) {
            // Not run here: it may mint a short-lived token; each connect runs it.
            conn.password.clear();
            conn.password_provider =
                password_command_provider(d.password_command, d.password_command_timeout);
            d.cfg.password_from = "password_command " + d.password_command;
            d.cfg.sources["database.password"] = d.cfg.origin("database.password_command");
        }
    }

    void apply_code() {
        if (!opts.overrides) return;
        const auto& s = settings();
        std::vector<std::string> before;
        before.reserve(s.size());
        for (const auto& x : s) before.push_back(x.get(d.cfg));
        const std::string url_before = d.cfg.pool.connection.url;
        const std::string password_before = d.cfg.pool.connection.password;
        const auto provider_before = d.cfg.pool.connection.password_provider;
        const auto extra_before = d.cfg.pool.connection.extra;

        opts.overrides(d.cfg.pool);

        for (std::size_t i = 0; i < s.size(); ++i) {
            if (s[i].get(d.cfg) != before[i])
                d.cfg.sources[dotted(s[i])] = {config_source::code, {}};
        }
        const auto& conn = d.cfg.pool.connection;
        if (conn.url != url_before) d.cfg.sources["database.url"] = {config_source::code, {}};
        if (conn.password != password_before) {
            // A password set by code beats the file's or the command's.
            if (!conn.password.empty() && conn.password_provider == provider_before) {
                d.cfg.pool.connection.password_provider.reset();
            }
            d.cfg.password_from = conn.password.empty() ? std::string() : std::string("code");
            d.cfg.sources["database.password"] = {config_source::code, {}};
        }
        if (conn.password_provider && conn.password_provider != provider_before) {
            d.cfg.password_from = "code";
            d.cfg.sources["database.password"] = {config_source::code, {}};
        }
        for (const auto& [k, v] : conn.extra) {
            auto it = extra_before.find(k);
            if (it == extra_before.end() || it->second != v) {
                d.cfg.sources["database.extra." + k] = {config_source::code, {}};
            }
        }
        for (const auto& [k, v] : extra_before) {
            if (conn.extra.count(k) == 0) d.cfg.sources.erase("database.extra." + k);
        }
    }

    void final_checks() {
        auto& conn = d.cfg.pool.connection;
        if (conn.url.empty()) {
            problems.push_back(
                "no database URL: set DATABASE_URL, or url in the [database] table of the "
                "file (UVDB_CONFIG names it)");
        } else if (auto why = check_url(*d.registry, conn.url); !why.empty()) {
            problems.push_back(prefix_of("database.url") + "[database] url: " + why);
        } else {
            // Masking changes the URL exactly when it holds a password.
            const bool has_password = mask_password(conn.url) != conn.url;
            if (has_password && d.cfg.password_from.empty()) d.cfg.password_from = "url";
            if (has_password && !conn.password.empty() && d.cfg.password_from != "url") {
                const std::string winner =
                    d.cfg.password_from.substr(0, d.cfg.password_from.find(' '));
                d.cfg.warnings.push_back("the URL holds a password too; the one from " + winner +
                                         " is used");
            }
            // A backend parameter written in the URL is the user's choice: it
            // beats the preset's, which would otherwise override it in `extra`.
            const std::vector<std::string> in_url = url_param_keys(conn.url);
            for (auto it = conn.extra.begin(); it != conn.extra.end();) {
                const std::string key = "database.extra." + it->first;
                if (std::find(in_url.begin(), in_url.end(), it->first) != in_url.end() &&
                    d.cfg.origin(key).source == config_source::preset) {
                    d.cfg.sources.erase(key);
                    it = conn.extra.erase(it);
                } else {
                    ++it;
                }
            }
        }
        for (std::size_t i = 0; i < d.cfg.replicas.size(); ++i) {
            if (d.cfg.replicas[i].url.empty()) {
                problems.push_back(prefix_of("replica") + "[[replica]] number " +
                                   std::to_string(i + 1) + " has no url");
            }
        }
        const auto& p = d.cfg.pool;
        if (p.min_idle > p.size) {
            problems.push_back(prefix_of("pool.min_idle") + "[pool] min_idle " +
                               std::to_string(p.min_idle) + " is larger than size " +
                               std::to_string(p.size) + " (size from " +
                               to_string(d.cfg.origin("pool.size")) + ")");
        }
        if (problems.empty()) {
            if (auto ok = validate(d.cfg.pool); !ok) problems.push_back(ok.err().message());
        }
    }

    error failure() const {
        std::vector<problem> sorted = file_problems;
        std::stable_sort(sorted.begin(), sorted.end(), [](const problem& a, const problem& b) {
            return a.pos.line != b.pos.line ? a.pos.line < b.pos.line : a.pos.column < b.pos.column;
        });
        std::vector<std::string> all;
        all.reserve(sorted.size() + problems.size());
        for (auto& p : sorted) all.push_back(p.message);
        all.insert(all.end(), problems.begin(), problems.end());
        std::string msg;
        for (std::size_t i = 0; i < all.size() && i < max_problems_shown; ++i) {
            if (i != 0) msg += '\n';
            msg += all[i];
        }
        if (all.size() > max_problems_shown) {
            msg +=
                "\n... and " + std::to_string(all.size() - max_problems_shown) + " more problems";
        }
        return error(errc::bad_config, std::move(msg));
    }

    bool failed() const { return !file_problems.empty() || !problems.empty(); }

    result<config> run() {
        d.cfg.pool = opts.base;
        record_defaults();
        std::optional<file_doc> doc = read_file();
        if (doc) file_problems = std::move(doc->problems);
        choose_preset(doc ? &*doc : nullptr);
        if (doc) apply_file(*doc);
        apply_environment(d, env, problems);
        apply_replica_environment(d, env, problems);
        if (failed()) return failure();
        resolve_password();
        apply_code();
        if (failed()) return failure();
        final_checks();
        if (failed()) return failure();

        auto& fields = d.cfg.pool.log_fields;
        std::erase_if(fields, [](const auto& f) { return f.first == "preset"; });
        fields.emplace_back("preset", d.cfg.preset);
        d.cfg.file = doc ? name : std::string();
        for (const auto& w : d.cfg.warnings) logger().warn("uvdb config: {}", w);
        return std::move(d.cfg);
    }
};

}  // namespace

result<config> load_config(const load_options& opts) {
    loader l{opts, opts.env ? opts.env : process_environment(), {}, {}, {}, {}};
    l.d.registry = opts.registry != nullptr ? opts.registry : &driver_registry::global();
    return l.run();
}

}  // namespace uvdb
