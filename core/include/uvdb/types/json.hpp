#pragma once
/// \file
/// uvdb::json: a json or jsonb value as its text, to hand to a JSON library.

#include <cstddef>
#include <string>
#include <uvdb/result_set.hpp>

namespace uvdb {

/// The text of a JSON document. uvdb does not parse it: the server checks it
/// when it is bound to json/jsonb, and text() goes to the JSON library of
/// your choice. (jsonb comes back normalised by the server: key order and
/// spacing may differ from what was sent.)
class json {
  public:
    json() = default;
    explicit json(std::string text) : text_(std::move(text)) {}
    const std::string& text() const noexcept { return text_; }
    friend bool operator==(const json&, const json&) = default;
    friend std::string to_string(const json& j) { return j.text_; }

  private:
    std::string text_;
};

template <>
struct param_traits<json> {
    static param to_param(const json& j) { return param(j.text()); }
};

template <>
struct value_traits<json> {
    static result<json> convert(const result_source& src, std::size_t row, std::size_t col) {
        if (src.is_null(row, col)) return detail::null_value_error(src, col, "uvdb::json");
        return json(std::string(src.text(row, col)));
    }
};

}  // namespace uvdb
