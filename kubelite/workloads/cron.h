#pragma once
// Cron schedules as the CronJob controller reads spec.schedule (github.com/robfig/cron/v3's standard parser,
// which kube-controller-manager uses): five fields (minute hour day-of-month month day-of-week) of `*`, values,
// ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`, month and weekday names, `?` as `*`, and the descriptors
// @yearly @annually @monthly @weekly @daily @midnight @hourly. Times are seconds since the epoch, in UTC.
#include <cstdint>
#include <optional>
#include <string>

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

}  // namespace kubelite::workloads
