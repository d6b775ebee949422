#pragma once
// Cron schedules as the CronJob controller reads spec.schedule (github.com/robfig/cron/v3's standard parser,
// which kube-controller-manager uses): five fields (minute hour day-of-month month day-of-week) of `*`, values,
// ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`, month and weekday names, `?` as `*`, and the descriptors
// @yearly @annually @monthly @weekly @daily @midnight @hourly. Times are seconds since the epoch, in UTC.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kubelite::workloads {

struct CronSchedule {
  uint64_t minutes = 0;  // bit i: minute i
  uint32_t hours = 0, days = 0;  // days: bits 1..31
  uint16_t months = 0;  // bits 1..12
  uint8_t weekdays = 0;  // bits 0..6, Sunday 0
  bool any_day = false, any_weekday = false;  // the field was `*` or `?` (day matching is an OR otherwise)
};

// The schedule, or nothing with `error` ("expected exactly 5 fields, found 4: ...").
std::optional<CronSchedule> parse_cron(const std::string& text, std::string& error);
// The first time strictly after `after` (whole minutes) the schedule fires; -1 when none within five years.
int64_t cron_next(const CronSchedule& s, int64_t after);

// A CronJob's spec.timeZone: the UTC offsets of an IANA zone of the system's tzdata (/usr/share/zoneinfo, TZif
// files), by transition time. Past the last transition a file lists (2037 in Debian's) the last offset holds.
struct TimeZone {
  std::vector<int64_t> transitions;  // seconds since the epoch, ascending
  std::vector<int32_t> offsets;      // the offset from transitions[i] on
  int32_t initial = 0;               // before the first transition
  int32_t offset_at(int64_t utc) const;
};
// Loads zone `name` ("Europe/Berlin", "UTC"); false with `error` as Go's time.LoadLocation words it, which the
// real apiserver returns ("unknown time zone Foo/Bar").
bool load_time_zone(const std::string& name, TimeZone& out, std::string& error);
// The problems of spec.timeZone as k8s.io/kubernetes/pkg/apis/batch/validation's validateTimeZone reports them
// (empty when valid).
std::vector<std::string> time_zone_problems(const std::string& name);
// cron_next with the schedule read in `zone`'s wall-clock time.
int64_t cron_next(const CronSchedule& s, int64_t after, const TimeZone& zone);

}  // namespace kubelite::workloads
