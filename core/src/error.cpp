#include <algorithm>
#include <iterator>
#include <utility>
#include <uvdb/error.hpp>

namespace uvdb {
namespace {

class uvdb_error_category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "uvdb"; }

    std::string message(int code) const override {
        switch (static_cast<errc>(code)) {
            case errc::connect_failed:
                return "could not connect to the database server";
            case errc::auth_failed:
                return "authentication failed";
            case errc::tls_failed:
                return "TLS negotiation or certificate verification failed";
            case errc::too_many_connections:
                return "the server has too many connections";
            case errc::server_starting:
                return "the server is starting up or shutting down";
            case errc::connection_lost:
                return "the connection to the server was lost";
            case errc::timeout:
                return "the operation timed out";
            case errc::cancelled:
                return "the operation was cancelled";
            case errc::server_error:
                return "the server rejected the statement";
            case errc::protocol_error:
                return "protocol error";
            case errc::bad_input:
                return "invalid argument";
            case errc::conversion_error:
                return "value conversion failed";
            case errc::bad_config:
                return "invalid configuration";
            case errc::closed:
                return "the connection was closed";
            case errc::pool_timeout:
                return "timed out waiting for a pool connection";
            case errc::pool_closed:
                return "the pool is closed";
            case errc::pool_full:
                return "the pool's wait queue is full";
            case errc::driver_not_found:
                return "no driver for the URL scheme";
            case errc::plugin_error:
                return "a driver plugin could not be loaded";
            case errc::internal:
                return "internal error";
            case errc::commit_unknown:
                return "the transaction may or may not have committed";
            case errc::transaction_rolled_back:
                return "COMMIT rolled the transaction back";
            case errc::no_rows:
                return "the result has no rows";
            case errc::not_run:
                return "the statement was not run: an earlier one of its group failed";
        }
        return "unknown uvdb error";
    }
};

struct sqlstate_entry {
    std::string_view code;
    std::string_view name;
};

constexpr sqlstate_entry sqlstate_table[] = {
#include "sqlstate_table.inc"
};

static_assert(std::size(sqlstate_table) > 200, "sqlstate_table.inc looks truncated");

}  // namespace

const std::error_category& uvdb_category() noexcept {
    static const uvdb_error_category category;
    return category;
}

std::string_view to_string(errc e) noexcept {
    switch (e) {
        case errc::connect_failed:
            return "connect_failed";
        case errc::auth_failed:
            return "auth_failed";
        case errc::tls_failed:
            return "tls_failed";
        case errc::too_many_connections:
            return "too_many_connections";
        case errc::server_starting:
            return "server_starting";
        case errc::connection_lost:
            return "connection_lost";
        case errc::timeout:
            return "timeout";
        case errc::cancelled:
            return "cancelled";
        case errc::server_error:
            return "server_error";
        case errc::protocol_error:
            return "protocol_error";
        case errc::bad_input:
            return "bad_input";
        case errc::conversion_error:
            return "conversion_error";
        case errc::bad_config:
            return "bad_config";
        case errc::closed:
            return "closed";
        case errc::pool_timeout:
            return "pool_timeout";
        case errc::pool_closed:
            return "pool_closed";
        case errc::pool_full:
            return "pool_full";
        case errc::driver_not_found:
            return "driver_not_found";
        case errc::plugin_error:
            return "plugin_error";
        case errc::internal:
            return "internal";
        case errc::commit_unknown:
            return "commit_unknown";
        case errc::transaction_rolled_back:
            return "transaction_rolled_back";
        case errc::no_rows:
            return "no_rows";
        case errc::not_run:
            return "not_run";
    }
    return "unknown";
}

bool fatal_by_default(errc code) noexcept {
    switch (code) {
        case errc::connect_failed:
        case errc::auth_failed:
        case errc::tls_failed:
        case errc::too_many_connections:
        case errc::server_starting:
        case errc::connection_lost:
        case errc::protocol_error:
        case errc::closed:
            return true;
        default:
            return false;
    }
}

std::string_view sqlstate_name(std::string_view sqlstate) noexcept {
    const auto* first = std::begin(sqlstate_table);
    const auto* last = std::end(sqlstate_table);
    const auto* it =
        std::lower_bound(first, last, sqlstate,
                         [](const sqlstate_entry& e, std::string_view s) { return e.code < s; });
    if (it != last && it->code == sqlstate) return it->name;
    return {};
}

error::error(errc code, std::string message)
    : code_(code), fatal_(fatal_by_default(code)), message_(std::move(message)) {}

error& error::with_sqlstate(std::string_view state) noexcept {
    std::size_t n = std::min<std::size_t>(state.size(), sizeof(sqlstate_));
    std::copy_n(state.data(), n, sqlstate_);
    std::fill(sqlstate_ + n, sqlstate_ + sizeof(sqlstate_), '\0');
    sqlstate_len_ = static_cast<unsigned char>(n);
    return *this;
}

error& error::with_server_text(std::string message, std::string detail, std::string hint) {
    server_message_ = std::move(message);
    detail_ = std::move(detail);
    hint_ = std::move(hint);
    return *this;
}

bool error::server_gone() const noexcept {
    if (code_ == errc::connection_lost) return true;
    std::string_view s = sqlstate();
    if (s == "57P01" || s == "57P02" || s == "57P03") return true;
    return s.size() == 5 && s.substr(0, 2) == "08";
}

bool error::retryable() const noexcept {
    switch (code_) {
        case errc::connect_failed:
        case errc::too_many_connections:
        case errc::server_starting:
        case errc::timeout:
        case errc::pool_timeout:
        case errc::connection_lost:
            return true;
        case errc::auth_failed:
        case errc::tls_failed:
        case errc::bad_config:
        // Running the transaction again could apply it twice.
        case errc::commit_unknown:
            return false;
        default:
            break;
    }
    std::string_view s = sqlstate();
    return s == "53300" || server_gone();
}

std::string error::to_string() const {
    std::string out(uvdb::to_string(code_));
    out += ": ";
    out += message_.empty() ? uvdb_category().message(static_cast<int>(code_)) : message_;
    bool has_state = sqlstate_len_ != 0;
    if (!has_state && server_message_.empty() && detail_.empty() && hint_.empty()) return out;
    out += " (";
    const char* sep = "";
    if (has_state) {
        out += "SQLSTATE ";
        out += sqlstate();
        sep = ": ";
    }
    if (!server_message_.empty()) {
        out += sep;
        out += server_message_;
        sep = "; ";
    } else if (has_state) {
        sep = "; ";
    }
    if (!detail_.empty()) {
        out += sep;
        out += "detail: ";
        out += detail_;
        sep = "; ";
    }
    if (!hint_.empty()) {
        out += sep;
        out += "hint: ";
        out += hint_;
    }
    out += ')';
    return out;
}

}  // namespace uvdb
