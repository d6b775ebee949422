#include "util/label_selector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace arca {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(LabelSelector, ParsesEveryOperatorOfTheStringSyntax) {
  LabelSelector s = parse_label_selector("a=1, b!=2,c in (x, y),d notin (z),e,!f,g==3");
  EXPECT_EQ(s.match_labels, (Labels{{"a", "1"}, {"g", "3"}}));
  ASSERT_EQ(s.match_expressions.size(), 5u);
  EXPECT_EQ(s.match_expressions[0], (LabelSelectorRequirement{"b", "NotIn", {"2"}}));
  EXPECT_EQ(s.match_expressions[1], (LabelSelectorRequirement{"c", "In", {"x", "y"}}));
  EXPECT_EQ(s.match_expressions[2], (LabelSelectorRequirement{"d", "NotIn", {"z"}}));
  EXPECT_EQ(s.match_expressions[3], (LabelSelectorRequirement{"e", "Exists", {}}));
  EXPECT_EQ(s.match_expressions[4], (LabelSelectorRequirement{"f", "DoesNotExist", {}}));
}

TEST(LabelSelector, EmptyStringIsEmptySelectorMatchingEverything) {
  LabelSelector s = parse_label_selector("  ");
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(selector_matches(s, {{"x", "y"}}));
  EXPECT_EQ(format_label_selector(&s), "<none>");
  EXPECT_EQ(format_label_selector(nullptr), "<none>");
}

TEST(LabelSelector, Matching) {
  LabelSelector s = parse_label_selector("app=web,tier in (fe,be),!legacy,env notin (dev)");
  EXPECT_TRUE(selector_matches(s, {{"app", "web"}, {"tier", "fe"}}));
  EXPECT_TRUE(selector_matches(s, {{"app", "web"}, {"tier", "be"}, {"env", "prod"}}));
  EXPECT_FALSE(selector_matches(s, {{"app", "web"}, {"tier", "db"}}));
  EXPECT_FALSE(selector_matches(s, {{"app", "web"}, {"tier", "fe"}, {"legacy", ""}}));
  EXPECT_FALSE(selector_matches(s, {{"app", "web"}, {"tier", "fe"}, {"env", "dev"}}));
  EXPECT_FALSE(selector_matches(s, {{"tier", "fe"}}));
  EXPECT_TRUE(selector_matches(parse_label_selector("k"), {{"k", ""}}));
  EXPECT_FALSE(selector_matches(parse_label_selector("k"), {}));
}

TEST(LabelSelector, CanonicalStringSortsKeysAndValues) {
  LabelSelector s;
  s.match_labels = {{"zone", "a"}, {"app", "web"}};
  s.match_expressions = {{"tier", "In", {"fe", "be"}}, {"old", "DoesNotExist", {}}, {"b", "Exists", {}}};
  EXPECT_EQ(to_selector_string(s), "app=web,b,!old,tier in (be,fe),zone=a");
  EXPECT_EQ(to_selector_string(parse_label_selector("x!=1")), "x notin (1)");
  // Round trip through the string form keeps the meaning.
  EXPECT_EQ(parse_label_selector(to_selector_string(s)).match_labels, s.match_labels);
}

TEST(LabelSelector, SyntaxErrorsNameTheProblem) {
  EXPECT_THROW(parse_label_selector("a in x"), InvalidLabelSelector);
  try {
    parse_label_selector("a=1,,b=2");
    FAIL();
  } catch (const InvalidLabelSelector& e) {
    EXPECT_THAT(e.what(), HasSubstr("invalid label selector \"a=1,,b=2\""));
  }
  try {
    parse_label_selector("a foo (x)");
    FAIL();
  } catch (const InvalidLabelSelector& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown operator \"foo\""));
  }
  EXPECT_THROW(parse_label_selector("a in ()"), InvalidLabelSelector);
  EXPECT_THROW(parse_label_selector("a>1"), InvalidLabelSelector);
  EXPECT_THROW(parse_label_selector("a=1,"), InvalidLabelSelector);
}

TEST(LabelSelector, KeyAndValueValidation) {
  EXPECT_THAT(label_key_errors("app"), IsEmpty());
  EXPECT_THAT(label_key_errors("velero.io/backup-name"), IsEmpty());
  EXPECT_THAT(label_key_errors("Example.com/x"), testing::ElementsAre(HasSubstr("prefix part")));
  EXPECT_THAT(label_key_errors("/x"), testing::ElementsAre(HasSubstr("prefix part must be non-empty")));
  EXPECT_THAT(label_key_errors("a/b/c"), testing::ElementsAre(HasSubstr("a qualified name")));
  EXPECT_THAT(label_key_errors("-bad"), testing::ElementsAre(HasSubstr("name part must consist of")));
  EXPECT_THAT(label_key_errors(std::string(64, 'a')),
              testing::ElementsAre(HasSubstr("name part must be no more than 63 characters")));
  EXPECT_THAT(label_value_errors(""), IsEmpty());
  EXPECT_THAT(label_value_errors("v1.2_x"), IsEmpty());
  EXPECT_THAT(label_value_errors("bad value"), testing::ElementsAre(HasSubstr("label value \"bad value\"")));
  EXPECT_THROW(parse_label_selector("app=bad value"), InvalidLabelSelector);
}

TEST(LabelSelector, StructValidationCoversOperatorsAndValues) {
  LabelSelector s;
  s.match_expressions = {{"a", "In", {}}, {"b", "Exists", {"x"}}, {"c", "Equals", {"1"}}};
  auto errors = validate_label_selector(s);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_THAT(errors[0], HasSubstr("values set can't be empty for operator In"));
  EXPECT_THAT(errors[1], HasSubstr("values set must be empty for operator Exists"));
  EXPECT_THAT(errors[2], HasSubstr("\"Equals\" is not a valid label selector operator"));
}

TEST(LabelSelector, JsonUsesMetav1FieldNames) {
  LabelSelector s = parse_label_selector("app=web,tier in (fe)");
  nlohmann::json j = s;
  EXPECT_EQ(j, nlohmann::json::parse(
                   R"({"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"In","values":["fe"]}]})"));
  EXPECT_EQ(j.get<LabelSelector>(), s);
  EXPECT_EQ(nlohmann::json(LabelSelector{}), nlohmann::json::object());
}

}  // namespace
}  // namespace arca
