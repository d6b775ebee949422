// The RestoreController (src/controller/restore_controller.*) against a real kubelite and a local object store:
// phases, validation failures with their reasons, results and logs under restores/R/, schedule restores,
// interrupted-restore recovery and deletion of a restore's files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "api/crds.h"
#include "controller/clock.h"
#include "controller/context.h"
#include "controller/restore_controller.h"
#include "persistence/backup_store.h"
#include "restore/restore_test_support.h"
#include "store/location.h"

namespace arca::restore {
namespace {

using namespace testing;  // arca::restore::testing
using ::testing::HasSubstr;
using nlohmann::json;

class RestoreControllerTest : public ::testing::Test {
 protected:
  static constexpr const char* kDefaultModifiers = "default-restore-resource-modifiers";

  static void SetUpTestSuite() {
    dir_ = new testsupport::TempDir();
    cluster_ = new Cluster(*dir_);
    for (const auto& crd : api::velero_crds()) cluster_->create(crd, "");
    cluster_->wait_until_served("velero.io", "v1", "restores");
    cluster_->create_namespace("velero");
    std::filesystem::create_directories(dir_->file("store/bucket"));
    json bsl = {{"apiVersion", "velero.io/v1"}, {"kind", "BackupStorageLocation"},
                {"metadata", {{"name", "default"}, {"namespace", "velero"}}},
                {"spec", {{"provider", "local"}, {"objectStorage", {{"bucket", "bucket"}}},
                          {"config", {{"root", dir_->file("store")}}}}}};
    cluster_->create(bsl, "velero");
    set_status("backupstoragelocations", "default", {{"phase", "Available"}});
    store::LocationConfig location;
    location.provider = "local";
    location.bucket = "bucket";
    location.config = {{"root", dir_->file("store")}};
    store_ = store::open_store(location).release();
    clock_ = new controller::SystemClock();
    controller::ServerSettings settings;
    settings.default_resource_modifier_configmap = kDefaultModifiers;  // the server's Velero 1.19 flag
    context_ = new controller::ServerContext(
        controller::make_context(*cluster_->transport, *cluster_->discovery, *clock_, settings));
    controller_ = controller::make_restore_controller(*context_).release();
    controller_->start();
  }
  static void TearDownTestSuite() {
    controller_->stop();
    delete controller_;
    delete context_;
    delete clock_;
    delete store_;
    delete cluster_;
    delete dir_;
  }

  static void set_status(const std::string& resource, const std::string& name, const json& status) {
    cluster_->set_status(resource + ".velero.io", "velero", name, status);
  }

  // A Backup object with `phase` and its files in the store (the tarball as given).
  static void add_backup(const std::string& name, const std::string& phase, const std::string& tarball,
                         const json& labels = json::object(), const std::string& started = "2026-01-01T00:00:00Z") {
    json backup = {{"apiVersion", "velero.io/v1"}, {"kind", "Backup"},
                   {"metadata", {{"name", name}, {"namespace", "velero"}, {"labels", labels}}},
                   {"spec", {{"storageLocation", "default"}}}};
    cluster_->create(backup, "velero");
    set_status("backups", name, {{"phase", phase}, {"startTimestamp", started}});
    if (tarball.empty()) return;
    persistence::BackupUpload upload;
    upload.name = name;
    backup["status"] = {{"phase", phase}};
    upload.metadata_json = backup.dump(2);
    upload.tarball = source_of(tarball);
    persistence::put_backup(*store_, persistence::make_layout(""), upload);
  }

  static json create_restore(const std::string& name, json spec) {
    json restore = {{"apiVersion", "velero.io/v1"}, {"kind", "Restore"},
                    {"metadata", {{"name", name}, {"namespace", "velero"}}}, {"spec", spec}};
    return cluster_->create(restore, "velero");
  }

  static json wait_for_final_phase(const std::string& name) {
    auto restores = cluster_->resource("restores.velero.io");
    json restore;
    bool finished = testsupport::eventually([&] {
      restore = cluster_->client->get(restores, "velero", name);
      std::string phase = restore.value("/status/phase"_json_pointer, std::string());
      return phase == "Completed" || phase == "PartiallyFailed" || phase == "Failed" || phase == "FailedValidation";
    }, std::chrono::seconds(30));
    if (!finished) throw std::runtime_error("restore " + name + " did not finish: " + restore.dump());
    return restore;
  }

