#pragma once
// Internal to core: the structural scan mask_password uses to choose between
// precise and aggressive masking (url_shape.cpp). Not a parser: it says
// whether a string is well-formed and nothing else.

#include <string_view>

namespace uvdb::detail {

/// Whether `scheme://[user[:password]@]hosts[/db][?k=v&…]` reads one way only.
bool well_formed_url(std::string_view text);

/// Whether a libpq-style string is well-formed `key = value` pairs throughout.
bool well_formed_kv(std::string_view text);

}  // namespace uvdb::detail
