#include "kubelite/semantics/validation.h"

#include <gtest/gtest.h>

#include <regex>

namespace kubelite {
namespace {

TEST(Validation, Dns1123SubdomainNames) {
  EXPECT_TRUE(is_dns1123_subdomain("my-app.example.com").empty());
  EXPECT_TRUE(is_dns1123_subdomain("0abc").empty());
  auto errs = is_dns1123_subdomain("Bad_Name");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0],
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
            "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  EXPECT_EQ(is_dns1123_subdomain(std::string(254, 'a'))[0], "must be no more than 253 characters");
  EXPECT_FALSE(is_dns1123_subdomain("").empty());
  EXPECT_FALSE(is_dns1123_subdomain("a-").empty());
}

TEST(Validation, Dns1123LabelNames) {
  EXPECT_TRUE(is_dns1123_label("kube-system").empty());
  EXPECT_FALSE(is_dns1123_label("a.b").empty());
  EXPECT_EQ(is_dns1123_label(std::string(64, 'a'))[0], "must be no more than 63 characters");
}

TEST(Validation, QualifiedNamesAndLabelValues) {
  EXPECT_TRUE(is_qualified_name("app.kubernetes.io/name").empty());
  EXPECT_TRUE(is_qualified_name("Name_1.x").empty());
  EXPECT_EQ(is_qualified_name("/x")[0], "prefix part must be non-empty");
  EXPECT_EQ(is_qualified_name("x/")[0], "name part must be non-empty");
  EXPECT_TRUE(is_valid_label_value("").empty());
  EXPECT_FALSE(is_valid_label_value("a b").empty());
  EXPECT_EQ(join_problems({"a", "b"}), "a; b");
}

// The checks match by hand what the Go sources say with regular expressions: compared on every string of up to four
// characters over an alphabet with each kind of character.
TEST(Validation, HandMatchersAgreeWithTheRegularExpressions) {
  const std::regex subdomain("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  const std::regex label("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  const std::regex qualified("([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]");
  const std::regex label_value("(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?");
  const std::string alphabet = "a0Z-._ /";
  std::vector<std::string> values = {""};
  for (size_t length = 1, from = 0; length <= 4; ++length) {
    size_t to = values.size();
    for (size_t i = from; i < to; ++i)
      for (char c : alphabet) values.push_back(values[i] + c);
    from = to;
  }
  for (const std::string& v : values) {
    EXPECT_EQ(is_dns1123_subdomain(v).empty(), std::regex_match(v, subdomain)) << '"' << v << '"';
    EXPECT_EQ(is_dns1123_label(v).empty(), std::regex_match(v, label)) << '"' << v << '"';
    EXPECT_EQ(is_valid_label_value(v).empty(), std::regex_match(v, label_value)) << '"' << v << '"';
    if (v.find('/') == std::string::npos)
      EXPECT_EQ(is_qualified_name(v).empty(), std::regex_match(v, qualified)) << '"' << v << '"';
  }
}

}  // namespace
}  // namespace kubelite
