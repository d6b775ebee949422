// `arca server --features=EnableAPIGroupVersions,...` with real processes (kubelite, `arca server`, the `arca` CLI,
// a local object store): the flag reaches the backup (the stored tarball holds the non-preferred version's
// directory) and the restore (the user's ConfigMap priority picks it), and EnableCSI is accepted and said to do
// nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

struct CommandResult {
  int status;
  std::string output;
};

class GroupVersionsServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testsupport::TempDir();
    cluster_ = new Cluster(*dir_);
    ASSERT_EQ(arca({"install", "--crds-only"}).status, 0);
    cluster_->create_namespace("velero");
    std::filesystem::create_directories(dir_->file("store/bucket"));
    cluster_->discovery->refresh();
    cluster_->create({{"apiVersion", "velero.io/v1"}, {"kind", "BackupStorageLocation"},
                      {"metadata", {{"name", "default"}, {"namespace", "velero"}}},
                      {"spec", {{"provider", "local"}, {"objectStorage", {{"bucket", "bucket"}}}, {"default", true},
                                {"config", {{"root", dir_->file("store")}}}}}},
                     "velero");
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
    for (int attempt = 0; attempt < 200 && !cluster_->discovery->data()->find("music.example.io", "v2", "rockbands");
         ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      cluster_->discovery->refresh();
    }
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

  static CommandResult arca(std::vector<std::string> args) {
    static int counter = 0;
    std::string log = dir_->file("arca-" + std::to_string(++counter) + ".out");
    args.insert(args.begin(), {testsupport::build_dir() + "/src/cli/arca", "--kubeconfig", cluster_->kubelite.kubeconfig});
    testsupport::ChildProcess process(args, log);
    int status = process.wait(std::chrono::seconds(60));
    return {status, process.log()};
  }

  static std::set<std::string> stored_tarball_entries(const std::string& backup) {
    store::LocationConfig location;
    location.provider = "local";
    location.bucket = "bucket";
    location.config = {{"root", dir_->file("store")}};
    std::string tarball;
    store::open_store(location)->get(
        persistence::backup_key(persistence::make_layout(""), backup, persistence::BackupFile::Tarball),
        [&](const char* data, size_t size) { tarball.append(data, size); });
    std::set<std::string> entries;
    archive::TarballReader reader(source_of(tarball));
    while (auto entry = reader.next()) entries.insert(entry->path);
    return entries;
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
  ASSERT_EQ(backed_up.status, 0) << backed_up.output << "\n" << server_->log();
  EXPECT_THAT(backed_up.output, HasSubstr("Backup completed with status: Completed"));
  auto entries = stored_tarball_entries("gv");
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
  ASSERT_EQ(restored.status, 0) << restored.output << "\n" << server_->log();
  EXPECT_THAT(restored.output, HasSubstr("Restore completed with status: Completed"));
  auto logs = arca({"restore", "logs", "gr"});
  EXPECT_THAT(logs.output, HasSubstr("restoring rockbands.music.example.io from API version v2 (user priority)"));
  auto rockbands = cluster_->resource("rockbands.music.example.io");
  EXPECT_EQ(cluster_->client->get(rockbands, "band-copy", "made-in-v1")["spec"]["leadSinger"], "v1");

  std::string log = server_->log();
  EXPECT_THAT(log, HasSubstr("enabled features: EnableAPIGroupVersions,EnableCSI,NotAFeatureArcaKnows"));
  EXPECT_THAT(log, HasSubstr("feature EnableCSI has no effect: arca takes no volume snapshots"));
}

}  // namespace
}  // namespace arca::restore