  static std::string stored(const std::string& restore, persistence::RestoreFile file) {
    std::string gz;
    store_->get(persistence::restore_key(persistence::make_layout(""), restore, file),
                [&](const char* data, size_t size) { gz.append(data, size); });
    return persistence::gunzip_bytes(gz, "restore file");
  }

  static std::string configmaps_backup(const std::string& ns) {
    cluster_->create_namespace(ns);
    for (const char* name : {"one", "two"})
      cluster_->create({{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}, {"data", {{"k", name}}}},
                       ns);
    std::string tarball = make_backup(*cluster_, {ns});
    cluster_->delete_namespace_and_wait(ns);
    return tarball;
  }

  // A ConfigMap of resource modifier rules (Velero's resource-modifiers.yaml), created or replaced.
  static void put_modifiers(const std::string& name, const std::string& yaml) {
    json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}, {"namespace", "velero"}}},
               {"data", {{"resource-modifiers.yaml", yaml}}}};
    auto config_maps = cluster_->resource("configmaps");
    if (cluster_->exists(config_maps, "velero", name)) cluster_->client->remove(config_maps, "velero", name);
    cluster_->create(cm, "velero");
  }

  static bool namespace_exists(const std::string& name) {
    try {
      cluster_->client->get(cluster_->resource("namespaces"), "", name);
      return true;
    } catch (const kube::KubeError&) {
      return false;
    }
  }

  static testsupport::TempDir* dir_;
  static Cluster* cluster_;
  static store::ObjectStore* store_;
  static controller::Clock* clock_;
  static controller::ServerContext* context_;
  static controller::Controller* controller_;
};
testsupport::TempDir* RestoreControllerTest::dir_ = nullptr;
Cluster* RestoreControllerTest::cluster_ = nullptr;
store::ObjectStore* RestoreControllerTest::store_ = nullptr;
controller::Clock* RestoreControllerTest::clock_ = nullptr;
controller::ServerContext* RestoreControllerTest::context_ = nullptr;
controller::Controller* RestoreControllerTest::controller_ = nullptr;

TEST_F(RestoreControllerTest, CompletedRestoreRecordsEverything) {
  add_backup("b-ok", "Completed", configmaps_backup("ctl-ok"));
  create_restore("r-ok", {{"backupName", "b-ok"}});
  json restore = wait_for_final_phase("r-ok");
  EXPECT_EQ(restore["status"]["phase"], "Completed") << restore.dump();
  EXPECT_TRUE(restore["status"].contains("startTimestamp"));
  EXPECT_TRUE(restore["status"].contains("completionTimestamp"));
  // The namespace, two ConfigMaps, and the CA ConfigMap and default ServiceAccount the cluster puts in every
  // namespace (already there when their turn comes: skipped as identical, or a warning when they differ).
  EXPECT_EQ(restore["status"]["progress"]["itemsRestored"], 5);
  EXPECT_EQ(restore["status"]["progress"]["totalItems"], 5);
  EXPECT_EQ(restore["status"].value("errors", 0), 0);
  EXPECT_LE(restore["status"].value("warnings", 0), 1);
  EXPECT_EQ(restore["spec"]["itemOperationTimeout"], "4h0m0s");
  EXPECT_THAT(restore["metadata"]["finalizers"], ::testing::Contains(controller::kRestoreFinalizer));
  std::vector<std::string> excluded = restore["spec"]["excludedResources"];
  EXPECT_THAT(excluded, ::testing::ElementsAre("nodes", "events", "events.events.k8s.io", "backups.velero.io",
                                               "restores.velero.io", "resticrepositories.velero.io",
                                               "csinodes.storage.k8s.io", "volumeattachments.storage.k8s.io",
                                               "backuprepositories.velero.io"));
  EXPECT_EQ(cluster_->client->get(cluster_->resource("configmaps"), "ctl-ok", "two")["data"]["k"], "two");
  // The CA ConfigMap is identical (skipped) unless its managedFields time moved on since the backup (a warning).
  std::string results = stored("r-ok", persistence::RestoreFile::Results);
  EXPECT_TRUE(results == "{\"errors\":{},\"warnings\":{}}\n" || results.find("kube-root-ca.crt") != std::string::npos)
      << results;
  json list = json::parse(stored("r-ok", persistence::RestoreFile::ResourceList));
  EXPECT_THAT(list["v1/ConfigMap"].dump(), HasSubstr("\"ctl-ok/one(created)\",\"ctl-ok/two(created)\""));
  EXPECT_EQ(list["v1/Namespace"], json::parse(R"j(["ctl-ok(created)"])j"));
  EXPECT_EQ(list["v1/ServiceAccount"], json::parse(R"j(["ctl-ok/default(skipped)"])j"));
  EXPECT_THAT(stored("r-ok", persistence::RestoreFile::Logs), HasSubstr("restore=velero/r-ok"));
  // Velero always uploads these two (pkg/controller/restore_controller.go); arca's lists are empty.
  EXPECT_EQ(stored("r-ok", persistence::RestoreFile::ItemOperations), "[]");
  EXPECT_EQ(stored("r-ok", persistence::RestoreFile::VolumeInfo), "[]");

  // Deleting the restore removes its files, then the finalizer lets the object go.
  cluster_->client->remove(cluster_->resource("restores.velero.io"), "velero", "r-ok");
  ASSERT_TRUE(testsupport::eventually(
      [&] { return !cluster_->exists(cluster_->resource("restores.velero.io"), "velero", "r-ok"); },
      std::chrono::seconds(10)));
  EXPECT_THROW(stored("r-ok", persistence::RestoreFile::Results), store::StoreError);
  EXPECT_THROW(stored("r-ok", persistence::RestoreFile::VolumeInfo), store::StoreError);
}

