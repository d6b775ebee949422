#include "util/cron.h"

#include <array>
#include <sstream>
#include <vector>

namespace arca {
namespace {

struct FieldSpec {
  const char* name;
  int min;
  int max;
  const char* const* names;  // lower-case names for min.. (nullptr when the field has none)
  int name_count;
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr FieldSpec kFields[5] = {
    {"minute", 0, 59, nullptr, 0},         {"hour", 0, 23, nullptr, 0},
    {"day of month", 1, 31, nullptr, 0},   {"month", 1, 12, kMonthNames, 12},
    {"day of week", 0, 6, kDayNames, 7},
};

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    out.emplace_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

class CronParser {
 public:
  explicit CronParser(std::string_view expression) : expression_(expression) {}

  [[noreturn]] void fail(const std::string& why) const {
    throw InvalidCron("invalid schedule \"" + std::string(expression_) + "\": " + why);
  }

  int value(const std::string& text, const FieldSpec& field) const {
    std::string lower;
    for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (int i = 0; i < field.name_count; ++i) {
      if (lower == field.names[i]) return field.min + i;
    }
    if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
      fail(std::string(field.name) + ": failed to parse int from \"" + text + "\"");
    return std::stoi(text);
  }

  // One comma-separated element: `*`, `?`, `n`, `a-b`, each with an optional `/step`.
  uint64_t range(const std::string& expr, const FieldSpec& field, bool& star) const {
    auto range_and_step = split(expr, '/');
    if (range_and_step.size() > 2) fail(std::string(field.name) + ": too many slashes in \"" + expr + "\"");
    auto low_high = split(range_and_step[0], '-');
    bool single = low_high.size() == 1;
    int start, end;
    bool is_star = false;
    if (low_high[0] == "*" || low_high[0] == "?") {
      if (!single) fail(std::string(field.name) + ": '*' cannot start a range in \"" + expr + "\"");
      start = field.min;
      end = field.max;
      is_star = true;
    } else {
      start = value(low_high[0], field);
      if (single) {
        end = start;
      } else if (low_high.size() == 2) {
        end = value(low_high[1], field);
      } else {
        fail(std::string(field.name) + ": too many hyphens in \"" + expr + "\"");
      }
    }
    int step = 1;
    if (range_and_step.size() == 2) {
      const std::string& step_text = range_and_step[1];
      if (step_text.empty() || step_text.find_first_not_of("0123456789") != std::string::npos ||
          step_text.size() > 9)
        fail(std::string(field.name) + ": failed to parse step from \"" + expr + "\"");
      step = std::stoi(step_text);
      if (step == 0) fail(std::string(field.name) + ": step of range should be a positive number: \"" + expr + "\"");
      if (single && !is_star) end = field.max;  // `n/step` means `n-max/step`
      if (step > 1) is_star = false;            // `*/2` restricts the field (robfig clears the star bit)
    }
    if (start < field.min)
      fail(std::string(field.name) + ": beginning of range (" + std::to_string(start) + ") below minimum (" +
           std::to_string(field.min) + "): \"" + expr + "\"");
    if (end > field.max)
      fail(std::string(field.name) + ": end of range (" + std::to_string(end) + ") above maximum (" +
           std::to_string(field.max) + "): \"" + expr + "\"");
    if (start > end)
      fail(std::string(field.name) + ": beginning of range (" + std::to_string(start) + ") beyond end of range (" +
           std::to_string(end) + "): \"" + expr + "\"");
    uint64_t bits = 0;
    for (int i = start; i <= end; i += step) bits |= uint64_t{1} << i;
    star = star || is_star;
    return bits;
  }

  uint64_t field(const std::string& text, const FieldSpec& spec, bool& star) const {
    uint64_t bits = 0;
    for (const auto& part : split(text, ',')) bits |= range(part, spec, star);
    return bits;
  }

