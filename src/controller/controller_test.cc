#include <gtest/gtest.h>

#include <thread>

#include "controller/backup_controller.h"
#include "controller/work_queue.h"

using namespace arca;
using namespace arca::controller;
using namespace std::chrono_literals;

TEST(WorkQueue, KeyQueuedOnceAndNeverTwiceInFlight) {
  WorkQueue q;
  q.add("a");
  q.add("a");
  q.add("b");
  std::string key;
  ASSERT_TRUE(q.get(key));
  EXPECT_EQ(key, "a");
  q.add("a");  // re-added while processing: comes back after done()
  ASSERT_TRUE(q.get(key));
  EXPECT_EQ(key, "b");
  q.done("b");
  q.done("a");
  ASSERT_TRUE(q.get(key));
  EXPECT_EQ(key, "a");
  q.shutdown();
  EXPECT_FALSE(q.get(key));
}

TEST(WorkQueue, BackoffDoublesAndForgetResets) {
  WorkQueue q(Backoff{10ms, 1000ms});
  auto start = std::chrono::steady_clock::now();
  q.add_rate_limited("k");  // 10ms
  std::string key;
  ASSERT_TRUE(q.get(key));
  q.done(key);
  q.add_rate_limited("k");  // 20ms
  ASSERT_TRUE(q.get(key));
  q.done(key);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
  EXPECT_EQ(q.failures("k"), 2);
  q.forget("k");
  EXPECT_EQ(q.failures("k"), 0);
}

namespace {

api::BackupStorageLocation available_location() {
  api::BackupStorageLocation l;
  l.metadata.name = "default";
  l.status.phase = api::LocationPhase::Available;
  return l;
}

PreparationInputs inputs(const api::BackupStorageLocation* location) {
  PreparationInputs in;
  in.now = parse_rfc3339("2024-01-02T03:04:05Z");
  in.location = location;
  in.location_name = "default";
  in.resource_known = [](const std::string& name) { return name == "pods" || name == "storageclasses"; };
  return in;
}

}  // namespace

// As Velero's backup controller names and validates backups.
TEST(PrepareBackup, FillsDefaultsExpirationAndAutoExcludes) {
  auto location = available_location();
  api::Backup b;
  b.metadata.name = "b1";
  auto errors = prepare_backup(b, inputs(&location));
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(format_duration(*b.spec.ttl), "720h0m0s");
  EXPECT_EQ(format_rfc3339(*b.status.expiration), "2024-02-01T03:04:05Z");
  EXPECT_EQ(b.status.format_version, "1.1.0");
  EXPECT_EQ(b.status.version, 1);
  EXPECT_EQ(b.metadata.labels["velero.io/storage-location"], "default");
  EXPECT_EQ(b.spec.included_namespaces, std::vector<std::string>{"*"});
  EXPECT_EQ(b.spec.excluded_namespace_scoped_resources,
            std::vector<std::string>{"volumesnapshots.snapshot.storage.k8s.io"});
  EXPECT_EQ(b.spec.excluded_cluster_scoped_resources,
            std::vector<std::string>{"volumesnapshotcontents.snapshot.storage.k8s.io"});
}

// Vectors 7, 8, 9 and the bad-input cases: each is a validation error.
TEST(PrepareBackup, RejectsBadSpecs) {
  auto location = available_location();
  auto fails = [&](const std::function<void(api::BackupSpec&)>& change, const api::BackupStorageLocation* l) {
    api::Backup b;
    change(b.spec);
    return !prepare_backup(b, inputs(l)).empty();
  };
  EXPECT_TRUE(fails([](auto& s) { s.label_selector = parse_label_selector("a=b"); s.or_label_selectors = {parse_label_selector("c=d")}; }, &location));
  EXPECT_TRUE(fails([](auto& s) { s.included_resources = {"pods"}; s.included_cluster_scoped_resources = {"storageclasses"}; }, &location));
  EXPECT_TRUE(fails([](auto& s) { s.excluded_resources = {"*"}; }, &location));
  EXPECT_TRUE(fails([](auto& s) { s.excluded_cluster_scoped_resources = {"*"}; s.included_cluster_scoped_resources = {"storageclasses"}; }, &location));
  EXPECT_TRUE(fails([](auto& s) { s.included_resources = {"nosuchthings"}; }, &location));
  EXPECT_TRUE(fails([](auto&) {}, nullptr));
  auto unavailable = location;
  unavailable.status.phase = api::LocationPhase::Unavailable;
  EXPECT_TRUE(fails([](auto&) {}, &unavailable));
  auto read_only = location;
  read_only.spec.access_mode = api::AccessMode::ReadOnly;
  EXPECT_TRUE(fails([](auto&) {}, &read_only));
  EXPECT_FALSE(fails([](auto& s) { s.included_resources = {"pods"}; }, &location));
}

