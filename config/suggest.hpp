// "Did you mean ...?" for configuration keys and names: the candidate nearest to a misspelt word
// by edit distance, if it is near enough to be a plausible typo.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ringlb::config {

// Levenshtein distance: insertions, deletions and substitutions each cost 1.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` when its distance is at most max(1, word.size() / 3);
// the earliest such candidate wins a tie. Empty when none is close enough.
std::string suggest(std::string_view word, const std::vector<std::string>& candidates);

// "; did you mean 'X'?" with `quote` around X, or "" when suggest() finds nothing. Built for
// appending to a diagnostic message.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates,
                         char quote = '\'');

}  // namespace ringlb::config