TEST_F(RestoreControllerTest, ValidationFailuresLeaveTheClusterAlone) {
  create_restore("r-none", json::object());
  json none = wait_for_final_phase("r-none");
  EXPECT_EQ(none["status"]["phase"], "FailedValidation");
  EXPECT_THAT(none["status"]["validationErrors"].dump(), HasSubstr("Either a backup or schedule"));
  EXPECT_FALSE(none["status"].contains("startTimestamp"));
  EXPECT_FALSE(none["status"].contains("completionTimestamp"));

  create_restore("r-missing", {{"backupName", "no-such-backup"}});
  json missing = wait_for_final_phase("r-missing");
  EXPECT_EQ(missing["status"]["phase"], "FailedValidation");
  EXPECT_THAT(missing["status"]["validationErrors"][0].get<std::string>(), HasSubstr("Error retrieving backup"));

  create_restore("r-nodes", {{"backupName", "no-such-backup"}, {"includedResources", {"nodes"}}});
  EXPECT_THAT(wait_for_final_phase("r-nodes")["status"]["validationErrors"].dump(),
              HasSubstr("nodes are non-restorable resources"));

  create_restore("r-policy", {{"backupName", "b"}, {"existingResourcePolicy", "recreate"}});
  EXPECT_EQ(wait_for_final_phase("r-policy")["status"]["phase"], "FailedValidation");

  add_backup("b-running", "InProgress", "");
  create_restore("r-running", {{"backupName", "b-running"}});
  json running = wait_for_final_phase("r-running");
  EXPECT_EQ(running["status"]["phase"], "FailedValidation");
  EXPECT_THAT(running["status"]["validationErrors"][0].get<std::string>(), HasSubstr("is not finished (phase InProgress)"));

  add_backup("b-mod", "Completed", configmaps_backup("ctl-mod"));
  cluster_->create({{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "bad-rules"}}},
                    {"data", {{"rules.yaml", "version: v1\nresourceModifierRules:\n- conditions: {groupResource: pods}\n"}}}},
                   "velero");
  create_restore("r-mod", {{"backupName", "b-mod"}, {"resourceModifier", {{"kind", "ConfigMap"}, {"name", "bad-rules"}}}});
  json modifier = wait_for_final_phase("r-mod");
  EXPECT_EQ(modifier["status"]["phase"], "FailedValidation");
  EXPECT_THAT(modifier["status"]["validationErrors"][0].get<std::string>(),
              HasSubstr("exactly one of patches, mergePatches or strategicPatches"));
  EXPECT_FALSE(namespace_exists("ctl-mod"));

  // Velero's restore_controller.go validateAndComplete step 6: an init hook container needs a name, an image and a command.
  add_backup("b-hook", "Completed", configmaps_backup("ctl-hook"));
  create_restore("r-hook", {{"backupName", "b-hook"},
                            {"hooks", {{"resources", {{{"name", "warm"},
                                                       {"postHooks", {{{"init", {{"initContainers",
                                                                                  {{{"name", "w"}, {"image", "busybox"}}}}}}}}}}}}}}});
  json hook = wait_for_final_phase("r-hook");
  EXPECT_EQ(hook["status"]["phase"], "FailedValidation");
  EXPECT_THAT(hook["status"]["validationErrors"].dump(),
              HasSubstr("invalid InitContainer in restore hook warm, it doesn't have Command, Name or Image field"));
  EXPECT_FALSE(namespace_exists("ctl-hook"));
}

