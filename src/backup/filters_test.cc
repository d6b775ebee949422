#include "backup/filters.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace arca::backup {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const ResourceType kPods{"pods", true};
const ResourceType kConfigMaps{"configmaps", true};
const ResourceType kDeployments{"deployments.apps", true};
const ResourceType kNamespaces{"namespaces", false};
const ResourceType kPersistentVolumes{"persistentvolumes", false};
const ResourceType kStorageClasses{"storageclasses.storage.k8s.io", false};
const ResourceType kClusterRoles{"clusterroles.rbac.authorization.k8s.io", false};
const ResourceType kCrds{"customresourcedefinitions.apiextensions.k8s.io", false};

const std::vector<std::string> kExisting{"default", "kube-system", "ns1", "ns2", "app-a", "app-b"};

// A spec as the controller runs it: validated, then defaulted.
CollectionFilters filters_for(api::BackupSpec spec) {
  apply_default_filters(spec);
  return make_collection_filters(spec, kExisting);
}

std::vector<std::string> listed(const CollectionFilters& f) {
  std::vector<std::string> out;
  for (const auto& type : {kPods, kConfigMaps, kDeployments, kNamespaces, kPersistentVolumes, kStorageClasses,
                           kClusterRoles, kCrds}) {
    if (should_list_resource(f, type)) out.push_back(type.group_resource);
  }
  return out;
}

ItemRef item(ResourceType type, std::string ns, std::string name, Labels labels = {}) {
  return {std::move(type), std::move(ns), std::move(name), std::move(labels), false};
}

TEST(DefaultFilters, SpecVector11NoFilters) {
  api::BackupSpec spec;
  apply_default_filters(spec);
  EXPECT_EQ(spec.included_namespaces, std::vector<std::string>{"*"});
  EXPECT_EQ(spec.excluded_namespace_scoped_resources,
            std::vector<std::string>{"volumesnapshots.snapshot.storage.k8s.io"});
  EXPECT_EQ(spec.excluded_cluster_scoped_resources,
            std::vector<std::string>{"volumesnapshotcontents.snapshot.storage.k8s.io"});
  EXPECT_THAT(spec.excluded_resources, IsEmpty());
  // Applying twice changes nothing (the controller may re-run preparation).
  api::BackupSpec again = spec;
  apply_default_filters(again);
  EXPECT_EQ(nlohmann::json(again), nlohmann::json(spec));
}

TEST(DefaultFilters, OldModeExcludesBothSnapshotKindsAndDropsThemFromIncludes) {
  api::BackupSpec spec;
  spec.included_resources = {"pods", "volumesnapshots.snapshot.storage.k8s.io"};
  apply_default_filters(spec);
  EXPECT_EQ(spec.included_resources, std::vector<std::string>{"pods"});
  EXPECT_EQ(spec.excluded_resources, (std::vector<std::string>{"volumesnapshots.snapshot.storage.k8s.io",
                                                               "volumesnapshotcontents.snapshot.storage.k8s.io"}));
  EXPECT_THAT(spec.excluded_cluster_scoped_resources, IsEmpty());
  api::BackupSpec star;
  star.excluded_namespace_scoped_resources = {"*"};
  apply_default_filters(star);
  EXPECT_EQ(star.excluded_namespace_scoped_resources, std::vector<std::string>{"*"});  // "*" already covers it
}

TEST(NamespaceScope, GlobsExpandAgainstExistingNamespaces) {
  auto scope = resolve_namespace_scope({"app-*", "ns1"}, {}, kExisting);
  EXPECT_EQ(scope.filter.includes, (std::vector<std::string>{"app-a", "app-b", "ns1"}));
  EXPECT_EQ(scope.namespaces_to_list(), (std::vector<std::string>{"app-a", "app-b", "ns1"}));
  EXPECT_TRUE(scope.should_include("app-b"));
  EXPECT_FALSE(scope.should_include("app-c"));  // created after expansion: not covered
  EXPECT_THAT(scope.warnings, IsEmpty());
}

