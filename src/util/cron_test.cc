#include "util/cron.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace arca {
namespace {

using namespace std::chrono;
using ::testing::HasSubstr;

Timestamp at(const char* text) { return parse_rfc3339(text); }

std::string next(const char* spec, const char* after) {
  auto t = cron_next(parse_cron(spec), at(after));
  return t ? format_rfc3339(*t) : "never";
}

std::string error_of(const char* spec) {
  try {
    parse_cron(spec);
  } catch (const InvalidCron& e) {
    return e.what();
  }
  return "no error";
}

TEST(Cron, SpecVectorHourlyScheduleWaitsForItsFirstTick) {
  // As Velero's schedule controller computes it: `0 * * * *` created at 10:15 runs first at 11:00.
  EXPECT_EQ(next("0 * * * *", "2024-01-02T10:15:00Z"), "2024-01-02T11:00:00Z");
  // Exactly on a tick, the next one is an hour later (strictly after).
  EXPECT_EQ(next("0 * * * *", "2024-01-02T11:00:00Z"), "2024-01-02T12:00:00Z");
  EXPECT_EQ(next("0 * * * *", "2024-01-02T10:59:59Z"), "2024-01-02T11:00:00Z");
}

TEST(Cron, SpecVector17DueTimesWithoutCatchUp) {
  CronSchedule hourly = parse_cron("0 * * * *");
  Timestamp created = at("2024-01-02T10:15:00Z");
  // New schedule: due at the first tick after creation, not at creation.
  EXPECT_EQ(schedule_due_time(hourly, created, std::nullopt, std::nullopt), at("2024-01-02T11:00:00Z"));
  // Last backup at 11:00, then paused for five hours: at 16:30 the schedule is due once (11:00 < 16:30) …
  auto due = schedule_due_time(hourly, created, at("2024-01-02T11:00:00Z"), std::nullopt);
  EXPECT_EQ(due, at("2024-01-02T12:00:00Z"));
  EXPECT_GT(at("2024-01-02T16:30:00Z"), *due);
  // … and after that one backup the next is the following tick, not the missed ones.
  EXPECT_EQ(schedule_due_time(hourly, created, at("2024-01-02T16:30:00Z"), std::nullopt), at("2024-01-02T17:00:00Z"));
  // skipImmediately records lastSkipped; a later skip moves the reference.
  EXPECT_EQ(schedule_due_time(hourly, created, at("2024-01-02T11:00:00Z"), at("2024-01-02T13:20:00Z")),
            at("2024-01-02T14:00:00Z"));
  EXPECT_EQ(schedule_due_time(hourly, created, at("2024-01-02T15:00:00Z"), at("2024-01-02T13:20:00Z")),
            at("2024-01-02T16:00:00Z"));
  EXPECT_EQ(schedule_due_time(parse_cron("@every 2s"), created, std::nullopt, std::nullopt), at("2024-01-02T10:15:02Z"));
}

TEST(Cron, RangesStepsListsAndNames) {
  EXPECT_EQ(next("*/15 * * * *", "2024-01-02T10:07:00Z"), "2024-01-02T10:15:00Z");
  EXPECT_EQ(next("5,35 * * * *", "2024-01-02T10:07:00Z"), "2024-01-02T10:35:00Z");
  EXPECT_EQ(next("0 9 * * mon-fri", "2024-01-05T10:00:00Z"), "2024-01-08T09:00:00Z");
  EXPECT_EQ(next("0 9 * * MON-FRI", "2024-01-05T10:00:00Z"), "2024-01-08T09:00:00Z");
  EXPECT_EQ(next("30 2 1 jan,jul *", "2024-02-01T00:00:00Z"), "2024-07-01T02:30:00Z");
  EXPECT_EQ(next("0 10-12/2 * * *", "2024-01-02T10:30:00Z"), "2024-01-02T12:00:00Z");
  EXPECT_EQ(next("0 22/1 * * *", "2024-01-02T22:30:00Z"), "2024-01-02T23:00:00Z");  // n/step means n-max/step
  EXPECT_EQ(next("0 0 29 2 *", "2024-03-01T00:00:00Z"), "2028-02-29T00:00:00Z");
  EXPECT_EQ(next("0 0 30 2 *", "2024-03-01T00:00:00Z"), "never");
  EXPECT_EQ(next("59 23 31 12 *", "2024-12-31T23:59:00Z"), "2025-12-31T23:59:00Z");
}

TEST(Cron, DayOfMonthAndDayOfWeekUseRobfigOrSemantics) {
  // Both restricted ⇒ either matches: 2024-01-05 is a Friday before the 13th.
  EXPECT_EQ(next("0 0 13 * 5", "2024-01-01T00:00:00Z"), "2024-01-05T00:00:00Z");
  // Day of month is `*` ⇒ both must match ⇒ Fridays only.
  EXPECT_EQ(next("0 0 * * 5", "2024-01-01T00:00:00Z"), "2024-01-05T00:00:00Z");
  EXPECT_EQ(next("0 0 * * 0", "2024-01-01T00:00:00Z"), "2024-01-07T00:00:00Z");
  // `*/2` (step > 1) is a restriction: odd days OR Mondays.
  EXPECT_EQ(next("0 0 */2 * 1", "2024-01-01T00:00:00Z"), "2024-01-03T00:00:00Z");
  // `*/1` keeps the star: AND ⇒ Mondays only.
  EXPECT_EQ(next("0 0 */1 * 1", "2024-01-01T00:00:00Z"), "2024-01-08T00:00:00Z");
  // `?` is a star too.
  EXPECT_EQ(next("0 0 ? * 1", "2024-01-01T00:00:00Z"), "2024-01-08T00:00:00Z");
}

TEST(Cron, DescriptorsAndEvery) {
  EXPECT_EQ(next("@hourly", "2024-01-03T10:15:00Z"), "2024-01-03T11:00:00Z");
  EXPECT_EQ(next("@daily", "2024-01-03T10:15:00Z"), "2024-01-04T00:00:00Z");
  EXPECT_EQ(next("@midnight", "2024-01-03T10:15:00Z"), "2024-01-04T00:00:00Z");
  EXPECT_EQ(next("@weekly", "2024-01-03T10:15:00Z"), "2024-01-07T00:00:00Z");
  EXPECT_EQ(next("@monthly", "2024-01-03T10:15:00Z"), "2024-02-01T00:00:00Z");
  EXPECT_EQ(next("@yearly", "2024-01-03T10:15:00Z"), "2025-01-01T00:00:00Z");
  EXPECT_EQ(next("@annually", "2024-01-03T10:15:00Z"), "2025-01-01T00:00:00Z");
  EXPECT_EQ(next("@every 2s", "2024-01-03T10:15:00Z"), "2024-01-03T10:15:02Z");
  EXPECT_EQ(next("@every 1h30m", "2024-01-03T10:15:00Z"), "2024-01-03T11:45:00Z");
  EXPECT_EQ(next("@every 100ms", "2024-01-03T10:15:00Z"), "2024-01-03T10:15:01Z");  // at least one second
  EXPECT_EQ(next("@every 2.9s", "2024-01-03T10:15:00Z"), "2024-01-03T10:15:02Z");   // rounded down
  EXPECT_EQ(next("CRON_TZ=UTC 0 * * * *", "2024-01-02T10:15:00Z"), "2024-01-02T11:00:00Z");
  EXPECT_EQ(next("TZ=UTC @daily", "2024-01-02T10:15:00Z"), "2024-01-03T00:00:00Z");
}

TEST(Cron, ClearErrors) {
  EXPECT_THAT(error_of(""), HasSubstr("empty spec string"));
  EXPECT_THAT(error_of("* * *"), HasSubstr("expected exactly 5 fields"));
  EXPECT_THAT(error_of("0 0 * * * *"), HasSubstr("found 6"));
  EXPECT_THAT(error_of("60 * * * *"), HasSubstr("minute: end of range (60) above maximum (59)"));
  EXPECT_THAT(error_of("* 5-3 * * *"), HasSubstr("hour: beginning of range (5) beyond end of range (3)"));
  EXPECT_THAT(error_of("* * 0 * *"), HasSubstr("day of month: beginning of range (0) below minimum (1)"));
  EXPECT_THAT(error_of("* * * * 7"), HasSubstr("day of week: end of range (7) above maximum (6)"));
  EXPECT_THAT(error_of("*/0 * * * *"), HasSubstr("step of range should be a positive number"));
  EXPECT_THAT(error_of("x * * * *"), HasSubstr("minute: failed to parse int from \"x\""));
  EXPECT_THAT(error_of("* * * foo *"), HasSubstr("month: failed to parse int from \"foo\""));
  EXPECT_THAT(error_of("@often"), HasSubstr("unrecognized descriptor \"@often\""));
  EXPECT_THAT(error_of("@every 1d"), HasSubstr("unknown unit \"d\""));
  EXPECT_THAT(error_of("CRON_TZ=Europe/Paris 0 * * * *"), HasSubstr("time zone \"Europe/Paris\" is not supported"));
  EXPECT_THAT(error_of("1-2-3 * * * *"), HasSubstr("too many hyphens"));
  EXPECT_THAT(error_of("0 * * * *"), "no error");
  EXPECT_THAT(error_of("bad"), HasSubstr("invalid schedule \"bad\": "));
}

}  // namespace
}  // namespace arca
