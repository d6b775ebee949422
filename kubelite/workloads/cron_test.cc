#include "kubelite/workloads/cron.h"

#include <gtest/gtest.h>

#include <ctime>

namespace kubelite::workloads {
namespace {

int64_t at(int y, int mo, int d, int h, int mi) {
  tm u{};
  u.tm_year = y - 1900;
  u.tm_mon = mo - 1;
  u.tm_mday = d;
  u.tm_hour = h;
  u.tm_min = mi;
  return timegm(&u);
}

int64_t next(const std::string& schedule, int64_t after) {
  std::string error;
  auto s = parse_cron(schedule, error);
  EXPECT_TRUE(s) << schedule << ": " << error;
  return s ? cron_next(*s, after) : -2;
}

// 2026-12-07 is a Monday.
TEST(Cron, EveryMinuteStepsRangesAndLists) {
  EXPECT_EQ(next("* * * * *", at(2026, 12, 7, 10, 0) + 30), at(2026, 12, 7, 10, 1));
  EXPECT_EQ(next("* * * * *", at(2026, 12, 7, 10, 1)), at(2026, 12, 7, 10, 2));  // strictly after
  EXPECT_EQ(next("*/15 * * * *", at(2026, 12, 7, 10, 16)), at(2026, 12, 7, 10, 30));
  EXPECT_EQ(next("*/15 * * * *", at(2026, 12, 7, 10, 46)), at(2026, 12, 7, 11, 0));
  EXPECT_EQ(next("5-7 * * * *", at(2026, 12, 7, 10, 6)), at(2026, 12, 7, 10, 7));
  EXPECT_EQ(next("5-7 * * * *", at(2026, 12, 7, 10, 7)), at(2026, 12, 7, 11, 5));
  EXPECT_EQ(next("10-40/10 * * * *", at(2026, 12, 7, 10, 35)), at(2026, 12, 7, 10, 40));
  EXPECT_EQ(next("0 9,17 * * *", at(2026, 12, 7, 10, 0)), at(2026, 12, 7, 17, 0));
  EXPECT_EQ(next("30 2 * * *", at(2026, 12, 31, 3, 0)), at(2027, 1, 1, 2, 30));  // across a year
}

TEST(Cron, DescriptorsNamesAndDays) {
  EXPECT_EQ(next("@hourly", at(2026, 12, 7, 10, 0)), at(2026, 12, 7, 11, 0));
  EXPECT_EQ(next("@daily", at(2026, 12, 7, 10, 0)), at(2026, 12, 8, 0, 0));
  EXPECT_EQ(next("@midnight", at(2026, 12, 7, 10, 0)), at(2026, 12, 8, 0, 0));
  EXPECT_EQ(next("@weekly", at(2026, 12, 7, 10, 0)), at(2026, 12, 13, 0, 0));  // Sunday
  EXPECT_EQ(next("@monthly", at(2026, 12, 7, 10, 0)), at(2027, 1, 1, 0, 0));
  EXPECT_EQ(next("@yearly", at(2026, 12, 7, 10, 0)), at(2027, 1, 1, 0, 0));
  EXPECT_EQ(next("@annually", at(2026, 12, 7, 10, 0)), at(2027, 1, 1, 0, 0));
  EXPECT_EQ(next("0 0 * * FRI", at(2026, 12, 7, 10, 0)), at(2026, 12, 11, 0, 0));
  EXPECT_EQ(next("0 0 * * 7", at(2026, 12, 7, 10, 0)), at(2026, 12, 13, 0, 0));  // 7 is Sunday
  EXPECT_EQ(next("0 0 1 feb *", at(2026, 12, 7, 10, 0)), at(2027, 2, 1, 0, 0));
  EXPECT_EQ(next("0 0 29 2 *", at(2026, 12, 7, 10, 0)), at(2028, 2, 29, 0, 0));  // a leap day
  // Both day fields restricted: either matches (the 15th, or a Monday), as in cron and robfig/cron.
  EXPECT_EQ(next("0 0 15 * MON", at(2026, 12, 8, 0, 0)), at(2026, 12, 14, 0, 0));
  EXPECT_EQ(next("0 0 15 * MON", at(2026, 12, 14, 0, 0)), at(2026, 12, 15, 0, 0));
  // One of them `*`: both must match.
  EXPECT_EQ(next("0 0 * * MON", at(2026, 12, 8, 0, 0)), at(2026, 12, 14, 0, 0));
  EXPECT_EQ(next("TZ=UTC 0 12 * * *", at(2026, 12, 7, 10, 0)), at(2026, 12, 7, 12, 0));
}

TEST(Cron, BadSchedulesSayWhatIsWrong) {
  std::string error;
  EXPECT_FALSE(parse_cron("* * * *", error));
  EXPECT_EQ(error, "expected exactly 5 fields, found 4: [* * * *]");
  EXPECT_FALSE(parse_cron("61 * * * *", error));
  EXPECT_EQ(error, "end of range (61) above maximum (59): 61");
  EXPECT_FALSE(parse_cron("* * 0 * *", error));
  EXPECT_EQ(error, "beginning of range (0) below minimum (1): 0");
  EXPECT_FALSE(parse_cron("*/x * * * *", error));
  EXPECT_EQ(error, "failed to parse int from x");
  EXPECT_FALSE(parse_cron("@fortnightly", error));
  EXPECT_EQ(error, "unrecognized descriptor: @fortnightly");
  EXPECT_FALSE(parse_cron("0 0 31 2 *", error) && false);
  std::string e2;
  auto never = parse_cron("0 0 31 2 *", e2);  // valid, but February has no 31st
  ASSERT_TRUE(never);
  EXPECT_EQ(cron_next(*never, at(2026, 12, 7, 10, 0)), -1);
}

// spec.timeZone: the system's tzdata, its DST changes, and the names the real apiserver refuses.
TEST(Cron, TimeZones) {
  std::string error;
  auto s = parse_cron("0 9 * * *", error);
  ASSERT_TRUE(s);
  TimeZone berlin, new_york, utc;
  ASSERT_TRUE(load_time_zone("Europe/Berlin", berlin, error)) << error;
  ASSERT_TRUE(load_time_zone("America/New_York", new_york, error)) << error;
  ASSERT_TRUE(load_time_zone("UTC", utc, error)) << error;
  EXPECT_EQ(berlin.offset_at(at(2026, 12, 7, 12, 0)), 3600);       // CET
  EXPECT_EQ(berlin.offset_at(at(2026, 7, 7, 12, 0)), 7200);        // CEST
  EXPECT_EQ(cron_next(*s, at(2026, 12, 7, 0, 0), berlin), at(2026, 12, 7, 8, 0));     // 09:00 CET
  EXPECT_EQ(cron_next(*s, at(2026, 7, 7, 0, 0), berlin), at(2026, 7, 7, 7, 0));       // 09:00 CEST
  EXPECT_EQ(cron_next(*s, at(2026, 12, 7, 0, 0), new_york), at(2026, 12, 7, 14, 0));  // 09:00 EST
  EXPECT_EQ(cron_next(*s, at(2026, 12, 7, 0, 0), utc), at(2026, 12, 7, 9, 0));
  // Across the spring change (2026-03-08 in New York): 09:00 EST on the 7th, then 09:00 EDT on the 8th.
  EXPECT_EQ(cron_next(*s, at(2026, 3, 7, 14, 0), new_york), at(2026, 3, 8, 13, 0));

  TimeZone z;
  EXPECT_FALSE(load_time_zone("Mars/Olympus_Mons", z, error));
  EXPECT_EQ(error, "unknown time zone Mars/Olympus_Mons");
  EXPECT_TRUE(time_zone_problems("Europe/Berlin").empty());
  EXPECT_EQ(time_zone_problems("Mars/Olympus_Mons"), std::vector<std::string>{"unknown time zone Mars/Olympus_Mons"});
  EXPECT_EQ(time_zone_problems("../etc/passwd"), std::vector<std::string>{"unknown time zone ../etc/passwd"});
  EXPECT_EQ(time_zone_problems("America/Far_Too_Long_A_Name"),
            std::vector<std::string>{"unknown time zone America/Far_Too_Long_A_Name"});
  EXPECT_EQ(time_zone_problems(""), std::vector<std::string>{"timeZone must be nil or non-empty string"});
  EXPECT_EQ(time_zone_problems("Local"),
            std::vector<std::string>{"timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"});
}

}  // namespace
}  // namespace kubelite::workloads