TEST(NamespaceScope, PatternMatchingNothingIncludesNoNamespace) {
  auto scope = resolve_namespace_scope({"prod-*"}, {}, kExisting);
  EXPECT_TRUE(scope.includes_nothing);
  EXPECT_FALSE(scope.should_include("ns1"));
  EXPECT_EQ(scope.namespaces_to_list(), std::vector<std::string>{});
  EXPECT_EQ(scope.warnings.size(), 1u);
}

TEST(NamespaceScope, StarListsClusterWideAndExcludesWin) {
  auto scope = resolve_namespace_scope({"*"}, {"kube-*"}, kExisting);
  EXPECT_FALSE(scope.namespaces_to_list().has_value());
  EXPECT_FALSE(scope.should_include("kube-system"));
  EXPECT_TRUE(scope.should_include("brand-new"));  // not expanded: glob matching per item
  auto plain = resolve_namespace_scope({"ns1", "ns2", "gone"}, {"ns2"}, kExisting);
  EXPECT_EQ(plain.namespaces_to_list(), (std::vector<std::string>{"ns1", "gone"}));  // missing names kept verbatim
  EXPECT_EQ(plain.missing_namespaces(kExisting), std::vector<std::string>{"gone"});
  EXPECT_THAT(scope.missing_namespaces(kExisting), IsEmpty());
  auto excluded_by_glob = resolve_namespace_scope({"ns1", "ns2"}, {"ns[2]"}, kExisting);
  EXPECT_EQ(excluded_by_glob.namespaces_to_list(), std::vector<std::string>{"ns1"});
}

TEST(ResourceFilters, SpecVector12SingleNamespaceNewMode) {
  api::BackupSpec spec;
  spec.included_namespaces = {"ns1"};
  auto f = filters_for(spec);
  EXPECT_FALSE(f.old_mode);
  EXPECT_THAT(listed(f), ElementsAre("pods", "configmaps", "deployments.apps", "namespaces"));
  EXPECT_EQ(f.namespaces.namespaces_to_list(), std::vector<std::string>{"ns1"});
  // The PV of a PVC in ns1 arrives as an additional item and is kept.
  EXPECT_TRUE(check_item(f, item(kPersistentVolumes, "", "pv1")).include);
  EXPECT_TRUE(check_item(f, item(kCrds, "", "widgets.example.com")).include);
  EXPECT_TRUE(check_item(f, item(kPods, "ns1", "p1")).include);
  auto other = check_item(f, item(kPods, "ns2", "p2"));
  EXPECT_FALSE(other.include);
  EXPECT_EQ(other.reason, "namespace ns2 is excluded");
  EXPECT_TRUE(should_track_namespace(f, "ns1", {}, true));
  EXPECT_FALSE(should_track_namespace(f, "ns2", {}, true));
  EXPECT_FALSE(should_track_namespace(f, "ns1", {}, false));
}

TEST(ResourceFilters, SpecVector13OldModeWithoutClusterResources) {
  api::BackupSpec spec;
  spec.include_cluster_resources = false;
  auto f = filters_for(spec);
  EXPECT_TRUE(f.old_mode);
  EXPECT_THAT(listed(f), ElementsAre("pods", "configmaps", "deployments.apps"));
  auto pv = check_item(f, item(kPersistentVolumes, "", "pv1"));
  EXPECT_FALSE(pv.include);
  EXPECT_EQ(pv.reason, "resource persistentvolumes is cluster-scoped and excluded");
  EXPECT_FALSE(check_item(f, item(kCrds, "", "widgets.example.com")).include);
  EXPECT_TRUE(resource_explicitly_excluded(f, kCrds));
}