TEST(PrepareBackup, AppendsNamespacesExcludedByLabel) {
  auto location = available_location();
  api::Backup b;
  b.spec.excluded_namespaces = {"kube-system"};
  auto in = inputs(&location);
  in.namespaces_excluded_by_label = {"secret-ns", "kube-system"};
  EXPECT_TRUE(prepare_backup(b, in).empty());
  EXPECT_EQ(b.spec.excluded_namespaces, (std::vector<std::string>{"kube-system", "secret-ns"}));
}

// Velero adds the labelled namespaces before validating, so including one by name is a conflict, not a backup
// that silently skips it.
TEST(PrepareBackup, IncludingANamespaceExcludedByLabelFailsValidation) {
  auto location = available_location();
  api::Backup b;
  b.spec.included_namespaces = {"app", "secret-ns"};
  auto in = inputs(&location);
  in.namespaces_excluded_by_label = {"secret-ns"};
  auto errors = prepare_backup(b, in);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("excludes list cannot contain an item in the includes list: secret-ns"), std::string::npos)
      << errors[0];
}

TEST(ResolveLocationName, DefaultFlagWinsOverServerDefault) {
  std::vector<api::BackupStorageLocation> all(2);
  all[0].metadata.name = "a";
  all[1].metadata.name = "b";
  EXPECT_EQ(resolve_location_name("", all, "default"), "default");
  all[1].spec.is_default = true;
  EXPECT_EQ(resolve_location_name("", all, "default"), "b");
  EXPECT_EQ(resolve_location_name("a", all, "default"), "a");
}

// Velero's pkg/controller/backup_controller.go prepareBackupRequest step 5: the source cluster's version and the resource timeout are recorded as annotations.
TEST(PrepareBackup, RecordsSourceClusterAnnotations) {
  auto location = available_location();
  api::Backup b;
  auto in = inputs(&location);
  in.cluster_version = {"v1.31.0", "1", "31"};
  ASSERT_TRUE(prepare_backup(b, in).empty());
  EXPECT_EQ(b.metadata.annotations["velero.io/source-cluster-k8s-gitversion"], "v1.31.0");
  EXPECT_EQ(b.metadata.annotations["velero.io/source-cluster-k8s-major-version"], "1");
  EXPECT_EQ(b.metadata.annotations["velero.io/source-cluster-k8s-minor-version"], "31");
  EXPECT_EQ(b.metadata.annotations["velero.io/resource-timeout"], "10m0s");
}

namespace {

api::VolumeSnapshotLocation vsl(const std::string& name, const std::string& provider) {
  api::VolumeSnapshotLocation l;
  l.metadata.name = name;
  l.spec.provider = provider;
  return l;
}

}  // namespace

