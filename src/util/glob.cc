#include "util/glob.h"

namespace arca {
namespace {

// Matches one bracket class starting at pattern[p] == '['. Sets `next` to the index after ']'.
// An unterminated class never matches (gobwas refuses to compile it; validation reports it earlier).
bool class_matches(std::string_view pattern, size_t p, char c, size_t& next) {
  size_t i = p + 1;
  bool negate = i < pattern.size() && pattern[i] == '!';
  if (negate) ++i;
  bool matched = false;
  bool first = true;
  while (i < pattern.size() && (pattern[i] != ']' || first)) {
    first = false;
    char lo = pattern[i];
    char hi = lo;
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      hi = pattern[i + 2];
      i += 3;
    } else {
      ++i;
    }
    if (lo <= c && c <= hi) matched = true;
  }
  if (i >= pattern.size()) return false;
  next = i + 1;
  return matched != negate;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative matcher with single backtrack point for the last '*': linear in practice, no recursion.
  size_t p = 0, t = 0;
  size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size()) {
      char pc = pattern[p];
      if (pc == '*') {
        star_p = p++;
        star_t = t;
        continue;
      }
      if (pc == '?') {
        ++p;
        ++t;
        continue;
      }
      if (pc == '[') {
        size_t next = 0;
        if (class_matches(pattern, p, text[t], next)) {
          p = next;
          ++t;
          continue;
        }
      } else if (pc == text[t]) {
        ++p;
        ++t;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p + 1;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool has_glob_chars(std::string_view s) { return s.find_first_of("*?[]") != std::string_view::npos; }

}  // namespace arca