TEST(ResourceFilters, NoFiltersAtAllListsOnlyNamespacedTypesAndNamespaces) {
  // Velero's pkg/util/collections/includes_excludes.go consequence: the controller's default excludes disable the full-cluster branch in new mode.
  auto f = filters_for({});
  EXPECT_THAT(listed(f), ElementsAre("pods", "configmaps", "deployments.apps", "namespaces"));
  EXPECT_TRUE(check_item(f, item(kClusterRoles, "", "admin")).include);  // as an additional item
  EXPECT_FALSE(check_item(f, item({kVolumeSnapshotContentsResource, false}, "", "vsc")).include);
  EXPECT_FALSE(should_list_resource(f, {kVolumeSnapshotsResource, true}));
  // Without the defaults (a raw spec) the full-cluster branch lists cluster-scoped types too.
  auto raw = make_collection_filters({}, kExisting);
  EXPECT_THAT(listed(raw), ElementsAre("pods", "configmaps", "deployments.apps", "namespaces", "persistentvolumes",
                                       "storageclasses.storage.k8s.io", "clusterroles.rbac.authorization.k8s.io",
                                       "customresourcedefinitions.apiextensions.k8s.io"));
}

TEST(ResourceFilters, OldModeFullClusterAndAutoClusterResources) {
  api::BackupSpec everything;
  everything.included_resources = {"*"};
  auto f = filters_for(everything);
  EXPECT_THAT(listed(f), ElementsAre("pods", "configmaps", "deployments.apps", "namespaces", "persistentvolumes",
                                     "storageclasses.storage.k8s.io", "clusterroles.rbac.authorization.k8s.io",
                                     "customresourcedefinitions.apiextensions.k8s.io"));
  api::BackupSpec some_namespaces;
  some_namespaces.included_namespaces = {"ns1"};
  some_namespaces.included_resources = {"*"};
  auto g = filters_for(some_namespaces);
  EXPECT_THAT(listed(g), ElementsAre("pods", "configmaps", "deployments.apps", "namespaces"));
  EXPECT_TRUE(check_item(g, item(kPersistentVolumes, "", "pv1")).include);
  api::BackupSpec pods_only;
  pods_only.included_namespaces = {"ns1"};
  pods_only.included_resources = {"pods"};
  auto h = filters_for(pods_only);
  EXPECT_THAT(listed(h), ElementsAre("pods"));
  EXPECT_TRUE(resource_explicitly_excluded(h, kPersistentVolumes));  // rejected by the include list
  EXPECT_FALSE(check_item(h, item(kConfigMaps, "ns1", "c")).include);
  api::BackupSpec with_cluster;
  with_cluster.included_namespaces = {"ns1"};
  with_cluster.include_cluster_resources = true;
  with_cluster.excluded_resources = {"storageclasses.storage.k8s.io"};
  auto k = filters_for(with_cluster);
  EXPECT_THAT(listed(k), ElementsAre("pods", "configmaps", "deployments.apps", "namespaces", "persistentvolumes",
                                     "clusterroles.rbac.authorization.k8s.io",
                                     "customresourcedefinitions.apiextensions.k8s.io"));
  EXPECT_FALSE(check_item(k, item(kStorageClasses, "", "standard")).include);
}

