// `arca server --features=EnableAPIGroupVersions,...` with real processes (kubelite, `arca server`, the `arca` CLI,
// a local object store): the flag reaches the backup (the stored tarball holds the non-preferred version's
// directory) and the restore (the user's ConfigMap priority picks it), and EnableCSI is accepted and said to do
// nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <thread>

#include "api/crds.h"
#include "archive/tarball_reader.h"
#include "persistence/backup_store.h"
#include "restore/restore_test_support.h"
#include "store/location.h"

namespace arca::restore {
namespace {

using namespace testing;  // arca::restore::testing
using ::testing::HasSubstr;
using nlohmann::json;

class GroupVersionsServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testsupport::TempDir();
    cluster_ = new Cluster(*dir_);
    install_with_local_location(*cluster_, *dir_);
    json crd = json::parse(R"({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
      "metadata": {"name": "rockbands.music.example.io"},
      "spec": {"group": "music.example.io", "scope": "Namespaced",
               "names": {"plural": "rockbands", "singular": "rockband", "kind": "RockBand"},
               "versions": [
                 {"name": "v1", "served": true, "storage": true,
                  "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}},
                 {"name": "v2", "served": true, "storage": false,
                  "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}})");
    cluster_->create(crd, "");
    cluster_->wait_until_served("music.example.io", "v2", "rockbands");
    cluster_->create_namespace("band");
    for (const char* version : {"v1", "v2"})
      cluster_->create({{"apiVersion", std::string("music.example.io/") + version},
                        {"kind", "RockBand"},
                        {"metadata", {{"name", std::string("made-in-") + version}}},
                        {"spec", {{"leadSinger", version}}}},
                       "band");
    server_ = new testsupport::ChildProcess(
        {testsupport::build_dir() + "/src/cli/arca", "server", "--kubeconfig", cluster_->kubelite.kubeconfig,
         "--features=EnableAPIGroupVersions,EnableCSI", "--features", "NotAFeatureArcaKnows"},
        dir_->file("server.log"));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete cluster_;
    delete dir_;
  }

  static CommandResult arca(std::vector<std::string> args) { return run_arca(*cluster_, *dir_, std::move(args)); }

  static std::unique_ptr<store::ObjectStore> object_store() {
    store::LocationConfig location;
    location.provider = "local";
    location.bucket = "bucket";
    location.config = {{"root", dir_->file("store")}};
    return store::open_store(location);
  }
  static std::string stored_tarball(const std::string& backup) {
    std::string tarball;
    object_store()->get(persistence::backup_key(persistence::make_layout(""), backup, persistence::BackupFile::Tarball),
                        [&](const char* data, size_t size) { tarball.append(data, size); });
    return tarball;
  }
  static std::set<std::string> entries_of(const std::string& tarball) {
    std::set<std::string> entries;
    archive::TarballReader reader(source_of(tarball));
    while (auto entry = reader.next()) entries.insert(entry->path);
    return entries;
  }

  // A Completed Backup `name` of format `format_version` in the cluster and the store, holding `tarball`.
  static void add_backup(const std::string& name, const std::string& format_version, const std::string& tarball) {
    json backup = {{"apiVersion", "velero.io/v1"}, {"kind", "Backup"},
                   {"metadata", {{"name", name}, {"namespace", "velero"}}}, {"spec", {{"storageLocation", "default"}}}};
    json status = {{"phase", "Completed"}, {"formatVersion", format_version}, {"version", 1}};
    // The server is held still while the Backup has no phase, or its backup queue would run it as a new backup.
    server_->signal(SIGSTOP);
    cluster_->create(backup, "velero");
    auto backups = cluster_->resource("backups.velero.io");
    cluster_->client->patch(backups, "velero", name, kube::PatchType::Merge, json{{"status", status}}.dump(), {},
                            backups.subresource("status") != nullptr ? "status" : "");
    server_->signal(SIGCONT);
    persistence::BackupUpload upload;
    upload.name = name;
    backup["status"] = status;
    upload.metadata_json = backup.dump(2);
    upload.tarball = source_of(tarball);
    persistence::put_backup(*object_store(), persistence::make_layout(""), upload);
  }

  static testsupport::TempDir* dir_;
  static Cluster* cluster_;
  static testsupport::ChildProcess* server_;
};
testsupport::TempDir* GroupVersionsServer::dir_ = nullptr;
Cluster* GroupVersionsServer::cluster_ = nullptr;
testsupport::ChildProcess* GroupVersionsServer::server_ = nullptr;

TEST_F(GroupVersionsServer, FeatureFlagReachesBackupAndRestore) {
  auto backed_up = arca({"backup", "create", "gv", "--include-namespaces", "band", "--wait"});
  ASSERT_EQ(backed_up.exit_code, 0) << backed_up.output << "\n" << server_->log();
  EXPECT_THAT(backed_up.output, HasSubstr("Backup completed with status: Completed"));
  const std::string tarball = stored_tarball("gv");
  auto entries = entries_of(tarball);
  for (const char* name : {"made-in-v1", "made-in-v2"}) {
    std::string scoped = std::string("/namespaces/band/") + name + ".json";
    EXPECT_TRUE(entries.count("resources/rockbands.music.example.io" + scoped)) << name;
    EXPECT_TRUE(entries.count("resources/rockbands.music.example.io/v1-preferredversion" + scoped)) << name;
    EXPECT_TRUE(entries.count("resources/rockbands.music.example.io/v2" + scoped)) << name;
  }

  // The cluster prefers v1, as the backup's did: only the user's priority makes the restore read v2.
  cluster_->create({{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "enableapigroupversions"}}},
                    {"data", {{"restoreResourcesVersionPriority", "rockbands.music.example.io=v2"}}}},
                   "velero");
  auto restored = arca({"restore", "create", "gr", "--from-backup", "gv", "--namespace-mappings", "band:band-copy",
                        "--wait"});
  ASSERT_EQ(restored.exit_code, 0) << restored.output << "\n" << server_->log();
  EXPECT_THAT(restored.output, HasSubstr("Restore completed with status: Completed"));
  auto logs = arca({"restore", "logs", "gr"});
  EXPECT_THAT(logs.output, HasSubstr("restoring rockbands.music.example.io from API version v2 (user priority)"));
  auto rockbands = cluster_->resource("rockbands.music.example.io");
  EXPECT_EQ(cluster_->client->get(rockbands, "band-copy", "made-in-v1")["spec"]["leadSinger"], "v1");

  // The version directories are used only for backups of format 1.1.0 or later (Velero's pkg/restore/restore.go execute step 4).
  add_backup("gv-old", "1.0.0", tarball);
  auto old_restored = arca({"restore", "create", "gr-old", "--from-backup", "gv-old", "--namespace-mappings",
                            "band:band-old", "--wait"});
  ASSERT_EQ(old_restored.exit_code, 0) << old_restored.output << "\n" << server_->log();
  EXPECT_THAT(old_restored.output, HasSubstr("Restore completed with status: Completed"));
  auto old_logs = arca({"restore", "logs", "gr-old"});
  EXPECT_THAT(old_logs.output, HasSubstr("restore completed"));
  EXPECT_THAT(old_logs.output, ::testing::Not(HasSubstr("from API version")));
  EXPECT_EQ(cluster_->client->get(rockbands, "band-old", "made-in-v2")["spec"]["leadSinger"], "v2");

  std::string log = server_->log();
  EXPECT_THAT(log, HasSubstr("enabled features: EnableAPIGroupVersions,EnableCSI,NotAFeatureArcaKnows"));
  EXPECT_THAT(log, HasSubstr("feature EnableCSI has no effect: arca takes no volume snapshots"));
}

}  // namespace
}  // namespace arca::restore
