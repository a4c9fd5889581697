#pragma once
/// \file
/// What rows-into-structs needs to know about a plain aggregate without a
/// reflection library: how many fields it has and a tuple of references to
/// them. Included by <uvdb/row_mapping.hpp>; include <uvdb/result_set.hpp>.

#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace uvdb::detail {

/// The most fields an aggregate may have to be read without row_traits.
inline constexpr std::size_t max_fields = 32;

/// Converts to anything, so `T{any_field{}, …}` compiles exactly when T has at
/// least that many fields. Never called: it only appears in requires-expressions.
struct any_field {
    template <class U>
    operator U() const noexcept;  // NOLINT: implicit by design
};

template <class T, std::size_t N>
constexpr bool brace_constructible_with() noexcept {
    return []<std::size_t... I>(std::index_sequence<I...>) {
        return requires { T{(static_cast<void>(I), any_field{})...}; };
    }
    (std::make_index_sequence<N>{});
}

/// The number of fields of aggregate T: the largest N for which `T{a1, …, aN}`
/// compiles. Counting down rather than up, because fields with default member
/// initialisers let shorter lists compile too.
template <class T, std::size_t N = max_fields>
constexpr std::size_t field_count() noexcept {
    if constexpr (N == 0) {
        return 0;
    } else if constexpr (brace_constructible_with<T, N>()) {
        return N;
    } else {
        return field_count<T, N - 1>();
    }
}

/// `std::tie` of T's N fields, in declaration order, through a structured binding.
template <std::size_t N, class T>
constexpr auto tie_fields(T& t) noexcept {
    if constexpr (N == 1) {
        auto& [f0] = t;
        return std::tie(f0);
    } else if constexpr (N == 2) {
        auto& [f0, f1] = t;
        return std::tie(f0, f1);
    } else if constexpr (N == 3) {
        auto& [f0, f1, f2] = t;
        return std::tie(f0, f1, f2);
    } else if constexpr (N == 4) {
        auto& [f0, f1, f2, f3] = t;
        return std::tie(f0, f1, f2, f3);
    } else if constexpr (N == 5) {
        auto& [f0, f1, f2, f3, f4] = t;
        return std::tie(f0, f1, f2, f3, f4);
    } else if constexpr (N == 6) {
        auto& [f0, f1, f2, f3, f4, f5] = t;
        return std::tie(f0, f1, f2, f3, f4, f5);
    } else if constexpr (N == 7) {
        auto& [f0, f1, f2, f3, f4, f5, f6] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6);
    } else if constexpr (N == 8) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7);
    } else if constexpr (N == 9) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8);
    } else if constexpr (N == 10) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9);
    } else if constexpr (N == 11) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10);
    } else if constexpr (N == 12) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11);
    } else if constexpr (N == 13) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12);
    } else if constexpr (N == 14) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13);
    } else if constexpr (N == 15) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14);
    } else if constexpr (N == 16) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15);
    } else if constexpr (N == 17) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16);
    } else if constexpr (N == 18) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16,
                        f17);
    } else if constexpr (N == 19) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17,
               f18] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16,
                        f17, f18);
    } else if constexpr (N == 20) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18,
               f19] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16,
                        f17, f18, f19);
    } else if constexpr (N == 21) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18,
               f19, f20] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16,
                        f17, f18, f19, f20);
    } else if constexpr (N == 22) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18,
               f19, f20, f21] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16,
                        f17, f18, f19, f20, f21);
    } else if constexpr (N == 23) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18,
               f19, f20, f21, f22] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16,
                        f17, f18, f19, f20, f21, f22);
    } else if constexpr (N == 24) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18,
               f19, f20, f21, f22, f23] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16,
                        f17, f18, f19, f20, f21, f22, f23);
    } else if constexpr (N == 25) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18,
               f19, f20, f21, f22, f23, f24] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16,
                        f17, f18, f19, f20, f21, f22, f23, f24);
    } else if constexpr (N == 26) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18,
               f19, f20, f21, f22, f23, f24, f25] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16,
                        f17, f18, f19, f20, f21, f22, f23, f24, f25);
    } else if constexpr (N == 27) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18,
               f19, f20, f21, f22, f23, f24, f25, f26] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16,
                        f17, f18, f19, f20, f21, f22, f23, f24, f25, f26);
    } else if constexpr (N == 28) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18,
               f19, f20, f21, f22, f23, f24, f25, f26, f27] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16,
                        f17, f18, f19, f20, f21, f22, f23, f24, f25, f26, f27);
    } else if constexpr (N == 29) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18,
               f19, f20, f21, f22, f23, f24, f25, f26, f27, f28] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16,
                        f17, f18, f19, f20, f21, f22, f23, f24, f25, f26, f27, f28);
    } else if constexpr (N == 30) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18,
               f19, f20, f21, f22, f23, f24, f25, f26, f27, f28, f29] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16,
                        f17, f18, f19, f20, f21, f22, f23, f24, f25, f26, f27, f28, f29);
    } else if constexpr (N == 31) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18,
               f19, f20, f21, f22, f23, f24, f25, f26, f27, f28, f29, f30] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16,
                        f17, f18, f19, f20, f21, f22, f23, f24, f25, f26, f27, f28, f29, f30);
    } else if constexpr (N == 32) {
        auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18,
               f19, f20, f21, f22, f23, f24, f25, f26, f27, f28, f29, f30, f31] = t;
        return std::tie(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16,
                        f17, f18, f19, f20, f21, f22, f23, f24, f25, f26, f27, f28, f29, f30, f31);
    } else {
        static_assert(N <= max_fields,
                      "uvdb maps aggregates of up to 32 fields; give larger "
                      "ones a uvdb::row_traits specialisation");
        return std::tuple<>{};
    }
}

/// The tuple of references tie_fields returns for T (never evaluated).
template <class T>
using fields_tuple_t = decltype(tie_fields<field_count<T>()>(std::declval<T&>()));

/// A name for T in messages ("user", "app::order"), from the compiler's
/// spelling of the function's signature; "the struct" where it is not known.
template <class T>
constexpr const char* signature_of() noexcept {
#if defined(__GNUC__) || defined(__clang__)
    return __PRETTY_FUNCTION__;
#elif defined(_MSC_VER)
    return __FUNCSIG__;
#else
    return "";
#endif
}

template <class T>
std::string_view type_name() noexcept {
    // GCC: "… signature_of() [with T = user]", Clang: "… signature_of() [T = user]",
    // MSVC: "… signature_of<struct user>(void) noexcept".
    std::string_view s = signature_of<T>();
#if defined(__GNUC__) || defined(__clang__)
    auto start = s.find("T = ");
    auto end = s.rfind(']');
    if (start == std::string_view::npos || end == std::string_view::npos || end < start)
        return "the struct";
    start += 4;
    return s.substr(start, end - start);
#elif defined(_MSC_VER)
    auto start = s.find("signature_of<");
    auto end = s.rfind(">(void)");
    if (start == std::string_view::npos || end == std::string_view::npos) return "the struct";
    start += 13;
    return s.substr(start, end - start);
#else
    return "the struct";
#endif
}

}  // namespace uvdb::detail
