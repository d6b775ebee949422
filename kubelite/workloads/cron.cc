#include "kubelite/workloads/cron.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <vector>

namespace kubelite::workloads {

namespace {

const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

std::vector<std::string> split(const std::string& s, char sep, bool skip_empty) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep || (skip_empty && (c == ' ' || c == '\t'))) {
      if (!cur.empty() || !skip_empty) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty() || !skip_empty) out.push_back(cur);
  return out;
}

// A number or (for months and weekdays) a name; false when it is neither.
bool value_of(const std::string& text, const char* const* names, int first, int n_names, int& out) {
  if (text.empty()) return false;
  bool digits = true;
  for (char c : text) digits &= c >= '0' && c <= '9';
  if (digits) {
    if (text.size() > 4) return false;
    out = std::stoi(text);
    return true;
  }
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (int i = 0; names && i < n_names; ++i)
    if (lower == names[i]) {
      out = first + i;
      return true;
    }
  return false;
}

// One field into a bit set of [min, max]; `star` tells whether it was `*` or `?`.
bool parse_field(const std::string& field, int min, int max, const char* const* names, int n_names, uint64_t& bits,
                 bool& star, std::string& error) {
  bits = 0;
  star = false;
  for (const std::string& part : split(field, ',', false)) {
    std::string range = part, step_text;
    if (size_t slash = part.find('/'); slash != std::string::npos) {
      range = part.substr(0, slash);
      step_text = part.substr(slash + 1);
    }
    int lo = 0, hi = 0, step = 1;
    if (range == "*" || range == "?") {
      lo = min;
      hi = max;
    } else if (size_t dash = range.find('-'); dash != std::string::npos) {
      if (!value_of(range.substr(0, dash), names, min, n_names, lo) ||
          !value_of(range.substr(dash + 1), names, min, n_names, hi)) {
        error = "failed to parse int from " + range;
        return false;
      }
    } else {
      if (!value_of(range, names, min, n_names, lo)) {
        error = "failed to parse int from " + range;
        return false;
      }
      hi = step_text.empty() ? lo : max;  // robfig: "N/step" means N through the end
    }
    if (!step_text.empty() && (!value_of(step_text, nullptr, 0, 0, step) || step <= 0)) {
      error = "failed to parse int from " + step_text;
      return false;
    }
    if ((range == "*" || range == "?") && step == 1) star = true;  // robfig: "*/1" is still a star
    if (lo < min) {
      error = "beginning of range (" + std::to_string(lo) + ") below minimum (" + std::to_string(min) + "): " + part;
      return false;
    }
    if (hi > max) {
      error = "end of range (" + std::to_string(hi) + ") above maximum (" + std::to_string(max) + "): " + part;
      return false;
    }
    if (lo > hi) {
      error = "beginning of range (" + std::to_string(lo) + ") beyond end of range (" + std::to_string(hi) + "): " + part;
      return false;
    }
    for (int v = lo; v <= hi; v += step) bits |= uint64_t{1} << v;
  }
  return true;
}

}  // namespace

