// uvdb::batch and uvdb::batch_results: building a batch and checking it
// before anything is sent.

#include <charconv>
#include <string>
#include <uvdb/batch.hpp>

#include "batch_run.hpp"

namespace uvdb {

void batch::reserve(std::size_t statements, std::size_t sql_bytes) {
    entries_.reserve(statements);
    if (sql_bytes > 0) text_.reserve(sql_bytes);
}

batch& batch::add_params(std::string_view sql, params p) {
    if (bad_) return *this;  // the first misuse is the one to report
    if (entries_.size() >= max_statements) {
        bad_ = error(errc::bad_input, "a batch holds at most " + std::to_string(max_statements) +
                                          " statements; split it into several batches");
        return *this;
    }
    if (p.size() > max_params) {
        bad_ = error(errc::bad_input, "batch statement #" + std::to_string(entries_.size()) +
                                          " has " + std::to_string(p.size()) +
                                          " parameters; a statement takes at most " +
                                          std::to_string(max_params));
        return *this;
    }
    entries_.push_back(entry{text_.size(), sql.size(), std::move(p)});
    text_.append(sql);
    return *this;
}

result<void> batch::check() const {
    if (bad_) return *bad_;
    if (entries_.empty()) {
        return error(errc::bad_input, "an empty batch: add a statement with batch::add first");
    }
    return {};
}

std::optional<std::size_t> batch_results::first_failed() const noexcept {
    for (std::size_t i = 0; i < results_.size(); ++i) {
        if (!results_[i]) return i;
    }
    return std::nullopt;
}

std::optional<std::size_t> batch_statement_index(const error& e) noexcept {
    const std::string_view m = e.message();
    const std::string_view prefix = detail::batch_statement_prefix;
    if (m.substr(0, prefix.size()) != prefix) return std::nullopt;
    std::size_t index = 0;
    const char* first = m.data() + prefix.size();
    const auto [end, ec] = std::from_chars(first, m.data() + m.size(), index);
    if (ec != std::errc{} || end == first) return std::nullopt;
    return index;
}

}  // namespace uvdb