TEST_F(RestoreControllerTest, CorruptTarballEndsPartiallyFailed) {
  add_backup("b-corrupt", "Completed", "definitely not a gzip stream");
  create_restore("r-corrupt", {{"backupName", "b-corrupt"}});
  json restore = wait_for_final_phase("r-corrupt");
  EXPECT_EQ(restore["status"]["phase"], "PartiallyFailed");
  EXPECT_EQ(restore["status"]["errors"], 1);
  EXPECT_THAT(stored("r-corrupt", persistence::RestoreFile::Results),
              HasSubstr("\"velero\":[\"error extracting backup tarball"));
}

TEST_F(RestoreControllerTest, ScheduleRestoreUsesTheNewestCompletedBackup) {
  std::string tarball = configmaps_backup("ctl-sched");
  add_backup("s-old", "Completed", tarball, {{"velero.io/schedule-name", "nightly"}}, "2026-01-01T00:00:00Z");
  add_backup("s-new", "Completed", tarball, {{"velero.io/schedule-name", "nightly"}}, "2026-01-03T00:00:00Z");
  add_backup("s-failed", "Failed", "", {{"velero.io/schedule-name", "nightly"}}, "2026-01-04T00:00:00Z");
  create_restore("r-sched", {{"scheduleName", "nightly"}});
  json restore = wait_for_final_phase("r-sched");
  EXPECT_EQ(restore["status"]["phase"], "Completed") << restore.dump();
  EXPECT_EQ(restore["spec"]["backupName"], "s-new");
  EXPECT_TRUE(namespace_exists("ctl-sched"));
}

}  // namespace
}  // namespace arca::restore