std::optional<CronSchedule> parse_cron(const std::string& input, std::string& error) {
  std::string text = input;
  if (text.rfind("TZ=", 0) == 0 || text.rfind("CRON_TZ=", 0) == 0) {
    // Only UTC here; kubelite's clock is UTC.
    size_t space = text.find(' ');
    std::string zone = text.substr(text.find('=') + 1, space == std::string::npos ? std::string::npos : space - text.find('=') - 1);
    if (zone != "UTC" && zone != "Etc/UTC") {
      error = "provided bad location " + zone + ": only UTC is supported";
      return std::nullopt;
    }
    text = space == std::string::npos ? "" : text.substr(space + 1);
  }
  static const std::pair<const char*, const char*> descriptors[] = {
      {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"}, {"@hourly", "0 * * * *"}};
  if (!text.empty() && text[0] == '@') {
    bool found = false;
    for (const auto& [name, expansion] : descriptors)
      if (text == name) {
        text = expansion;
        found = true;
      }
    if (!found) {
      error = "unrecognized descriptor: " + text;
      return std::nullopt;
    }
  }
  std::vector<std::string> fields = split(text, ' ', true);
  if (fields.size() != 5) {
    error = "expected exactly 5 fields, found " + std::to_string(fields.size()) + ": [" + text + "]";
    return std::nullopt;
  }
  CronSchedule s;
  uint64_t bits = 0;
  bool star = false;
  if (!parse_field(fields[0], 0, 59, nullptr, 0, bits, star, error)) return std::nullopt;
  s.minutes = bits;
  if (!parse_field(fields[1], 0, 23, nullptr, 0, bits, star, error)) return std::nullopt;
  s.hours = static_cast<uint32_t>(bits);
  if (!parse_field(fields[2], 1, 31, nullptr, 0, bits, s.any_day, error)) return std::nullopt;
  s.days = static_cast<uint32_t>(bits);
  if (!parse_field(fields[3], 1, 12, kMonths, 12, bits, star, error)) return std::nullopt;
  s.months = static_cast<uint16_t>(bits);
  if (!parse_field(fields[4], 0, 7, kDays, 7, bits, s.any_weekday, error)) return std::nullopt;
  if (bits & (1u << 7)) bits |= 1;  // 7 is Sunday too
  s.weekdays = static_cast<uint8_t>(bits & 0x7f);
  return s;
}

int64_t cron_next(const CronSchedule& s, int64_t after) {
  int64_t t = (after / 60 + 1) * 60;  // the next whole minute
  const int64_t limit = after + int64_t{5} * 366 * 24 * 3600;
  while (t <= limit) {
    time_t tt = static_cast<time_t>(t);
    tm u{};
    gmtime_r(&tt, &u);
    if (!(s.months >> (u.tm_mon + 1) & 1)) {  // to the first minute of the next month
      u.tm_mon += 1;
      u.tm_mday = 1;
      u.tm_hour = u.tm_min = u.tm_sec = 0;
      t = timegm(&u);
      continue;
    }
    bool day_ok = s.days >> u.tm_mday & 1, weekday_ok = s.weekdays >> u.tm_wday & 1;
    // robfig/cron: when either day field is `*`, both must match (one of them trivially); otherwise either may.
    bool day_match = (s.any_day || s.any_weekday) ? day_ok && weekday_ok : day_ok || weekday_ok;
    if (!day_match) {
      u.tm_mday += 1;
      u.tm_hour = u.tm_min = u.tm_sec = 0;
      t = timegm(&u);
      continue;
    }
    if (!(s.hours >> u.tm_hour & 1)) {
      u.tm_hour += 1;
      u.tm_min = u.tm_sec = 0;
      t = timegm(&u);
      continue;
    }
    if (!(s.minutes >> u.tm_min & 1)) {
      t += 60;
      continue;
    }
    return t;
  }
  return -1;
}

}  // namespace kubelite::workloads

namespace kubelite::workloads {

int32_t TimeZone::offset_at(int64_t utc) const {
  auto it = std::upper_bound(transitions.begin(), transitions.end(), utc);
  if (it == transitions.begin()) return initial;
  return offsets[it - transitions.begin() - 1];
}

namespace {

int64_t big_endian(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | p[i];
  if (bytes == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
  return static_cast<int64_t>(v);
}

// RFC 8536: a header ("TZif", version, counts) and a data block of 4-byte times, then (version 2 on) the same
// again with 8-byte times, which is the one read when present.
bool parse_tzif(const std::string& data, TimeZone& out) {
  auto u = reinterpret_cast<const unsigned char*>(data.data());
  size_t at = 0;
  for (int block = 0; block < 2; ++block) {
    if (data.size() < at + 44 || data.compare(at, 4, "TZif") != 0) return false;
    int64_t count[6];
    for (int i = 0; i < 6; ++i) count[i] = big_endian(u + at + 20 + 4 * i, 4);
    int64_t isut = count[0], isstd = count[1], leap = count[2], times = count[3], types = count[4], chars = count[5];
    int time_size = block == 0 ? 4 : 8;
    size_t body = at + 44;
    size_t size = times * time_size + times + types * 6 + chars + leap * (time_size + 4) + isstd + isut;
    if (times < 0 || types <= 0 || data.size() < body + size) return false;
    if (block == 0 && data[at + 4] >= '2') {  // the 64-bit block follows
      at = body + size;
      continue;
    }
    out = TimeZone{};
    const unsigned char* idx = u + body + times * time_size;
    const unsigned char* info = idx + times;
    out.initial = static_cast<int32_t>(big_endian(info, 4));
    for (int64_t i = 0; i < times; ++i) {
      if (idx[i] >= types) return false;
      out.transitions.push_back(big_endian(u + body + i * time_size, time_size));
      out.offsets.push_back(static_cast<int32_t>(big_endian(info + 6 * idx[i], 4)));
    }
    return true;
  }
  return false;
}

}  // namespace

bool load_time_zone(const std::string& name, TimeZone& out, std::string& error) {
  if (name.empty() || name == "UTC") {  // Go's LoadLocation needs no file for these
    out = TimeZone{};
    return true;
  }
  bool safe = name.front() != '/' && name.find("..") == std::string::npos && name.find('\0') == std::string::npos;
  std::ifstream in(safe ? "/usr/share/zoneinfo/" + name : std::string(), std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!safe || !parse_tzif(data, out)) {
    error = "unknown time zone " + name;
    return false;
  }
  return true;
}

std::vector<std::string> time_zone_problems(const std::string& name) {
  if (name.empty()) return {"timeZone must be nil or non-empty string"};
  // validTimeZoneCharacters: each part of the name is 1-14 of [A-Za-z.-_0-9+], neither . nor .. nor starting with -.
  for (const std::string& part : split(name, '/', false)) {
    bool ok = !part.empty() && part.size() <= 14 && part != "." && part != ".." && part[0] != '-';
    for (char c : part) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || std::strchr(".-_+", c));
    if (!ok) return {"unknown time zone " + name};
  }
  std::vector<std::string> problems;
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "local") return {"timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"};
  TimeZone zone;
  std::string error;
  if (!load_time_zone(name, zone, error)) problems.push_back(error);
  return problems;
}

int64_t cron_next(const CronSchedule& s, int64_t after, const TimeZone& zone) {
  // The schedule is matched against wall-clock time: step in local time, then map each match back to UTC with
  // the offset in effect then (a time a DST change skips or repeats resolves to one instant after `after`).
  int32_t offset = zone.offset_at(after);
  int64_t local = after + offset;
  for (int i = 0; i < 8; ++i) {
    local = cron_next(s, local);
    if (local < 0) return -1;
    int64_t utc = local - zone.offset_at(local - offset);
    utc = local - zone.offset_at(utc);
    if (utc > after) return utc;
  }
  return -1;
}

}  // namespace kubelite::workloads
