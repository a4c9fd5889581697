// The one place that knows toml++: a TOML document becomes a flat list of
// file_entry values with their positions. Whether a key is known and whether
// its value fits is decided elsewhere, the same way for every layer.

#include <toml++/toml.h>

#include <algorithm>
#include <optional>
#include <string>

#include "config/config_detail.hpp"

namespace uvdb::detail::cfg {
namespace {

text_pos pos_of(const toml::source_region& r) { return {r.begin.line, r.begin.column}; }

raw_value raw_of(const toml::node& n) {
    raw_value v;
    switch (n.type()) {
        case toml::node_type::string:
            v.t = raw_value::type::string;
            v.text = n.as_string()->get();
            break;
        case toml::node_type::integer:
            v.t = raw_value::type::integer;
            v.integer = n.as_integer()->get();
            break;
        case toml::node_type::floating_point:
            v.t = raw_value::type::floating;
            v.floating = n.as_floating_point()->get();
            break;
        case toml::node_type::boolean:
            v.t = raw_value::type::boolean;
            v.boolean = n.as_boolean()->get();
            break;
        case toml::node_type::table:
            v.t = raw_value::type::other;
            v.text = "table";
            break;
        case toml::node_type::array:
            v.t = raw_value::type::other;
            v.text = "array";
            break;
        case toml::node_type::date:
            v.t = raw_value::type::other;
            v.text = "date";
            break;
        case toml::node_type::time:
            v.t = raw_value::type::other;
            v.text = "time";
            break;
        case toml::node_type::date_time:
            v.t = raw_value::type::other;
            v.text = "date-time";
            break;
        default:
            v.t = raw_value::type::other;
            v.text = "value of unknown type";
            break;
    }
    return v;
}

text_pos key_pos(const toml::key& k, const toml::node& n) {
    text_pos p = pos_of(k.source());
    return p.line != 0 ? p : pos_of(n.source());
}

void add_entries(file_doc& doc, const std::string& section, const toml::table& t) {
    for (auto&& [k, v] : t) {
        file_entry e;
        e.section = section;
        e.key = std::string(k.str());
        e.key_pos = key_pos(k, v);
        e.value_pos = pos_of(v.source());
        if (e.value_pos.line == 0) e.value_pos = e.key_pos;
        if (section == "database" && e.key == "extra" && v.is_table()) {
            add_entries(doc, "database.extra", *v.as_table());
            continue;
        }
        e.value = raw_of(v);
        doc.entries.push_back(std::move(e));
    }
}

bool before(text_pos a, text_pos b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
}

}  // namespace

std::string at(const std::string& name, text_pos pos) {
    if (pos.line == 0) return name + ": ";
    return name + ':' + std::to_string(pos.line) + ':' + std::to_string(pos.column) + ": ";
}

file_doc parse_toml(std::string_view text, const std::string& name) {
    file_doc doc;
    if (auto bad = unsupported_character(text, name)) {
        doc.problems.push_back(std::move(*bad));
        return doc;
    }
    toml::table root;
    try {
        root = toml::parse(text, std::string_view(name));
    } catch (const toml::parse_error& e) {
        const text_pos p = pos_of(e.source());
        doc.problems.push_back(
            {p, at(name, p) + "TOML syntax error: " + printable(e.description(), 200)});
        return doc;
    }
    for (auto&& [k, v] : root) {
        const std::string key(k.str());
        const text_pos p = key_pos(k, v);
        const auto& sections = section_names();
        const bool known = std::find(sections.begin(), sections.end(), key) != sections.end();
        // [[replica]]: an array of tables, flattened to sections "replica.0", "replica.1", ….
        if (key == "replica" && v.is_array_of_tables()) {
            std::size_t i = 0;
            for (auto&& t : *v.as_array()) {
                add_entries(doc, "replica." + std::to_string(i++), *t.as_table());
            }
            continue;
        }
        if (key == "replica") {
            doc.problems.push_back({p, at(name, p) + "replicas are an array of tables: write "
                                                     "[[replica]] (two brackets) before each url"});
            continue;
        }
        if (v.is_table() && known) {
            add_entries(doc, key, *v.as_table());
            continue;
        }
        if (v.is_table()) {
            std::string hint = did_you_mean(key, sections);
            if (!hint.empty()) hint = "; did you mean [" + *closest(key, sections) + "]?";
            doc.problems.push_back(
                {p, at(name, p) + "unknown table [" + printable(key) + "]" +
                        (hint.empty() ? " (tables: [database], [pool], [log])" : hint)});
            continue;
        }
        if (known) {
            doc.problems.push_back({p, at(name, p) + "\"" + key + "\" must be a table ([" + key +
                                           "]), got " + describe_type(raw_of(v))});
            continue;
        }
        // A key above the first [table]: say which table it belongs in.
        std::string where;
        for (const auto& s : settings()) {
            if (s.key == key) where = "; put it under [" + std::string(s.section) + "]";
        }
        doc.problems.push_back(
            {p, at(name, p) + "key " + quote(printable(key)) + " is outside any table" +
                    (where.empty() ? " (tables: [database], [pool], [log])" : where)});
    }
    std::stable_sort(
        doc.entries.begin(), doc.entries.end(),
        [](const file_entry& a, const file_entry& b) { return before(a.key_pos, b.key_pos); });
    return doc;
}

}  // namespace uvdb::detail::cfg
