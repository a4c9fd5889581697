// "Did you mean": the known name nearest to a mistyped one, by edit distance
// with adjacent transpositions ("szie" is one step from "size").

#include <algorithm>
#include <vector>

#include "config/config_detail.hpp"

namespace uvdb::detail::cfg {
namespace {

char fold_case(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
    // Names are short; inputs from a file could be long, so cap the work.
    if (a.size() > 64 || b.size() > 64) return std::max(a.size(), b.size());
    const std::size_t n = a.size();
    const std::size_t m = b.size();
    std::vector<std::size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
    for (std::size_t j = 0; j <= m; ++j) prev[j] = j;
    for (std::size_t i = 1; i <= n; ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= m; ++j) {
            const std::size_t cost = fold_case(a[i - 1]) == fold_case(b[j - 1]) ? 0 : 1;
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
            if (i > 1 && j > 1 && fold_case(a[i - 1]) == fold_case(b[j - 2]) &&
                fold_case(a[i - 2]) == fold_case(b[j - 1])) {
                cur[j] = std::min(cur[j], prev2[j - 2] + 1);
            }
        }
        prev2.swap(prev);
        prev.swap(cur);
    }
    return prev[m];
}

std::optional<std::string> closest(std::string_view word,
                                   const std::vector<std::string_view>& candidates) {
    // A short word needs a closer match: "ab" is two steps from anything short.
    const std::size_t allowed = word.size() <= 3 ? 1 : word.size() <= 6 ? 2 : 3;
    std::optional<std::string> best;
    std::size_t best_distance = allowed + 1;
    for (std::string_view c : candidates) {
        const std::size_t d = edit_distance(word, c);
        if (d < best_distance && d < std::max(word.size(), c.size())) {
            best_distance = d;
            best = std::string(c);
        }
    }
    return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates) {
    auto c = closest(word, candidates);
    if (!c) return {};
    return "; did you mean " + quote(*c) + "?";
}

}  // namespace uvdb::detail::cfg
