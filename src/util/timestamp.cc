#include "util/timestamp.h"

#include <cstdio>

namespace arca {

std::string format_rfc3339(Timestamp t) {
  using namespace std::chrono;
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss hms{t - day};
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

Timestamp parse_rfc3339(std::string_view text) {
  using namespace std::chrono;
  auto fail = [&]() -> Timestamp {
    throw InvalidTimestamp("invalid RFC 3339 timestamp \"" + std::string(text) + "\" (expected e.g. 2024-01-02T03:04:05Z)");
  };
  auto digits = [&](size_t at, size_t n, int& out) {
    if (at + n > text.size()) return false;
    out = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      out = out * 10 + (text[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, s;
  if (!digits(0, 4, y) || text.size() < 20 || text[4] != '-' || !digits(5, 2, mo) || text[7] != '-' ||
      !digits(8, 2, d) || (text[10] != 'T' && text[10] != 't') || !digits(11, 2, h) || text[13] != ':' ||
      !digits(14, 2, mi) || text[16] != ':' || !digits(17, 2, s))
    return fail();
  size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return fail();  // metav1.Time keeps whole seconds; the fraction is dropped
  }
  int offset_minutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z') && pos + 1 == text.size()) {
  } else if (pos + 6 == text.size() && (text[pos] == '+' || text[pos] == '-') && text[pos + 3] == ':') {
    int oh, om;
    if (!digits(pos + 1, 2, oh) || !digits(pos + 4, 2, om) || oh > 23 || om > 59) return fail();
    offset_minutes = (text[pos] == '-' ? -1 : 1) * (oh * 60 + om);
  } else {
    return fail();
  }
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return fail();
  return sys_days{ymd} + hours{h} + minutes{mi} + seconds{s} - minutes{offset_minutes};
}

Timestamp now_seconds() { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); }

}  // namespace arca