namespace arca::restore {
namespace {

// Velero 1.19's server default restore resource modifier (design "Server Default Restore Resource Modifier",
// pkg/controller/restore_controller.go): applied to every restore that names no modifier of its own, skipped with
// spec.skipDefaultResourceModifier, and a broken default ConfigMap is a warning, never a failed restore.
TEST_F(RestoreControllerTest, ServerDefaultResourceModifierAppliesUnlessSkippedOrOverridden) {
  cluster_->create_namespace("ctl-cni");
  cluster_->create({{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                    {"metadata", {{"name", "app"}, {"annotations", {{"k8s.v1.cni.cncf.io/network-status", "stale"}}}}},
                    {"data", {{"k", "v"}}}},
                   "ctl-cni");
  add_backup("b-cni", "Completed", make_backup(*cluster_, {"ctl-cni"}));
  put_modifiers(kDefaultModifiers, R"(version: v1
resourceModifierRules:
- conditions:
    groupResource: configmaps
  mergePatches:
  - patchData: |
      metadata:
        annotations:
          k8s.v1.cni.cncf.io/network-status: null
)");
  put_modifiers("own-modifiers", R"(version: v1
resourceModifierRules:
- conditions:
    groupResource: configmaps
  patches:
  - operation: add
    path: /metadata/labels
    value: '{"restored-by": "own"}'
)");
  auto restored_app = [&](const std::string& restore, json spec) {
    spec["backupName"] = "b-cni";
    spec["namespaceMapping"] = {{"ctl-cni", restore}};
    create_restore(restore, spec);
    json done = wait_for_final_phase(restore);
    EXPECT_EQ(done["status"]["phase"], "Completed") << done.dump();
    return cluster_->client->get(cluster_->resource("configmaps"), restore, "app");
  };
  const json::json_pointer stale("/metadata/annotations/k8s.v1.cni.cncf.io~1network-status");

  json app = restored_app("r-cni-default", json::object());
  EXPECT_FALSE(app.contains(stale)) << app.dump();
  EXPECT_THAT(stored("r-cni-default", persistence::RestoreFile::Logs),
              HasSubstr("Retrieved default resource modifiers from configmap velero/" + std::string(kDefaultModifiers)));

  app = restored_app("r-cni-skip", {{"skipDefaultResourceModifier", true}});
  EXPECT_EQ(app.value(stale, std::string()), "stale") << app.dump();

  // A per-restore modifier takes exclusive precedence: the default's rule is not applied as well.
  app = restored_app("r-cni-own", {{"resourceModifier", {{"kind", "ConfigMap"}, {"name", "own-modifiers"}}}});
  EXPECT_EQ(app.value(stale, std::string()), "stale") << app.dump();
  EXPECT_EQ(app.value("/metadata/labels/restored-by"_json_pointer, std::string()), "own") << app.dump();

  put_modifiers(kDefaultModifiers, "version: v1\nresourceModifierRules: not-a-list\n");
  app = restored_app("r-cni-broken", json::object());
  EXPECT_EQ(app.value(stale, std::string()), "stale") << app.dump();
  EXPECT_THAT(stored("r-cni-broken", persistence::RestoreFile::Logs),
              HasSubstr("Error in default resource modifier configmap velero/" + std::string(kDefaultModifiers)));
  cluster_->client->remove(cluster_->resource("configmaps"), "velero", kDefaultModifiers);
}

// Velero 1.19's Restore.spec.resourcePolicy (fine-grained restore filters design): the policy names namespaces as
// they are in the backup, so a mapped restore still finds its rule; the namespace's unlisted kinds stay out; a
// policy Velero would refuse fails validation naming the problem and restores nothing.
TEST_F(RestoreControllerTest, ResourcePolicyRestoresOnlyWhatItsNamespaceRuleNames) {
  cluster_->create_namespace("ctl-fine");
  for (const char* name : {"app-config", "app-tmp", "monitoring"})
    cluster_->create({{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}, {"data", {{"k", name}}}},
                     "ctl-fine");
  cluster_->create({{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "app-secret"}}},
                    {"data", {{"k", "dg=="}}}},
                   "ctl-fine");
  add_backup("b-fine", "Completed", make_backup(*cluster_, {"ctl-fine"}));
  put_modifiers("restore-filters", R"(version: v1
namespacedFilterPolicies:
- namespaces: [ctl-fine]
  resourceFilters:
  - kinds: [ConfigMap]
    names: ["app-*"]
    excludedNames: ["*-tmp"]
)");
  create_restore("r-fine", {{"backupName", "b-fine"},
                            {"namespaceMapping", {{"ctl-fine", "r-fine"}}},
                            {"resourcePolicy", {{"kind", "configmap"}, {"name", "restore-filters"}}}});
  json done = wait_for_final_phase("r-fine");
  EXPECT_EQ(done["status"]["phase"], "Completed") << done.dump();
  auto config_maps = cluster_->resource("configmaps");
  EXPECT_TRUE(cluster_->exists(config_maps, "r-fine", "app-config"));
  EXPECT_FALSE(cluster_->exists(config_maps, "r-fine", "app-tmp")) << "excludedNames wins over names";
  EXPECT_FALSE(cluster_->exists(config_maps, "r-fine", "monitoring")) << "not named by the rule";
  EXPECT_FALSE(cluster_->exists(cluster_->resource("secrets"), "r-fine", "app-secret")) << "Secret is not listed";

  put_modifiers("restore-filters", R"(version: v1
namespacedFilterPolicies:
- namespaces: [ctl-fine]
  resourceFilters:
  - kinds: ["*"]
    names: ["app-*"]
)");
  create_restore("r-fine-bad", {{"backupName", "b-fine"},
                                {"namespaceMapping", {{"ctl-fine", "r-fine-bad"}}},
                                {"resourcePolicy", {{"kind", "configmap"}, {"name", "restore-filters"}}}});
  done = wait_for_final_phase("r-fine-bad");
  EXPECT_EQ(done["status"]["phase"], "FailedValidation") << done.dump();
  EXPECT_THAT(done["status"]["validationErrors"].dump(),
              HasSubstr("names or excludedNames cannot be specified for catch-all filters"));
  EXPECT_FALSE(namespace_exists("r-fine-bad"));
}

}  // namespace
}  // namespace arca::restore