TEST(ResourceFilters, NewModeScopedLists) {
  api::BackupSpec spec;
  spec.included_cluster_scoped_resources = {"*"};
  spec.excluded_namespace_scoped_resources = {"configmaps", "*.apps"};
  auto f = filters_for(spec);
  EXPECT_THAT(listed(f), ElementsAre("pods", "namespaces", "persistentvolumes", "storageclasses.storage.k8s.io",
                                     "clusterroles.rbac.authorization.k8s.io",
                                     "customresourcedefinitions.apiextensions.k8s.io"));
  EXPECT_FALSE(check_item(f, item(kDeployments, "ns1", "d")).include);
  api::BackupSpec picked;
  picked.included_cluster_scoped_resources = {"storageclasses.storage.k8s.io"};
  picked.included_namespace_scoped_resources = {"pods"};
  auto g = filters_for(picked);
  EXPECT_THAT(listed(g), ElementsAre("pods", "namespaces", "storageclasses.storage.k8s.io"));
  api::BackupSpec no_cluster;
  no_cluster.excluded_cluster_scoped_resources = {"*"};
  auto h = filters_for(no_cluster);
  EXPECT_THAT(listed(h), ElementsAre("pods", "configmaps", "deployments.apps"));
  EXPECT_FALSE(check_item(h, item(kPersistentVolumes, "", "pv1")).include);
  EXPECT_TRUE(check_item(h, item(kNamespaces, "", "ns1")).include);  // Namespace objects are never dropped here
}

TEST(ItemCheck, SpecVector14ExcludeLabelMustIncludeAndDeletion) {
  auto f = filters_for({});
  auto labelled = check_item(f, item(kConfigMaps, "ns1", "c", {{"velero.io/exclude-from-backup", "true"}}));
  EXPECT_FALSE(labelled.include);
  EXPECT_EQ(labelled.reason, "item has label velero.io/exclude-from-backup=true");
  EXPECT_TRUE(check_item(f, item(kConfigMaps, "ns1", "c", {{"velero.io/exclude-from-backup", "false"}})).include);
  EXPECT_TRUE(check_item(f, item(kConfigMaps, "ns1", "c", {{"velero.io/exclude-from-backup", "true"}}), true).include);
  ItemRef deleting = item(kConfigMaps, "ns1", "c");
  deleting.being_deleted = true;
  EXPECT_FALSE(check_item(f, deleting, true).include);
  EXPECT_EQ(check_item(f, deleting, true).reason, "item is being deleted");
}

TEST(LabelSelectors, ListQueriesAndMatching) {
  auto none = filters_for({});
  EXPECT_THAT(list_label_selectors(none), ElementsAre(""));
  EXPECT_TRUE(matches_label_selectors(none, {}));
  api::BackupSpec single;
  single.label_selector = parse_label_selector("app=web,tier!=db");
  auto s = filters_for(single);
  EXPECT_THAT(list_label_selectors(s), ElementsAre("app=web,tier notin (db)"));
  EXPECT_TRUE(matches_label_selectors(s, {{"app", "web"}}));
  EXPECT_FALSE(matches_label_selectors(s, {{"app", "web"}, {"tier", "db"}}));
  api::BackupSpec any;
  any.or_label_selectors = {parse_label_selector("a=1"), parse_label_selector("b in (2,3)")};
  auto o = filters_for(any);
  EXPECT_THAT(list_label_selectors(o), ElementsAre("a=1", "b in (2,3)"));
  EXPECT_TRUE(matches_label_selectors(o, {{"b", "3"}}));
  EXPECT_FALSE(matches_label_selectors(o, {{"a", "2"}}));
}

TEST(NamespaceTracking, SelectorsWithDefaultAndExplicitNamespaceFilters) {
  api::BackupSpec all;
  all.label_selector = parse_label_selector("app=web");
  auto f = filters_for(all);
  EXPECT_TRUE(should_track_namespace(f, "ns1", {{"app", "web"}}, true));
  EXPECT_FALSE(should_track_namespace(f, "ns2", {}, true));  // include-everything + selector: selector decides
  api::BackupSpec named = all;
  named.included_namespaces = {"ns2"};
  auto g = filters_for(named);
  EXPECT_TRUE(should_track_namespace(g, "ns2", {}, true));
  EXPECT_TRUE(should_track_namespace(g, "ns1", {{"app", "web"}}, true));
  EXPECT_FALSE(should_track_namespace(g, "ns1", {}, true));
  auto none = filters_for({});
  EXPECT_TRUE(should_track_namespace(none, "anything", {}, true));
}

}  // namespace
}  // namespace arca::backup
