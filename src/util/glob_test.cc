#include "util/glob.h"

#include <gtest/gtest.h>

namespace arca {
namespace {

TEST(Glob, StarMatchesAnyRunIncludingEmptyAndDots) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("*", "kube-system"));
  EXPECT_TRUE(glob_match("kube-*", "kube-system"));
  EXPECT_TRUE(glob_match("kube-*", "kube-"));
  EXPECT_FALSE(glob_match("kube-*", "kube"));
  EXPECT_TRUE(glob_match("*.apps", "deployments.apps"));
  EXPECT_TRUE(glob_match("*-prod-*", "team-a-prod-1"));
  EXPECT_FALSE(glob_match("*-prod-*", "team-a-prod"));
  EXPECT_TRUE(glob_match("a*b*c", "aXXbYYbZc"));
}

TEST(Glob, QuestionMarkMatchesExactlyOneCharacter) {
  EXPECT_TRUE(glob_match("ns?", "ns1"));
  EXPECT_FALSE(glob_match("ns?", "ns"));
  EXPECT_FALSE(glob_match("ns?", "ns12"));
}

TEST(Glob, BracketClassesRangesAndNegation) {
  EXPECT_TRUE(glob_match("ns[12]", "ns1"));
  EXPECT_FALSE(glob_match("ns[12]", "ns3"));
  EXPECT_TRUE(glob_match("ns[0-9]", "ns7"));
  EXPECT_FALSE(glob_match("ns[0-9]", "nsa"));
  EXPECT_TRUE(glob_match("ns[!0-9]", "nsa"));
  EXPECT_FALSE(glob_match("ns[!0-9]", "ns5"));
  EXPECT_FALSE(glob_match("ns[0-9", "ns5"));  // unterminated class never matches
}

TEST(Glob, LiteralWithoutMetacharactersIsExact) {
  EXPECT_TRUE(glob_match("pods", "pods"));
  EXPECT_FALSE(glob_match("pods", "pod"));
  EXPECT_TRUE(has_glob_chars("a*"));
  EXPECT_TRUE(has_glob_chars("a[b]"));
  EXPECT_FALSE(has_glob_chars("plain-name"));
}

}  // namespace
}  // namespace arca
