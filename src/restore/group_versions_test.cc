// The API group version choice of EnableAPIGroupVersions (Velero's pkg/restore/prioritize_group_version.go): Kubernetes' version order, the
// user's ConfigMap lines, and each rule of the choice.
#include "restore/group_versions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace arca::restore {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(KubeVersionOrder, GaThenBetaThenAlphaThenOthersAlphabetically) {
  std::vector<std::string> versions = {"v1alpha1", "foo", "v2", "v1", "v1beta2", "v1beta1", "bar",
                                       "v10",      "v2beta1", "v1alpha10", "v1beta", "v3alpha1"};
  sort_by_kube_priority(versions);
  EXPECT_THAT(versions, ElementsAre("v10", "v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v3alpha1", "v1alpha10",
                                    "v1alpha1", "bar", "foo", "v1beta"));
  EXPECT_LT(compare_kube_versions("v2", "v1"), 0);
  EXPECT_GT(compare_kube_versions("v1beta1", "v1"), 0);
  EXPECT_EQ(compare_kube_versions("v1", "v1"), 0);
}

TEST(VersionPriorities, LinesWithSpacesAndEmptyLinesAreRead) {
  std::vector<std::string> rejected;
  auto priorities = parse_version_priorities(
      " rockbands.music.example.io = v2beta1, v2beta2 \n\n   \norchestras.music.example.io=v2,v3alpha1\n", rejected);
  EXPECT_TRUE(rejected.empty());
  EXPECT_THAT(priorities["rockbands.music.example.io"], ElementsAre("v2beta1", "v2beta2"));
  EXPECT_THAT(priorities["orchestras.music.example.io"], ElementsAre("v2", "v3alpha1"));
  EXPECT_EQ(priorities.size(), 2u);
}

TEST(VersionPriorities, MalformedLinesAreSkippedOneLineEach) {
  std::vector<std::string> rejected;
  auto priorities = parse_version_priorities(
      "a.example.io=v1=v2\n  no equals sign \n=v1\nb.example.io=\nc.example.io=v1,,v2,\n", rejected);
  EXPECT_THAT(priorities, ::testing::SizeIs(1));
  EXPECT_THAT(priorities["c.example.io"], ElementsAre("v1", "v2"));
  ASSERT_EQ(rejected.size(), 4u);
  EXPECT_THAT(rejected[0], HasSubstr("\"a.example.io=v1=v2\": it must have exactly one '='"));
  EXPECT_THAT(rejected[1], HasSubstr("\"no equals sign\": it must have exactly one '='"));
  EXPECT_THAT(rejected[2], HasSubstr("\"=v1\": it needs a resource.group before '='"));
  EXPECT_THAT(rejected[3], HasSubstr("\"b.example.io=\""));
}

// The backup holds rockbands in v1 (preferred there), v2beta1 and v2beta2.
const SourceVersions kSource{"v1", {"v1", "v2beta1", "v2beta2"}};
const std::string kRockbands = "rockbands.music.example.io";

TEST(ChooseVersion, UserPriorityFirstVersionBothSidesHave) {
  kube::ApiGroup target{"music.example.io", {"v2", "v2beta2", "v2beta1", "v1"}};
  // v3 is in neither, v2 only in the target: v2beta1 is the first both have.
  VersionPriorities user{{kRockbands, {"v3", "v2", "v2beta1", "v2beta2"}}};
  auto chosen = choose_version(kRockbands, kSource, &target, user);
  EXPECT_EQ(chosen.rule, VersionRule::user_priority);
  EXPECT_EQ(chosen.version, "v2beta1");
  EXPECT_FALSE(chosen.source_preferred);
  // The user's version may be the backup's preferred one: then the unversioned items are read.
  chosen = choose_version(kRockbands, kSource, &target, {{kRockbands, {"v1"}}});
  EXPECT_EQ(chosen.rule, VersionRule::user_priority);
  EXPECT_TRUE(chosen.source_preferred);
  // Priorities of another resource do not apply.
  EXPECT_NE(choose_version(kRockbands, kSource, &target, {{"other.music.example.io", {"v2beta1"}}}).rule,
            VersionRule::user_priority);
}

TEST(ChooseVersion, TargetPreferredWhenTheBackupHasIt) {
  kube::ApiGroup target{"music.example.io", {"v2beta2", "v1"}};
  auto chosen = choose_version(kRockbands, kSource, &target, {});
  EXPECT_EQ(chosen.rule, VersionRule::target_preferred);
  EXPECT_EQ(chosen.version, "v2beta2");
  EXPECT_FALSE(chosen.source_preferred);
  // Both sides prefer the same version.
  kube::ApiGroup same{"music.example.io", {"v1", "v2beta2"}};
  chosen = choose_version(kRockbands, kSource, &same, {});
  EXPECT_EQ(chosen.rule, VersionRule::target_preferred);
  EXPECT_TRUE(chosen.source_preferred);
}

TEST(ChooseVersion, SourcePreferredWhenTheTargetServesIt) {
  kube::ApiGroup target{"music.example.io", {"v3", "v2beta1", "v1"}};
  auto chosen = choose_version(kRockbands, kSource, &target, {});
  EXPECT_EQ(chosen.rule, VersionRule::source_preferred);
  EXPECT_EQ(chosen.version, "v1");
  EXPECT_TRUE(chosen.source_preferred);
}

TEST(ChooseVersion, CommonNonPreferredInTheTargetsVersionOrder) {
  // Target serves v2beta1 and v2beta2 besides its preferred v3: v2beta2 ranks higher.
  kube::ApiGroup target{"music.example.io", {"v3", "v2beta1", "v2beta2"}};
  auto chosen = choose_version(kRockbands, kSource, &target, {});
  EXPECT_EQ(chosen.rule, VersionRule::common_non_preferred);
  EXPECT_EQ(chosen.version, "v2beta2");
  EXPECT_FALSE(chosen.source_preferred);
}

TEST(ChooseVersion, BackupsPreferredWhenNothingIsCommon) {
  kube::ApiGroup target{"music.example.io", {"v3", "v2"}};
  auto chosen = choose_version(kRockbands, kSource, &target, {{kRockbands, {"v3"}}});
  EXPECT_EQ(chosen.rule, VersionRule::fallback);
  EXPECT_EQ(chosen.version, "v1");
  EXPECT_TRUE(chosen.source_preferred);
}

TEST(ChooseVersion, GroupTheTargetDoesNotServe) {
  auto chosen = choose_version(kRockbands, kSource, nullptr, {{kRockbands, {"v2beta1"}}});
  EXPECT_EQ(chosen.rule, VersionRule::group_not_served);
  EXPECT_EQ(chosen.version, "v1");
  EXPECT_TRUE(chosen.source_preferred);
}

}  // namespace
}  // namespace arca::restore
