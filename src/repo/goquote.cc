#include "repo/goquote.h"

#include <cstdint>
#include <stdexcept>

#include "repo/json_reader.h"

namespace arca::repo {
namespace {

// The rune at s[i] as Go's utf8.DecodeRuneInString reads it; width 1 and -1 for an invalid byte (a bad lead
// byte, a truncated or overlong sequence, a surrogate, or past U+10FFFF).
int32_t decode_rune(std::string_view s, size_t i, size_t& width) {
  auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  uint8_t c = b(0);
  width = 1;
  if (c < 0x80) return c;
  size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return -1;
  uint8_t lo = 0x80, hi = 0xBF;  // the second byte's range, narrower after E0, ED, F0 and F4
  if (c == 0xE0) lo = 0xA0;
  else if (c == 0xED) hi = 0x9F;
  else if (c == 0xF0) lo = 0x90;
  else if (c == 0xF4) hi = 0x8F;
  if (b(1) < lo || b(1) > hi) return -1;
  for (size_t k = 2; k < n; ++k)
    if (b(k) < 0x80 || b(k) > 0xBF) return -1;
  int32_t r = n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
  for (size_t k = 1; k < n; ++k) r = r << 6 | (b(k) & 0x3F);
  width = n;
  return r;
}

// Go's unicode.IsPrint for runes past ASCII, without Unicode's tables: everything but the C1 controls, the
// spaces other than U+0020, the line and paragraph separators, the format characters, private use and the
// noncharacters. (Unassigned code points, which Go also escapes, are kept as they are: Unquote reads both.)
bool printable(int32_t r) {
  if (r < 0xA0) return false;
  if (r == 0xA0 || r == 0xAD || r == 0x061C || r == 0x1680 || r == 0x180E || r == 0x3000 || r == 0xFEFF) return false;
  if ((r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202F) || (r >= 0x205F && r <= 0x206F)) return false;
  if ((r >= 0xE000 && r <= 0xF8FF) || (r >= 0xFFF9 && r <= 0xFFFB) || r >= 0xF0000) return false;
  if ((r & 0xFFFE) == 0xFFFE || (r >= 0xFDD0 && r <= 0xFDEF)) return false;
  if (r == 0xE0001 || (r >= 0xE0020 && r <= 0xE007F)) return false;
  return true;
}

void hex(std::string& out, uint32_t v, int digits) {
  static const char* digits_of = "0123456789abcdef";
  for (int k = digits - 1; k >= 0; --k) out += digits_of[(v >> (4 * k)) & 0xF];
}

}  // namespace

std::string go_quote_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size();) {
    size_t width = 1;
    int32_t r = decode_rune(name, i, width);
    if (r < 0) {
      out += "\\x";
      hex(out, static_cast<uint8_t>(name[i]), 2);
    } else if (r == '"' || r == '\\') {
      out += '\\';
      out += static_cast<char>(r);
    } else if (r >= 0x20 && r < 0x7F) {
      out += static_cast<char>(r);
    } else if (r >= 0x80 && printable(r)) {
      out.append(name.substr(i, width));
    } else {
      switch (r) {
        case '\a': out += "\\a"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\v': out += "\\v"; break;
        default:
          if (r < 0x20 || r == 0x7F) out += "\\x", hex(out, static_cast<uint32_t>(r), 2);
          else if (r < 0x10000) out += "\\u", hex(out, static_cast<uint32_t>(r), 4);
          else out += "\\U", hex(out, static_cast<uint32_t>(r), 8);
      }
    }
    i += width;
  }
  return out;
}

std::string go_unquote_name(std::string_view s) {
  if (s.find('\\') == std::string_view::npos && s.find('\n') == std::string_view::npos) return std::string(s);
  auto bad = [&](const char* why) {
    return std::invalid_argument("name \"" + std::string(s) + "\" is not a valid Go-quoted name: " + why);
  };
  std::string out;
  out.reserve(s.size());
  auto digits = [&](size_t& i, int n, int base) -> uint32_t {
    if (i + static_cast<size_t>(n) > s.size()) throw bad("escape cut short");
    uint32_t v = 0;
    for (int k = 0; k < n; ++k) {
      char c = s[i++];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 99;
      if (d >= base) throw bad("bad digit in an escape");
      v = v * static_cast<uint32_t>(base) + static_cast<uint32_t>(d);
    }
    return v;
  };
  for (size_t i = 0; i < s.size();) {
    char c = s[i++];
    if (c == '\n') throw bad("a raw newline");
    if (c != '\\') {
      out += c;
      continue;
    }
    if (i >= s.size()) throw bad("a trailing backslash");
    char e = s[i++];
    switch (e) {
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case 'x': out += static_cast<char>(digits(i, 2, 16)); break;
      case 'u':
      case 'U': {
        uint32_t r = digits(i, e == 'u' ? 4 : 8, 16);
        if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) throw bad("not a Unicode code point");
        put_utf8(out, r);
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          --i;
          uint32_t v = digits(i, 3, 8);
          if (v > 255) throw bad("octal escape past 255");
          out += static_cast<char>(v);
          break;
        }
        throw bad("unknown escape");
    }
  }
  return out;
}

}  // namespace arca::repo
