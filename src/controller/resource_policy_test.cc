#include "controller/resource_policy.h"

#include <gtest/gtest.h>

using namespace arca;
using namespace arca::controller;

namespace {

std::string error_of(const std::string& yaml) {
  try {
    parse_resource_policies({{"policy", yaml}});
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ResourcePolicies, ParsesVolumePoliciesAndIncludeExclude) {
  auto p = parse_resource_policies({{"policy", R"(version: v1
volumePolicies:
- conditions:
    capacity: "0,100Gi"
    storageClass: [gp2]
  action:
    type: skip
- conditions:
    nfs: {server: 192.168.0.1}
  action:
    type: fs-backup
includeExcludePolicy:
  includedClusterScopedResources: [persistentvolumes]
  excludedNamespaceScopedResources: [secrets, configmaps]
)"}});
  EXPECT_EQ(p.version, "v1");
  ASSERT_EQ(p.volume_policies.size(), 2u);
  EXPECT_EQ(p.volume_policies[0].action, "skip");
  EXPECT_EQ(p.volume_policies[0].conditions["storageClass"][0], "gp2");
  EXPECT_EQ(p.volume_policies[1].action, "fs-backup");
  ASSERT_TRUE(p.include_exclude);
  EXPECT_EQ(p.include_exclude->included_cluster_scoped_resources, std::vector<std::string>{"persistentvolumes"});
  EXPECT_EQ(p.include_exclude->excluded_namespace_scoped_resources,
            (std::vector<std::string>{"secrets", "configmaps"}));
}

// Velero decodes strictly and validates: each of these is one line naming the problem.
TEST(ResourcePolicies, RejectsWhatVeleroRejects) {
  EXPECT_EQ(error_of("version: v2\n"), "incompatible version number v2 with supported version v1");
  EXPECT_EQ(error_of("{}"), "incompatible version number  with supported version v1");
  EXPECT_EQ(error_of("version: v1\nvolumePolicy: []\n"), "field volumePolicy not found in the policy");
  EXPECT_EQ(error_of("version: v1\nvolumePolicies:\n- action: {type: copy}\n"), "invalid action type copy");
  EXPECT_EQ(error_of("version: v1\nvolumePolicies:\n- conditions: {size: 1}\n  action: {type: skip}\n"),
            "field size not found in volumePolicies[0].conditions");
  EXPECT_EQ(error_of("version: v1\nvolumePolicies:\n- conditions: {capacity: \"10Gi\"}\n  action: {type: skip}\n"),
            "wrong format of Capacity 10Gi");
  EXPECT_EQ(error_of("version: v1\nincludeExcludePolicy: {includedClusterScopedResources: ['*']}\n"),
            "cannot use '*' in includes or excludes filters in the policy");
  EXPECT_EQ(error_of("version: v1\nincludeExcludePolicy: {includedNamespaceScopedResources: [pods], "
                     "excludedNamespaceScopedResources: [pods]}\n"),
            "excludes list cannot contain an item in the includes list: pods");
  EXPECT_NE(error_of("version: [v1\n"), "");
  EXPECT_NE(error_of(""), "");  // an empty document has no version either
  EXPECT_THROW(parse_resource_policies({}), std::invalid_argument);
  EXPECT_EQ(error_of("version: v1\nvolumePolicies:\n- conditions: {capacity: \",5Gi\"}\n  action: {type: snapshot}\n"),
            "");
}

// What the Backup's own lists say wins; the policy fills in the rest.
TEST(ResourcePolicies, SpecWinsOverThePolicy) {
  IncludeExcludePolicy policy;
  policy.included_namespace_scoped_resources = {"pods", "configmaps"};
  policy.excluded_namespace_scoped_resources = {"secrets", "services"};
  policy.included_cluster_scoped_resources = {"persistentvolumes"};
  api::BackupSpec spec;
  spec.excluded_namespace_scoped_resources = {"configmaps"};
  spec.included_namespace_scoped_resources = {"secrets"};
  apply_include_exclude_policy(spec, policy);
  EXPECT_EQ(spec.included_namespace_scoped_resources, (std::vector<std::string>{"secrets", "pods"}));
  EXPECT_EQ(spec.excluded_namespace_scoped_resources, (std::vector<std::string>{"configmaps", "services"}));
  EXPECT_EQ(spec.included_cluster_scoped_resources, std::vector<std::string>{"persistentvolumes"});

  api::BackupSpec everything;
  everything.included_namespace_scoped_resources = {"*"};
  apply_include_exclude_policy(everything, policy);  // `*` matches every type: the policy adds nothing there
  EXPECT_EQ(everything.included_namespace_scoped_resources, std::vector<std::string>{"*"});
  EXPECT_TRUE(everything.excluded_namespace_scoped_resources.empty());
}
