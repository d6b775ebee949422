#include "kubelite/json_text.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace kubelite {
namespace {

std::string value_of(const std::string& text, size_t object_begin, const char* key) {
  auto range = member_value(text, object_begin, key);
  return range ? text.substr(range->begin, range->end - range->begin) : "<absent>";
}

TEST(MemberValue, FindsMembersOfEveryKindPastStringsThatLookLikeJson) {
  nlohmann::json object = {{"a", "x\"}],{\\"},
                           {"b", {{"k", {1, 2, {{"z", "}"}}}}}},
                           {"metadata", {{"managedFields", {{{"f:a", "{"}}}}, {"resourceVersion", "12"}}},
                           {"n", -1.5},
                           {"t", true},
                           {"z", nullptr}};
  const std::string text = object.dump();
  EXPECT_EQ(value_of(text, 0, "a"), object["a"].dump());
  EXPECT_EQ(value_of(text, 0, "b"), object["b"].dump());
  EXPECT_EQ(value_of(text, 0, "n"), "-1.5");
  EXPECT_EQ(value_of(text, 0, "t"), "true");
  EXPECT_EQ(value_of(text, 0, "z"), "null");
  auto meta = member_value(text, 0, "metadata");
  ASSERT_TRUE(meta);
  EXPECT_EQ(value_of(text, meta->begin, "managedFields"), object["metadata"]["managedFields"].dump());
  EXPECT_EQ(value_of(text, meta->begin, "resourceVersion"), "\"12\"");
  // Only the members of that object, not those of nested ones.
  EXPECT_EQ(value_of(text, 0, "k"), "<absent>");
  EXPECT_EQ(value_of(text, meta->begin, "a"), "<absent>");
}

TEST(MemberValue, TextThatIsNotACompactObjectFindsNothing) {
  EXPECT_FALSE(member_value("", 0, "a"));
  EXPECT_FALSE(member_value("[1]", 0, "a"));
  EXPECT_FALSE(member_value("{\"a\" : 1}", 0, "a"));
  EXPECT_FALSE(member_value("{\"a\":\"unterminated", 0, "a"));
  EXPECT_FALSE(member_value("{\"a\":{\"b\":1}", 0, "c"));
  EXPECT_FALSE(member_value("{}", 5, "a"));
}

}  // namespace
}  // namespace kubelite
