#include "util/names.h"

#include <gtest/gtest.h>

namespace arca {
namespace {

TEST(ValidLabelValue, ShortNamesAreUnchanged) {
  EXPECT_EQ(valid_label_value("nightly"), "nightly");
  std::string exactly63(63, 'a');
  EXPECT_EQ(valid_label_value(exactly63), exactly63);
}

TEST(ValidLabelValue, SpecVector20LongNamesAreTruncatedWithAHash) {
  // As Velero's label.GetValidName: a 70-character backup name.
  std::string name = "backup-of-the-production-cluster-with-a-very-long-descriptive-name-01";
  name += std::string(70 - name.size(), 'x');
  ASSERT_EQ(name.size(), 70u);
  std::string value = valid_label_value(name);
  ASSERT_EQ(value.size(), 63u);
  EXPECT_EQ(value.substr(0, 57), name.substr(0, 57));
  EXPECT_EQ(value.substr(57).find_first_not_of("0123456789abcdef"), std::string::npos);
  // sha256("a" * 64) starts with "ffe054": a fixed vector checks the hash, not just the shape.
  EXPECT_EQ(valid_label_value(std::string(64, 'a')), std::string(57, 'a') + "ffe054");
  EXPECT_NE(valid_label_value(name), valid_label_value(name.substr(0, 69) + "y"));
}

TEST(TimestampedName, SpecVector16) {
  // As Velero's schedule controller names backups: schedule `daily` at 2024-01-02 03:04:05 creates `daily-20240102030405`.
  EXPECT_EQ(timestamped_name("daily", parse_rfc3339("2024-01-02T03:04:05Z")), "daily-20240102030405");
}

}  // namespace
}  // namespace arca