// Velero's pkg/controller/backup_controller.go prepareBackupRequest step 4: one VSL per provider, named ones first, else the only one, else the server default.
TEST(ResolveSnapshotLocations, OnePerProvider) {
  std::vector<api::VolumeSnapshotLocation> all = {vsl("aws-east", "aws"), vsl("aws-west", "aws"), vsl("gcp", "gcp")};
  api::BackupSpec spec;
  spec.volume_snapshot_locations = {"aws-west"};
  EXPECT_TRUE(resolve_snapshot_locations(spec, all, {}).empty());
  EXPECT_EQ(spec.volume_snapshot_locations, (std::vector<std::string>{"aws-west", "gcp"}));

  api::BackupSpec unnamed;
  auto errors = resolve_snapshot_locations(unnamed, all, {});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("provider aws has more than one possible volume snapshot location"), std::string::npos);
  EXPECT_TRUE(resolve_snapshot_locations(unnamed, all, {{"aws", "aws-east"}}).empty());
  EXPECT_EQ(unnamed.volume_snapshot_locations, (std::vector<std::string>{"aws-east", "gcp"}));

  api::BackupSpec two_for_aws;
  two_for_aws.volume_snapshot_locations = {"aws-east", "aws-west"};
  errors = resolve_snapshot_locations(two_for_aws, all, {});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("more than one VolumeSnapshotLocation name specified for provider aws"), std::string::npos);

  api::BackupSpec missing;
  missing.volume_snapshot_locations = {"nowhere"};
  errors = resolve_snapshot_locations(missing, all, {});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("volumesnapshotlocations.velero.io \"nowhere\" not found"), std::string::npos);

  // snapshotVolumes=false: nothing to validate, the list is cleared.
  missing.snapshot_volumes = false;
  EXPECT_TRUE(resolve_snapshot_locations(missing, all, {}).empty());
  EXPECT_TRUE(missing.volume_snapshot_locations.empty());
}

TEST(PrepareBackup, UnknownSnapshotLocationFailsValidation) {
  auto location = available_location();
  api::Backup b;
  b.spec.volume_snapshot_locations = {"nowhere"};
  auto errors = prepare_backup(b, inputs(&location));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("nowhere"), std::string::npos);
}

// Velero's pkg/controller/backup_controller.go prepareBackupRequest step 10: the resource policy ConfigMap must exist and parse; its include/exclude policy needs the
// new filters.
TEST(PrepareBackup, ResourcePolicyMustExistAndParse) {
  auto location = available_location();
  std::map<std::string, std::map<std::string, std::string>> config_maps = {
      {"good",
       {{"policy.yaml", "version: v1\nincludeExcludePolicy:\n  excludedNamespaceScopedResources: [secrets]\n"}}},
      {"bad-version", {{"p", "version: v2\n"}}},
      {"two-keys", {{"a", "version: v1\n"}, {"b", "version: v1\n"}}},
  };
  auto run = [&](const std::string& name, const std::function<void(api::BackupSpec&)>& change,
                 std::optional<ResourcePolicies>* loaded = nullptr) {
    api::Backup b;
    b.metadata.namespace_ = "velero";
    b.spec.resource_policy = api::TypedLocalObjectReference{"", "ConfigMap", name, {}};
    change(b.spec);
    auto in = inputs(&location);
    in.config_map_data = [&](const std::string& n) -> std::optional<std::map<std::string, std::string>> {
      if (!config_maps.count(n)) return std::nullopt;
      return config_maps.at(n);
    };
    return prepare_backup(b, in, loaded);
  };
  std::optional<ResourcePolicies> loaded;
  EXPECT_TRUE(run("good", [](auto&) {}, &loaded).empty());
  ASSERT_TRUE(loaded && loaded->include_exclude);
  EXPECT_EQ(loaded->include_exclude->excluded_namespace_scoped_resources, std::vector<std::string>{"secrets"});

  auto errors = run("missing", [](auto&) {});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0],
            "failed to get resource policies velero/missing configmap with err configmaps \"missing\" not found");
  errors = run("bad-version", [](auto&) {});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0],
            "resource policies velero/bad-version: incompatible version number v2 with supported version v1");
  EXPECT_EQ(run("two-keys", [](auto&) {}).size(), 1u);
  EXPECT_EQ(run("good", [](auto& s) { s.included_resources = {"pods"}; }).size(), 1u);
  // Another kind is not a resource policy Velero loads.
  EXPECT_TRUE(run("missing", [](auto& s) { s.resource_policy->kind = "Secret"; }).empty());
}
