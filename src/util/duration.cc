#include "util/duration.h"

#include <cstdint>

namespace arca {
namespace {

[[noreturn]] void invalid(std::string_view text) {
  throw InvalidDuration("time: invalid duration \"" + std::string(text) + "\"");
}

uint64_t unit_nanos(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1000;  // "us", "µs" (micro sign), "μs"
  if (unit == "ms") return 1000000;
  if (unit == "s") return 1000000000ULL;
  if (unit == "m") return 60ULL * 1000000000ULL;
  if (unit == "h") return 3600ULL * 1000000000ULL;
  return 0;
}

// Writes the fraction v / 10^prec into the tail of buf (omitting trailing zeros and the point if it is all zero);
// returns the new start index and v / 10^prec. A port of Go's fmtFrac.
size_t fmt_frac(char* buf, size_t w, uint64_t& v, int prec) {
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    uint64_t digit = v % 10;
    print = print || digit != 0;
    if (print) buf[--w] = static_cast<char>('0' + digit);
    v /= 10;
  }
  if (print) buf[--w] = '.';
  return w;
}

size_t fmt_int(char* buf, size_t w, uint64_t v) {
  if (v == 0) {
    buf[--w] = '0';
    return w;
  }
  while (v > 0) {
    buf[--w] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return w;
}

}  // namespace

Duration parse_duration(std::string_view text) {
  // A port of Go's time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+
  std::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration(0);
  if (s.empty()) invalid(text);
  uint64_t total = 0;
  constexpr uint64_t kMax = uint64_t{1} << 63;
  while (!s.empty()) {
    if (!(s[0] == '.' || (s[0] >= '0' && s[0] <= '9'))) invalid(text);
    // Integer part.
    uint64_t v = 0;
    size_t i = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (v > (kMax - 1) / 10) invalid(text);
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
      if (v > kMax) invalid(text);
    }
    bool had_int = i > 0;
    s.remove_prefix(i);
    // Fraction part: keep digits while they fit, like Go (extra digits only lose precision).
    uint64_t frac = 0;
    double scale = 1;
    bool had_frac = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t j = 0;
      bool overflow = false;
      for (; j < s.size() && s[j] >= '0' && s[j] <= '9'; ++j) {
        if (overflow) continue;
        if (frac > (kMax - 1) / 10) {
          overflow = true;
          continue;
        }
        frac = frac * 10 + static_cast<uint64_t>(s[j] - '0');
        scale *= 10;
      }
      had_frac = j > 0;
      s.remove_prefix(j);
    }
    if (!had_int && !had_frac) invalid(text);
    size_t u = 0;
    while (u < s.size() && s[u] != '.' && !(s[u] >= '0' && s[u] <= '9')) ++u;
    if (u == 0) throw InvalidDuration("time: missing unit in duration \"" + std::string(text) + "\"");
    std::string_view unit = s.substr(0, u);
    uint64_t nanos = unit_nanos(unit);
    if (nanos == 0)
      throw InvalidDuration("time: unknown unit \"" + std::string(unit) + "\" in duration \"" + std::string(text) +
                            "\"");
    s.remove_prefix(u);
    if (v > kMax / nanos) invalid(text);
    v *= nanos;
    if (frac > 0) {
      v += static_cast<uint64_t>(static_cast<double>(frac) * (static_cast<double>(nanos) / scale));
      if (v > kMax) invalid(text);
    }
    total += v;
    if (total > kMax) invalid(text);
  }
  if (!neg && total > kMax - 1) invalid(text);
  return Duration(neg ? -static_cast<int64_t>(total) : static_cast<int64_t>(total));
}

std::string format_duration(Duration d) {
  char buf[32];
  size_t w = sizeof(buf);
  int64_t n = d.count();
  bool neg = n < 0;
  uint64_t u = neg ? uint64_t(0) - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  if (u < 1000000000ULL) {
    int prec = 0;
    buf[--w] = 's';
    if (u == 0) return "0s";
    if (u < 1000ULL) {
      buf[--w] = 'n';
    } else if (u < 1000000ULL) {
      prec = 3;
      buf[--w] = '\xB5';  // U+00B5 micro sign, as Go prints it
      buf[--w] = '\xC2';
    } else {
      prec = 6;
      buf[--w] = 'm';
    }
    w = fmt_frac(buf, w, u, prec);
    w = fmt_int(buf, w, u);
  } else {
    buf[--w] = 's';
    w = fmt_frac(buf, w, u, 9);
    w = fmt_int(buf, w, u % 60);
    u /= 60;
    if (u > 0) {
      buf[--w] = 'm';
      w = fmt_int(buf, w, u % 60);
      u /= 60;
      if (u > 0) {
        buf[--w] = 'h';
        w = fmt_int(buf, w, u);
      }
    }
  }
  if (neg) buf[--w] = '-';
  return std::string(buf + w, sizeof(buf) - w);
}

}  // namespace arca