  CronSchedule parse() const {
    std::string_view spec = expression_;
    while (!spec.empty() && std::isspace(static_cast<unsigned char>(spec.front()))) spec.remove_prefix(1);
    while (!spec.empty() && std::isspace(static_cast<unsigned char>(spec.back()))) spec.remove_suffix(1);
    if (spec.empty()) fail("empty spec string");
    for (std::string_view prefix : {"CRON_TZ=", "TZ="}) {
      if (spec.substr(0, prefix.size()) != prefix) continue;
      size_t space = spec.find(' ');
      std::string_view zone = spec.substr(prefix.size(), space - prefix.size());
      if (zone != "UTC" && zone != "Etc/UTC")
        fail("time zone \"" + std::string(zone) + "\" is not supported (arca runs schedules in UTC)");
      if (space == std::string_view::npos) fail("missing schedule after the time zone");
      spec.remove_prefix(space + 1);
      break;
    }
    if (spec.front() == '@') return descriptor(spec);
    std::istringstream in{std::string(spec)};
    std::vector<std::string> fields;
    for (std::string f; in >> f;) fields.push_back(f);
    if (fields.size() != 5)
      fail("expected exactly 5 fields (minute hour day-of-month month day-of-week), found " +
           std::to_string(fields.size()));
    CronSchedule s;
    bool ignored = false;
    s.minutes = field(fields[0], kFields[0], ignored);
    s.hours = field(fields[1], kFields[1], ignored);
    s.days_of_month = field(fields[2], kFields[2], s.dom_star);
    s.months = field(fields[3], kFields[3], ignored);
    s.days_of_week = field(fields[4], kFields[4], s.dow_star);
    return s;
  }

  CronSchedule descriptor(std::string_view spec) const {
    static const std::array<std::pair<std::string_view, std::string_view>, 7> kDescriptors{{
        {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"},
        {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"},
        {"@daily", "0 0 * * *"},
        {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
    }};
    for (const auto& [name, expansion] : kDescriptors) {
      if (spec == name) return CronParser(expansion).parse();
    }
    constexpr std::string_view kEvery = "@every ";
    if (spec.substr(0, kEvery.size()) == kEvery) {
      Duration d;
      try {
        d = parse_duration(spec.substr(kEvery.size()));
      } catch (const InvalidDuration& e) {
        fail(std::string("failed to parse duration: ") + e.what());
      }
      // robfig: at least one second, rounded down to whole seconds.
      auto delay = std::chrono::floor<std::chrono::seconds>(d);
      if (delay < std::chrono::seconds(1)) delay = std::chrono::seconds(1);
      CronSchedule s;
      s.every = delay;
      return s;
    }
    fail("unrecognized descriptor \"" + std::string(spec) + "\"");
  }

 private:
  std::string_view expression_;
};

bool has(uint64_t bits, unsigned v) { return (bits >> v) & 1U; }

}  // namespace

CronSchedule parse_cron(std::string_view expression) { return CronParser(expression).parse(); }

std::optional<Timestamp> cron_next(const CronSchedule& s, Timestamp after) {
  using namespace std::chrono;
  if (s.every) return after + *s.every;
  // Start at the next whole minute after `after` (the standard parser fixes seconds at 0).
  auto t = floor<minutes>(after) + minutes(1);
  const auto limit = after + years(5);
  auto day_matches = [&](sys_days day) {
    year_month_day ymd{day};
    bool dom = has(s.days_of_month, static_cast<unsigned>(ymd.day()));
    bool dow = has(s.days_of_week, weekday{day}.c_encoding());
    return (s.dom_star || s.dow_star) ? (dom && dow) : (dom || dow);
  };
  while (t < limit) {
    auto day = floor<days>(t);
    year_month_day ymd{day};
    if (!has(s.months, static_cast<unsigned>(ymd.month()))) {
      auto next_month = year_month_day{ymd.year() / ymd.month() / 1} + months(1);
      t = sys_days{next_month};
      continue;
    }
    if (!day_matches(day)) {
      t = day + days(1);
      continue;
    }
    hh_mm_ss hms{t - day};
    if (!has(s.hours, static_cast<unsigned>(hms.hours().count()))) {
      t = floor<hours>(t) + hours(1);
      continue;
    }
    if (!has(s.minutes, static_cast<unsigned>(hms.minutes().count()))) {
      t += minutes(1);
      continue;
    }
    return time_point_cast<seconds>(t);
  }
  return std::nullopt;
}

std::optional<Timestamp> schedule_due_time(const CronSchedule& schedule, Timestamp created,
                                           std::optional<Timestamp> last_backup,
                                           std::optional<Timestamp> last_skipped) {
  Timestamp reference = last_backup.value_or(created);
  if (last_skipped && *last_skipped > reference) reference = *last_skipped;
  return cron_next(schedule, reference);
}

}  // namespace arca
