// The restore engine through the fault-injecting proxy in front of kubelite: creates refused with 5xx, creates
// applied whose answers are lost, a Namespace create refused. Every object must end restored exactly once,
// with no error and no "already exists" warning about an object this restore created itself.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "restore/restore_test_support.h"
#include "tests/support/fault_proxy.h"

namespace arca::restore {
namespace {

using namespace testing;  // arca::restore::testing
using ::testing::HasSubstr;
using nlohmann::json;

constexpr int kConfigMaps = 60, kSecrets = 20;

class RestoreFaults : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testsupport::TempDir();
    cluster_ = new Cluster(*dir_);
    cluster_->create_namespace("src");
    for (int i = 0; i < kConfigMaps; ++i)
      cluster_->create({{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "cm-" + std::to_string(i)}}},
                        {"data", {{"k", std::to_string(i)}}}},
                       "src");
    for (int i = 0; i < kSecrets; ++i)
      cluster_->create({{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "s-" + std::to_string(i)}}},
                        {"stringData", {{"k", std::to_string(i)}}}},
                       "src");
    tarball_ = new std::string(make_backup(*cluster_, {"src"}));
    proxy_ = new testsupport::FaultProxy(cluster_->kubelite.server);
    testsupport::write_kubeconfig_for(cluster_->kubelite.kubeconfig, proxy_->url(), dir_->file("proxy.kubeconfig"));
    kube::LoadOptions load;
    load.kubeconfig = dir_->file("proxy.kubeconfig");
    transport_ = new kube::Transport(kube::load_config(load));
    discovery_ = new kube::Discovery(*transport_);
  }
  static void TearDownTestSuite() {
    delete discovery_;
    delete transport_;
    delete proxy_;
    delete tarball_;
    delete cluster_;
    delete dir_;
  }
  void TearDown() override { proxy_->clear(); }

  // Restores the backup of "src" into `target` through the proxy.
  void restore_into(const std::string& name, const std::string& target, RestoreOutcome& outcome) {
    api::Restore restore = restore_named(name, "b");
    restore.spec.namespace_mapping = {{"src", target}};
    RestoreLog log(dir_->file(name + ".log"), "velero/" + name);
    run_restore(restore, source_of(*tarball_), *transport_, *discovery_, log, {}, outcome);
  }

  // Every backed-up object is in `target` with its data, labelled by restore `name`.
  void expect_all_restored(const std::string& target, const std::string& name) {
    auto objects = cluster_->objects_in(target);
    for (int i = 0; i < kConfigMaps; ++i) {
      auto it = objects.find("configmaps/cm-" + std::to_string(i));
      ASSERT_NE(it, objects.end()) << "cm-" << i << " missing";
      EXPECT_EQ(it->second["data"]["k"], std::to_string(i));
      EXPECT_EQ(it->second["metadata"]["labels"]["velero.io/restore-name"], name);
    }
    for (int i = 0; i < kSecrets; ++i) EXPECT_TRUE(objects.count("secrets/s-" + std::to_string(i))) << "s-" << i;
  }

  // Warnings other than kube-root-ca.crt, which kubelite creates in every new namespace as Kubernetes does.
  static std::vector<std::string> unexpected_warnings(const RestoreOutcome& outcome) {
    std::vector<std::string> out;
    for (const auto& [ns, messages] : outcome.warnings.namespaces)
      for (const auto& m : messages)
        if (m.find("kube-root-ca.crt") == std::string::npos) out.push_back(m);
    for (const auto& m : outcome.warnings.velero) out.push_back(m);
    for (const auto& m : outcome.warnings.cluster) out.push_back(m);
    return out;
  }
  static std::string all_errors(const RestoreOutcome& outcome) { return results_json(outcome.errors, outcome.warnings); }

  static testsupport::TempDir* dir_;
  static Cluster* cluster_;
  static std::string* tarball_;
  static testsupport::FaultProxy* proxy_;
  static kube::Transport* transport_;
  static kube::Discovery* discovery_;
};
testsupport::TempDir* RestoreFaults::dir_ = nullptr;
Cluster* RestoreFaults::cluster_ = nullptr;
std::string* RestoreFaults::tarball_ = nullptr;
testsupport::FaultProxy* RestoreFaults::proxy_ = nullptr;
kube::Transport* RestoreFaults::transport_ = nullptr;
kube::Discovery* RestoreFaults::discovery_ = nullptr;

// The drills' F5: one refused Namespace create failed all 1,003 items of that namespace, and a create refused
// with a 5xx was never retried. Here the Namespace create is refused once and a fifth of the other creates
// (seeded) get 503: everything is restored, without an error.
TEST_F(RestoreFaults, CreatesRefusedWith5xxAreRetried) {
  auto random = std::make_shared<std::mt19937>(7);
  auto namespace_refused = std::make_shared<bool>(false);
  proxy_->fail([=](std::string_view method, std::string_view target) {
    if (method != "POST") return false;
    if (target.starts_with("/api/v1/namespaces?") || target == "/api/v1/namespaces")
      return !std::exchange(*namespace_refused, true);
    return std::uniform_real_distribution<>(0, 1)(*random) < 0.2;
  }, 503, "injected by the fault proxy");
  RestoreOutcome outcome;
  restore_into("r-5xx", "dst-5xx", outcome);
  EXPECT_TRUE(*namespace_refused);
  EXPECT_GT(proxy_->failed_requests(), 10);
  EXPECT_EQ(outcome.errors.count(), 0u) << all_errors(outcome);
  EXPECT_THAT(unexpected_warnings(outcome), ::testing::IsEmpty());
  expect_all_restored("dst-5xx", "r-5xx");
}

