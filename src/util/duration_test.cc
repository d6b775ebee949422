#include "util/duration.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace arca {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesGoSyntax) {
  EXPECT_EQ(parse_duration("720h0m0s"), 720h);
  EXPECT_EQ(parse_duration("1h30m"), 90min);
  EXPECT_EQ(parse_duration("90s"), 90s);
  EXPECT_EQ(parse_duration("10m"), 10min);
  EXPECT_EQ(parse_duration("1.5h"), 90min);
  EXPECT_EQ(parse_duration("300ms"), 300ms);
  EXPECT_EQ(parse_duration("1us"), 1us);
  EXPECT_EQ(parse_duration("1\xC2\xB5s"), 1us);
  EXPECT_EQ(parse_duration("2ns"), 2ns);
  EXPECT_EQ(parse_duration("-2m"), -2min);
  EXPECT_EQ(parse_duration("+5s"), 5s);
  EXPECT_EQ(parse_duration("0"), 0s);
  EXPECT_EQ(parse_duration(".5s"), 500ms);
  EXPECT_EQ(parse_duration("1h1h"), 2h);
}

TEST(Duration, RejectsWithGoMessages) {
  auto message = [](const char* text) {
    try {
      parse_duration(text);
    } catch (const InvalidDuration& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(""), "time: invalid duration \"\"");
  EXPECT_EQ(message("1"), "time: missing unit in duration \"1\"");
  EXPECT_EQ(message("1d"), "time: unknown unit \"d\" in duration \"1d\"");
  EXPECT_EQ(message("abc"), "time: invalid duration \"abc\"");
  EXPECT_EQ(message(".s"), "time: invalid duration \".s\"");
  EXPECT_EQ(message("99999999999999999999h"), "time: invalid duration \"99999999999999999999h\"");
  EXPECT_EQ(message("3000000h"), "time: invalid duration \"3000000h\"");  // beyond int64 nanoseconds
}

TEST(Duration, FormatsLikeGoDurationString) {
  EXPECT_EQ(format_duration(720h), "720h0m0s");
  EXPECT_EQ(format_duration(90min), "1h30m0s");
  EXPECT_EQ(format_duration(90s), "1m30s");
  EXPECT_EQ(format_duration(10min), "10m0s");
  EXPECT_EQ(format_duration(0s), "0s");
  EXPECT_EQ(format_duration(1500ms), "1.5s");
  EXPECT_EQ(format_duration(300ms), "300ms");
  EXPECT_EQ(format_duration(1500us), "1.5ms");
  EXPECT_EQ(format_duration(1us), "1\xC2\xB5s");
  EXPECT_EQ(format_duration(1500ns), "1.5\xC2\xB5s");
  EXPECT_EQ(format_duration(7ns), "7ns");
  EXPECT_EQ(format_duration(-2min), "-2m0s");
  EXPECT_EQ(format_duration(2h + 45min + 30500ms), "2h45m30.5s");
  EXPECT_EQ(format_duration(Duration(INT64_MAX)), "2562047h47m16.854775807s");
  EXPECT_EQ(format_duration(Duration(INT64_MIN)), "-2562047h47m16.854775808s");
}

TEST(Duration, RoundTripsVeleroDefaults) {
  for (const char* text : {"720h0m0s", "10m0s", "4h0m0s", "1m0s", "240h0m0s", "1h0m0s"})
    EXPECT_EQ(format_duration(parse_duration(text)), text);
}

}  // namespace
}  // namespace arca
