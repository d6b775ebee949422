#include "util/includes_excludes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace arca {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(IncludesExcludes, EmptyIncludesMeansEverything) {
  IncludesExcludes ie;
  EXPECT_TRUE(ie.should_include("anything"));
  EXPECT_TRUE(ie.includes_everything());
}

TEST(IncludesExcludes, StarIncludesAllButExcludesWin) {
  IncludesExcludes ie{{"*"}, {"kube-*"}};
  EXPECT_TRUE(ie.should_include("default"));
  EXPECT_FALSE(ie.should_include("kube-system"));
  EXPECT_FALSE(ie.includes_everything());
  EXPECT_TRUE((IncludesExcludes{{"*"}, {}}.includes_everything()));
}

TEST(IncludesExcludes, ExplicitIncludesWithGlobs) {
  IncludesExcludes ie{{"app-*", "db"}, {"app-test"}};
  EXPECT_TRUE(ie.should_include("app-prod"));
  EXPECT_TRUE(ie.should_include("db"));
  EXPECT_FALSE(ie.should_include("app-test"));
  EXPECT_FALSE(ie.should_include("other"));
  EXPECT_TRUE(ie.excluded("app-test"));
  EXPECT_FALSE(ie.includes_everything());
}

TEST(ExpandNamespaceWildcards, OnlyWhenAGlobIsUsedWithoutABareStar) {
  const std::vector<std::string> existing{"app-a", "app-b", "db", "kube-system"};
  auto expanded = expand_namespace_wildcards({{"app-*", "db", "gone"}, {"app-[b]"}}, existing);
  ASSERT_TRUE(expanded.has_value());
  EXPECT_EQ(expanded->includes, (std::vector<std::string>{"app-a", "app-b", "db", "gone"}));
  EXPECT_EQ(expanded->excludes, std::vector<std::string>{"app-b"});
  EXPECT_THAT(expand_namespace_wildcards({{"nothing-*"}, {}}, existing)->includes, IsEmpty());
  EXPECT_FALSE(expand_namespace_wildcards({{"*"}, {"kube-*"}}, existing).has_value());
  EXPECT_FALSE(expand_namespace_wildcards({{}, {"kube-*"}}, existing).has_value());
  EXPECT_FALSE(expand_namespace_wildcards({{"db"}, {"x"}}, existing).has_value());
}

TEST(ValidateIncludesExcludes, OldRules) {
  EXPECT_THAT(validate_includes_excludes({"pods"}, {"secrets"}), IsEmpty());
  EXPECT_THAT(validate_includes_excludes({"*", "pods"}, {}),
              ElementsAre("includes list must either contain '*' only, or a non-empty list of items"));
  // As Velero validates: excludedResources ["*"] in old mode is invalid.
  EXPECT_THAT(validate_includes_excludes({}, {"*"}), ElementsAre("excludes list cannot contain '*'"));
  EXPECT_THAT(validate_includes_excludes({"pods", "secrets"}, {"secrets"}),
              ElementsAre("excludes list cannot contain an item in the includes list: secrets"));
}

TEST(ValidateIncludesExcludes, ScopedRules) {
  EXPECT_THAT(validate_scoped_includes_excludes({}, {"*"}), IsEmpty());
  EXPECT_THAT(validate_scoped_includes_excludes({"*"}, {}), IsEmpty());
  // As Velero validates: excludedClusterScopedResources ["*"] with an include is invalid.
  EXPECT_THAT(validate_scoped_includes_excludes({"persistentvolumes"}, {"*"}),
              ElementsAre("when exclude is '*', include cannot have value"));
  EXPECT_THAT(validate_scoped_includes_excludes({}, {"*", "pods"}),
              ElementsAre("excludes list must either contain '*' only, or a non-empty list of items"));
}

TEST(ValidateIncludesExcludes, NamespaceNamesAndPatterns) {
  EXPECT_THAT(validate_namespace_includes_excludes({"ns1", "app-*", "ns[0-9]", "n?"}, {"kube-*"}), IsEmpty());
  EXPECT_THAT(validate_namespace_includes_excludes({"Bad_NS"}, {}),
              ElementsAre(::testing::HasSubstr("invalid namespace \"Bad_NS\": a lowercase RFC 1123 label")));
  EXPECT_THAT(validate_namespace_includes_excludes({"a**"}, {}),
              ElementsAre("invalid namespace \"a**\": wildcard pattern cannot contain consecutive '*'"));
  EXPECT_THAT(validate_namespace_includes_excludes({"{a,b}"}, {}),
              ElementsAre(::testing::HasSubstr("unsupported character '{'")));
  EXPECT_THAT(validate_namespace_includes_excludes({"ns[]"}, {}),
              ElementsAre(::testing::HasSubstr("empty brackets")));
  EXPECT_THAT(validate_namespace_includes_excludes({"ns[1"}, {}), ElementsAre(::testing::HasSubstr("unmatched '['")));
  EXPECT_THAT(validate_namespace_includes_excludes({"*"}, {"*"}), ElementsAre("excludes list cannot contain '*'",
                                                                          "excludes list cannot contain an item in "
                                                                          "the includes list: *"));
}

}  // namespace
}  // namespace arca