// The drills' F8a: creates applied by the server whose answers were lost. Sent again (by libcurl or by the
// retry) they meet the object this restore created: that is a create, not an "already exists, different"
// warning, and never an error.
TEST_F(RestoreFaults, CreatesWhoseAnswersWereLostCountAsCreated) {
  auto random = std::make_shared<std::mt19937>(11);
  proxy_->drop_answers([=](std::string_view method, std::string_view) {
    return method == "POST" && std::uniform_real_distribution<>(0, 1)(*random) < 0.2;
  });
  RestoreOutcome outcome;
  restore_into("r-lost", "dst-lost", outcome);
  EXPECT_GT(proxy_->failed_requests(), 10);
  EXPECT_EQ(outcome.errors.count(), 0u) << all_errors(outcome);
  EXPECT_THAT(unexpected_warnings(outcome), ::testing::IsEmpty());
  expect_all_restored("dst-lost", "r-lost");
  EXPECT_EQ(outcome.items_restored, outcome.total_items);
}

// The drills' F8b: a rerun of a restore that was killed between its creates and the patches that restore
// managedFields met the objects the killed run had created and warned that each "already exists" and is
// different. Here the first run's managedFields patches are refused (as if its server died before sending
// them); the rerun, under another name, recognises those objects by their restore-name and backup-name labels,
// finishes their managedFields, and warns about nothing.
TEST_F(RestoreFaults, ARerunFinishesWhatAnInterruptedRestoreOfTheSameBackupCreated) {
  proxy_->fail([](std::string_view method, std::string_view) { return method == "PATCH"; }, 403,
               "injected by the fault proxy");
  RestoreOutcome first;
  restore_into("r-killed", "dst-rerun", first);
  ASSERT_GT(proxy_->failed_requests(), 10) << "the backup's objects carry no managedFields to restore";
  proxy_->clear();
  auto source = cluster_->objects_in("src");
  auto left = cluster_->objects_in("dst-rerun");
  ASSERT_NE(left["configmaps/cm-3"]["metadata"]["managedFields"], source["configmaps/cm-3"]["metadata"]["managedFields"]);

  RestoreOutcome again;
  restore_into("r-again", "dst-rerun", again);
  EXPECT_EQ(again.errors.count(), 0u) << all_errors(again);
  EXPECT_THAT(unexpected_warnings(again), ::testing::IsEmpty());
  auto restored = cluster_->objects_in("dst-rerun");
  for (int i = 0; i < kConfigMaps; ++i) {
    std::string key = "configmaps/cm-" + std::to_string(i);
    EXPECT_EQ(restored[key]["data"]["k"], std::to_string(i));
    EXPECT_EQ(restored[key]["metadata"]["managedFields"], source[key]["metadata"]["managedFields"]) << key;
  }
  // An object of that namespace changed since is still different, and said so.
  cluster_->client->patch(cluster_->resource("configmaps"), "dst-rerun", "cm-5", kube::PatchType::Merge,
                          R"({"data":{"k":"changed"}})");
  RestoreOutcome third;
  restore_into("r-third", "dst-rerun", third);
  EXPECT_THAT(unexpected_warnings(third),
              ::testing::ElementsAre(HasSubstr("ConfigMap \"cm-5\" already exists. Warning: the in-cluster version is different")));
}

// The fault suite's seed 101: the patch that restores an object's managedFields lost its connection after it was
// sent ("Empty reply from server") and the restore ended PartiallyFailed. It sets one value, so it is sent again.
TEST_F(RestoreFaults, AManagedFieldsPatchWhoseConnectionBrokeIsSentAgain) {
  auto seen = std::make_shared<int>(0);
  proxy_->reset_requests([seen](std::string_view method, std::string_view) {
    return method == "PATCH" && (*seen)++ % 2 == 0;  // every other one, so some are cut twice in a row
  });
  RestoreOutcome outcome;
  restore_into("r-patch", "dst-patch", outcome);
  EXPECT_GT(proxy_->failed_requests(), 10);
  EXPECT_EQ(outcome.errors.count(), 0u) << all_errors(outcome);
  expect_all_restored("dst-patch", "r-patch");
  auto source = cluster_->objects_in("src");
  auto restored = cluster_->objects_in("dst-patch");
  for (int i = 0; i < kConfigMaps; ++i) {
    std::string key = "configmaps/cm-" + std::to_string(i);
    EXPECT_EQ(restored[key]["metadata"]["managedFields"], source[key]["metadata"]["managedFields"]) << key;
  }
}

// A namespace that cannot be created at all: each of its items is reported by name, with the namespace.
TEST_F(RestoreFaults, ItemsOfANamespaceThatCannotBeCreatedAreNamed) {
  proxy_->fail([](std::string_view method, std::string_view target) {
    return method == "POST" && target.starts_with("/api/v1/namespaces") && target.find("/", 15) == std::string::npos;
  }, 403, "namespaces is forbidden");
  RestoreOutcome outcome;
  restore_into("r-nons", "dst-nons", outcome);
  std::string errors = all_errors(outcome);
  EXPECT_THAT(errors, HasSubstr("error restoring configmaps/dst-nons/cm-7: its namespace dst-nons is missing"));
  EXPECT_THAT(errors, HasSubstr("error restoring secrets/dst-nons/s-3: its namespace dst-nons is missing"));
  EXPECT_THAT(errors, HasSubstr("namespaces is forbidden"));
}

}  // namespace
}  // namespace arca::restore
