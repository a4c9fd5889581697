#pragma once
/// \file
/// detail::text_form<T>: PostgreSQL's text for a value of T, for the types
/// whose text form is not a to_string (std::chrono's). A class template so
/// that array.hpp finds the specialisations whichever header came first.

#include <string>

namespace uvdb::detail {

template <class T>
struct text_form;

}  // namespace uvdb::detail
