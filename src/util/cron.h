#pragma once
// Cron schedules as Velero parses them (robfig/cron v3 ParseStandard): five fields `min hour dom month dow`
// with `*`, `?`, ranges `a-b`, steps `/n`, lists `a,b`, month names `jan`..`dec` and day names `sun`..`sat`;
// descriptors `@yearly @annually @monthly @weekly @daily @midnight @hourly`; `@every <go duration>`; an
// optional `CRON_TZ=UTC`/`TZ=UTC` prefix. Times are UTC (arca's server clock, like Velero's image).
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "util/duration.h"
#include "util/timestamp.h"

namespace arca {

struct InvalidCron : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

struct CronSchedule {
  // Bit i set = value i allowed. `dom_star`/`dow_star` record an unrestricted `*`/`?` field, which switches the
  // day match from robfig's OR (either day field matches) to AND.
  uint64_t minutes = 0;
  uint64_t hours = 0;
  uint64_t days_of_month = 0;
  uint64_t months = 0;
  uint64_t days_of_week = 0;
  bool dom_star = false;
  bool dow_star = false;
  // Set for `@every`: a constant delay (whole seconds, at least 1s) instead of the fields above.
  std::optional<std::chrono::seconds> every;
};

// Throws InvalidCron with one line naming the expression and the problem.
CronSchedule parse_cron(std::string_view expression);

// The first activation strictly after `after`; nullopt when none exists within five years (e.g. `0 0 30 2 *`).
std::optional<Timestamp> cron_next(const CronSchedule& schedule, Timestamp after);

// When a Schedule's next backup is due (Velero's pkg/controller/schedule_controller.go getNextRunTime): the first
// activation after the reference time, which is lastBackup (else the creation time), or lastSkipped when that is
// later. A backup is due iff now is after it. Missed activations collapse into one run: after a pause the
// schedule backs up once, then waits for the next activation after that backup.
std::optional<Timestamp> schedule_due_time(const CronSchedule& schedule, Timestamp created,
                                           std::optional<Timestamp> last_backup,
                                           std::optional<Timestamp> last_skipped);

}  // namespace arca
