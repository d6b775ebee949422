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

// velero-backup.md §12 vectors 10 and 11.
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

TEST(ResolveLocationName, DefaultFlagWinsOverServerDefault) {
  std::vector<api::BackupStorageLocation> all(2);
  all[0].metadata.name = "a";
  all[1].metadata.name = "b";
  EXPECT_EQ(resolve_location_name("", all, "default"), "default");
  all[1].spec.is_default = true;
  EXPECT_EQ(resolve_location_name("", all, "default"), "b");
  EXPECT_EQ(resolve_location_name("a", all, "default"), "a");
}
