#include "kubelite/json_text.h"

namespace kubelite {

namespace {

constexpr size_t kBad = std::string_view::npos;

// The position after the string starting at `i` (a '"').
size_t string_end(std::string_view t, size_t i) {
  for (++i; i < t.size(); ++i) {
    if (t[i] == '\\') ++i;
    else if (t[i] == '"') return i + 1;
  }
  return kBad;
}

// The position after the value starting at `i`.
size_t value_end(std::string_view t, size_t i) {
  if (i >= t.size()) return kBad;
  if (t[i] == '"') return string_end(t, i);
  if (t[i] != '{' && t[i] != '[') {
    while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']') ++i;
    return i;
  }
  int depth = 0;
  for (; i < t.size(); ++i) {
    char c = t[i];
    if (c == '"') {
      i = string_end(t, i);
      if (i == kBad) return kBad;
      --i;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return i + 1;
    }
  }
  return kBad;
}

}  // namespace

std::optional<TextRange> member_value(std::string_view t, size_t i, std::string_view key) {
  if (i >= t.size() || t[i] != '{') return std::nullopt;
  ++i;
  while (i < t.size() && t[i] != '}') {
    if (t[i] != '"') return std::nullopt;
    size_t key_end = string_end(t, i);
    if (key_end == kBad || key_end >= t.size() || t[key_end] != ':') return std::nullopt;
    size_t value_begin = key_end + 1, end = value_end(t, value_begin);
    if (end == kBad) return std::nullopt;
    if (t.substr(i + 1, key_end - i - 2) == key) return TextRange{value_begin, end};
    i = end;
    if (i < t.size() && t[i] == ',') ++i;
  }
  return std::nullopt;
}

}  // namespace kubelite
