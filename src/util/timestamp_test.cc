#include "util/timestamp.h"

#include <gtest/gtest.h>

namespace arca {
namespace {

using namespace std::chrono;

TEST(Timestamp, FormatsUtcSecondPrecision) {
  Timestamp t = sys_days{2024y / 1 / 2} + 3h + 4min + 5s;
  EXPECT_EQ(format_rfc3339(t), "2024-01-02T03:04:05Z");
  EXPECT_EQ(format_rfc3339(Timestamp{}), "1970-01-01T00:00:00Z");
}

TEST(Timestamp, ParsesZuluOffsetsAndFractions) {
  Timestamp t = sys_days{2024y / 1 / 2} + 3h + 4min + 5s;
  EXPECT_EQ(parse_rfc3339("2024-01-02T03:04:05Z"), t);
  EXPECT_EQ(parse_rfc3339("2024-01-02T03:04:05.123456Z"), t);
  EXPECT_EQ(parse_rfc3339("2024-01-02T05:04:05+02:00"), t);
  EXPECT_EQ(parse_rfc3339("2024-01-01T22:04:05-05:00"), t);
  EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t);
}

TEST(Timestamp, RejectsMalformedText) {
  for (const char* bad : {"", "2024-01-02", "2024-01-02 03:04:05Z", "2024-13-02T03:04:05Z", "2024-02-30T03:04:05Z",
                          "2024-01-02T03:04:05", "2024-01-02T03:04:05.Z", "2024-01-02T25:04:05Z"}) {
    EXPECT_THROW(parse_rfc3339(bad), InvalidTimestamp) << bad;
  }
  try {
    parse_rfc3339("yesterday");
  } catch (const InvalidTimestamp& e) {
    EXPECT_STREQ(e.what(), "invalid RFC 3339 timestamp \"yesterday\" (expected e.g. 2024-01-02T03:04:05Z)");
  }
}

}  // namespace
}  // namespace arca
