#include "util/base64.h"

#include <gtest/gtest.h>

namespace arca {

TEST(Base64, RoundTripsEveryLengthAndByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= all.size(); n += 1) {
    std::string raw = all.substr(0, n);
    auto decoded = base64_decode(base64_encode(raw));
    ASSERT_TRUE(decoded.has_value()) << n;
    EXPECT_EQ(*decoded, raw) << n;
  }
  EXPECT_EQ(base64_encode("any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw==");
  // Wrapped lines (PEM, YAML) decode as one text.
  EXPECT_EQ(base64_decode("YW55IGNh\ncm5hbCBw\r\nbGVhcw=="), "any carnal pleas");
}

// A lenient decoder once skipped characters outside the alphabet, so a credentials Secret with a typo decoded to
// a different key without a word; every one of these must be refused.
TEST(Base64, BadInputIsRefusedNotSkipped) {
  for (const char* bad : {"YW55!GNh", "YW5-IGNh", "YW55IGN", "YW=5IGNh", "Y===", "YW55IGNh====", "é123",
                          "YW55IGNhcm5hbCBwbGVhcw=!"})
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
  EXPECT_EQ(base64_decode(""), "");
}

}  // namespace arca
