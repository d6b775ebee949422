#include "kubelite/semantics/selector.h"

#include <gtest/gtest.h>

#include "kubelite/semantics/errors.h"

namespace kubelite {
namespace {

using nlohmann::json;

const json kA1 = {{"a", "1"}};
const json kA2 = {{"a", "2"}};
const json kNone = json::object();

int count_matching(const std::string& selector) {
  auto s = parse_label_selector(selector);
  return s.matches(kA1) + s.matches(kA2) + s.matches(kNone);
}

std::string error_of(const std::string& selector) {
  try {
    parse_label_selector(selector);
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code, 400);
    EXPECT_EQ(e.reason, "BadRequest");
    return e.what();
  }
  return "<no error>";
}

TEST(LabelSelector, ChecklistItem30Counts) {
  EXPECT_EQ(count_matching("a=1"), 1);
  EXPECT_EQ(count_matching("a==1"), 1);
  EXPECT_EQ(count_matching("a!=1"), 2);
  EXPECT_EQ(count_matching("a in (1,2)"), 2);
  EXPECT_EQ(count_matching("a notin (1)"), 2);
  EXPECT_EQ(count_matching("a"), 2);
  EXPECT_EQ(count_matching("!a"), 1);
  EXPECT_EQ(count_matching("a=1,a=2"), 0);
  EXPECT_EQ(count_matching(""), 3);
}

TEST(LabelSelector, WhitespaceAndOperators) {
  auto s = parse_label_selector("  env in ( prod , dev ) , tier!=web,!legacy ");
  ASSERT_EQ(s.requirements.size(), 3u);
  EXPECT_TRUE(s.matches(json{{"env", "prod"}}));
  EXPECT_FALSE(s.matches(json{{"env", "prod"}, {"tier", "web"}}));
  EXPECT_FALSE(s.matches(json{{"env", "prod"}, {"legacy", ""}}));
  EXPECT_FALSE(s.matches(json{{"env", "qa"}}));
  EXPECT_FALSE(s.matches(nullptr));
}

TEST(LabelSelector, GreaterAndLessCompareIntegersAndNeedTheKey) {
  auto gt = parse_label_selector("n>3");
  EXPECT_TRUE(gt.matches(json{{"n", "4"}}));
  EXPECT_FALSE(gt.matches(json{{"n", "3"}}));
  EXPECT_FALSE(gt.matches(json{{"n", "x"}}));
  EXPECT_FALSE(gt.matches(kNone));
  auto lt = parse_label_selector("n<3");
  EXPECT_TRUE(lt.matches(json{{"n", "-1"}}));
  EXPECT_FALSE(lt.matches(json{{"n", "10"}}));
}

TEST(LabelSelector, EmptyValuesAndPrefixedKeys) {
  EXPECT_TRUE(parse_label_selector("a=").matches(json{{"a", ""}}));
  EXPECT_TRUE(parse_label_selector("a in ()").matches(json{{"a", ""}}));
  auto s = parse_label_selector("app.kubernetes.io/name=nginx");
  EXPECT_TRUE(s.matches(json{{"app.kubernetes.io/name", "nginx"}}));
  // "in"/"notin" are ordinary words in value position.
  EXPECT_TRUE(parse_label_selector("a=in").matches(json{{"a", "in"}}));
}

TEST(LabelSelector, RequirementsAreSortedByKeyLikeTheRealSelector) {
  auto s = parse_label_selector("z=1,a=2");
  EXPECT_EQ(s.requirements[0].key, "a");
  EXPECT_EQ(s.requirements[0].op, LabelRequirement::Op::Equals);
  EXPECT_EQ(s.requirements[1].key, "z");
}

TEST(LabelSelector, SyntaxErrorsUseApimachineryMessages) {
  EXPECT_EQ(error_of("a b"), "unable to parse requirement: found 'b', expected: in, !=, notin, ==, =, >, <");
  EXPECT_EQ(error_of("a=1,"), "found '', expected: identifier after ','");
  EXPECT_EQ(error_of(",a"), "found ',', expected: !, identifier, or 'end of string'");
  EXPECT_EQ(error_of("a=1)"), "found ')', expected: ',' or 'end of string'");
  EXPECT_EQ(error_of("a in 1"), "unable to parse requirement: found '1' expected: '('");
  EXPECT_EQ(error_of("a in (1"), "unable to parse requirement: found '', expected: ',' or ')'");
  EXPECT_EQ(error_of("a=(1)"), "unable to parse requirement: found '(', expected: identifier");
  EXPECT_EQ(error_of("!=a"), "found '!=', expected: !, identifier, or 'end of string'");
  EXPECT_EQ(error_of("!a=1"), "found '=', expected: ',' or 'end of string'");
}

TEST(LabelSelector, InvalidKeysAndValuesAreRejected) {
  EXPECT_EQ(error_of("-a=1"),
            "unable to parse requirement: <nil>: Invalid value: \"-a\": name part must consist of alphanumeric "
            "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  "
            "or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
  EXPECT_EQ(error_of("a=-x"),
            "unable to parse requirement: values[0][a]: Invalid value: \"-x\": a valid label must be an empty string "
            "or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
            "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
            "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
  EXPECT_EQ(error_of("a>x"),
            "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must "
            "be an integer");
  EXPECT_NE(error_of("Example.com/a=1").find("prefix part a lowercase RFC 1123 subdomain"), std::string::npos);
  EXPECT_NE(error_of(std::string(64, 'a') + "=1").find("name part must be no more than 63 characters"),
            std::string::npos);
  EXPECT_NE(error_of("a/b/c").find("a qualified name must consist"), std::string::npos);
}

TEST(FieldSelector, MatchesDottedFieldsWithAllOperators) {
  const json pod = {{"metadata", {{"name", "p"}, {"namespace", "t"}}},
                    {"spec", {{"hostNetwork", true}}},
                    {"status", {{"phase", "Running"}}}};
  auto fields = supported_field_selectors("", "pods");
  EXPECT_TRUE(parse_field_selector("metadata.name=p,status.phase==Running", fields).matches(pod));
  EXPECT_FALSE(parse_field_selector("status.phase!=Running", fields).matches(pod));
  EXPECT_TRUE(parse_field_selector("spec.hostNetwork=true", fields).matches(pod));
  EXPECT_TRUE(parse_field_selector("spec.nodeName=", fields).matches(pod));  // missing compares as ""
  EXPECT_TRUE(parse_field_selector("", fields).matches(pod));
}

TEST(FieldSelector, EscapedCommasAndEquals) {
  auto fields = supported_field_selectors("", "configmaps");
  auto s = parse_field_selector("metadata.name=a\\,b\\=c", fields);
  ASSERT_EQ(s.requirements.size(), 1u);
  EXPECT_EQ(s.requirements[0].value, "a,b=c");
}

TEST(FieldSelector, UnsupportedFieldsGetTheRealMessages) {
  try {
    parse_field_selector("foo.bar=x", supported_field_selectors("networking.k8s.io", "ingresses"));
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code, 400);
    EXPECT_EQ(e.reason, "BadRequest");
    EXPECT_STREQ(e.what(), "\"foo.bar\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"");
  }
  try {
    parse_field_selector("spec.foo=x", supported_field_selectors("", "pods"));
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_STREQ(e.what(), "field label not supported: spec.foo");
  }
  try {
    parse_field_selector("metadata.name", supported_field_selectors("", "pods"));
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_STREQ(e.what(), "invalid selector: 'metadata.name'; can't understand 'metadata.name'");
  }
}

TEST(FieldSelector, PerResourceFields) {
  auto has = [](const std::vector<std::string>& v, const char* f) { return std::find(v.begin(), v.end(), f) != v.end(); };
  EXPECT_TRUE(has(supported_field_selectors("", "secrets"), "type"));
  EXPECT_TRUE(has(supported_field_selectors("", "events"), "involvedObject.uid"));
  EXPECT_TRUE(has(supported_field_selectors("", "namespaces"), "status.phase"));
  EXPECT_TRUE(has(supported_field_selectors("", "nodes"), "spec.unschedulable"));
  EXPECT_TRUE(has(supported_field_selectors("batch", "jobs"), "status.successful"));
  EXPECT_TRUE(has(supported_field_selectors("apps", "replicasets"), "status.replicas"));
  EXPECT_FALSE(has(supported_field_selectors("apps", "deployments"), "status.replicas"));
  EXPECT_EQ(supported_field_selectors("stable.example.com", "shirts").size(), 2u);
}

}  // namespace
}  // namespace kubelite
