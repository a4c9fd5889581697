#pragma once
/// \file
/// PostgreSQL's types beyond the built-in scalars: numeric, uuid, json,
/// interval, date/time ↔ std::chrono, one-dimensional arrays ↔ std::vector.
/// Included by <uvdb/result_set.hpp>.
///
/// Your own type plugs in through the same two points. For a type stored as
/// text:
///
///   struct money { std::int64_t cents; };
///   template <> struct uvdb::param_traits<money> {
///       static uvdb::param to_param(const money& m) {   // sent as text
///           return uvdb::param(std::to_string(m.cents / 100) + "." + …);
///       }
///   };
///   template <> struct uvdb::value_traits<money> {
///       static uvdb::result<money> convert(const uvdb::result_source& src,
///                                          std::size_t row, std::size_t col) {
///           if (src.is_null(row, col))
///               return uvdb::detail::null_value_error(src, col, "money");
///           auto n = uvdb::numeric::parse(src.text(row, col));
///           if (!n) return uvdb::detail::invalid_value_error(src, row, col, "money");
///           return money{…};
///       }
///   };
///
/// Then row.get<money>(), std::optional<money>, std::vector<money> (array
/// columns) and make_params(money{…}) work; tests/unit/core_types_test.cpp
/// has this example compiled.

#include <uvdb/types/array.hpp>
#include <uvdb/types/chrono.hpp>
#include <uvdb/types/interval.hpp>
#include <uvdb/types/json.hpp>
#include <uvdb/types/numeric.hpp>
#include <uvdb/types/uuid.hpp>
