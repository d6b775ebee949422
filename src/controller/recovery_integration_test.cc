// kill -9 of `arca server` at the points the fault drills found fragile, with its bucket (s3rver) behind the
// fault-injecting proxy: the proxy holds one upload so the server is killed in a known phase, then a new
// server starts. Every Backup and Restore must end in a terminal phase that tells the truth about the bucket.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <set>
#include <thread>
#include <fstream>

#include "persistence/backup_store.h"
#include "tests/support/cluster.h"
#include "store/location.h"
#include "tests/support/fault_proxy.h"
#include "tests/support/object_servers.h"

namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using testsupport::eventually;

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

class Recovery : public ::testing::Test {
 protected:
  // s3rver or kubelite failing to start ends the test here, with their log; TearDown then has nothing to clear.
  void SetUp() override {
    ASSERT_NO_THROW(start()) << "the servers did not start";
  }
  void start() {
    s3_ = std::make_unique<testsupport::S3rver>(testsupport::start_s3rver(dir_));
    testsupport::create_bucket(*s3_, "velero");
    proxy_ = std::make_unique<testsupport::FaultProxy>(s3_->url);
    cluster_ = std::make_unique<testsupport::Cluster>(testsupport::Cluster::S3{proxy_->url(), "velero", "c1"});
    std::ofstream(dir_.file("aws")) << "[default]\naws_access_key_id=S3RVER\naws_secret_access_key=S3RVER\n";
    direct_ = arca::store::open_store(
        {"aws", "velero", {{"region", "us-east-1"}, {"s3Url", s3_->url}, {"s3ForcePathStyle", "true"}}, dir_.file("aws")});
    cluster_->kubectl({"create", "namespace", "app"});
    for (const char* name : {"one", "two", "three"})
      cluster_->kubectl({"-n", "app", "create", "configmap", name, std::string("--from-literal=k=") + name});
    std::filesystem::create_directories(dir_.file("tmp"));
  }
  void TearDown() override {
    if (proxy_) proxy_->clear();
    servers_.clear();
  }

  // `arca server` with its own TMPDIR, so the test sees what a killed run leaves there.
  testsupport::ChildProcess& start_server() {
    servers_.push_back(std::make_unique<testsupport::ChildProcess>(
        std::vector<std::string>{testsupport::arca_binary(), "--kubeconfig", cluster_->kubeconfig(), "server"},
        dir_.file("server-" + std::to_string(servers_.size()) + ".log"),
        std::map<std::string, std::string>{{"TMPDIR", dir_.file("tmp")}}));
    return *servers_.back();
  }
  void kill_server(testsupport::ChildProcess& server) {
    server.signal(SIGKILL);
    server.wait(5s);
  }

  nlohmann::json item(const std::string& resource, const std::string& name) {
    for (const auto& i : cluster_->items(resource))
      if (i["metadata"]["name"] == name) return i;
    return nullptr;
  }
  std::string phase(const std::string& resource, const std::string& name) {
    auto i = item(resource, name);
    return i.is_null() ? "" : i.value("/status/phase"_json_pointer, std::string());
  }
  // A restore is refused while its location is not Available: the server checks it on start, and a restore
  // created before that check says so fails (Velero's restore_controller.go validateAndComplete).
  void wait_location_available() {
    ASSERT_TRUE(eventually([&] { return phase("backupstoragelocations", "default") == "Available"; }, 30s))
        << phase("backupstoragelocations", "default") << "\n" << servers_.back()->log();
  }
  bool wait_held() {
    return eventually([&] { return proxy_->held_requests() > 0; }, 30s);
  }

  testsupport::TempDir dir_;
  std::unique_ptr<testsupport::S3rver> s3_;
  std::unique_ptr<testsupport::FaultProxy> proxy_;
  std::unique_ptr<testsupport::Cluster> cluster_;
  std::unique_ptr<arca::store::ObjectStore> direct_;
  arca::persistence::Layout layout_ = arca::persistence::make_layout("c1");
  std::vector<std::unique_ptr<testsupport::ChildProcess>> servers_;
};

// The drills' F2: a restore killed while Finalizing (uploading its log and results) stayed Finalizing forever.
TEST_F(Recovery, RestoreKilledWhileFinalizingEndsTerminalAfterRestart) {
  auto& first = start_server();
  cluster_->arca_ok({"backup", "create", "b1", "--include-namespaces", "app", "--wait"});
  ASSERT_EQ(phase("backups", "b1"), "Completed") << first.log();
  proxy_->hold([](std::string_view method, std::string_view target) {
    return method == "PUT" && contains(target, "/restores/");
  });
  wait_location_available();
  cluster_->arca_ok({"restore", "create", "r1", "--from-backup", "b1", "--namespace-mappings", "app:app-r1"});
  ASSERT_TRUE(wait_held()) << first.log();
  ASSERT_EQ(phase("restores", "r1"), "Finalizing");
  kill_server(first);
  proxy_->clear();
  auto& second = start_server();
  ASSERT_TRUE(eventually([&] { return phase("restores", "r1") == "Completed"; }, 30s))
      << phase("restores", "r1") << "\n" << second.log();
  EXPECT_TRUE(item("restores", "r1").contains("/status/completionTimestamp"_json_pointer));
  EXPECT_THAT(second.log(), HasSubstr("restore=r1 was Finalizing when the server stopped"));
  for (const char* name : {"one", "two", "three"})
    EXPECT_EQ(cluster_->kubectl({"-n", "app-r1", "get", "configmap", name}).exit_code, 0) << name;
  // The killed run's log file in TMPDIR is gone.
  for (const auto& entry : std::filesystem::directory_iterator(dir_.file("tmp")))
    EXPECT_FALSE(entry.path().filename().string().ends_with(".log")) << entry.path() << " left behind";
}

// Killed after velero-backup.json reached the bucket (its PUT held, released after the kill): the restart
// adopts the stored Completed outcome, and says so instead of "marked Failed" (the drills' F7a).
TEST_F(Recovery, BackupKilledAfterItsMetadataWasStoredKeepsTheStoredOutcome) {
  auto& first = start_server();
  proxy_->hold([](std::string_view method, std::string_view target) {
    return method == "PUT" && contains(target, "velero-backup.json");
  });
  cluster_->arca_ok({"backup", "create", "b2", "--include-namespaces", "app"});
  ASSERT_TRUE(wait_held()) << first.log();
  ASSERT_EQ(phase("backups", "b2"), "Finalizing");
  kill_server(first);
  proxy_->clear();  // the held PUT now reaches s3rver
  ASSERT_TRUE(eventually([&] { return arca::persistence::backup_exists(*direct_, layout_, "b2"); }, 10s));
  auto& second = start_server();
  ASSERT_TRUE(eventually([&] { return phase("backups", "b2") == "Completed"; }, 30s))
      << phase("backups", "b2") << "\n" << second.log();
  EXPECT_THAT(second.log(), HasSubstr("backup=b2 was Finalizing when the server stopped, after its metadata was stored"));
  EXPECT_THAT(second.log(), Not(HasSubstr("marked Failed")));
  // Restorable: the data is all there.
  wait_location_available();
  cluster_->arca_ok({"restore", "create", "r2", "--from-backup", "b2", "--namespace-mappings", "app:app-r2", "--wait"});
  EXPECT_EQ(phase("restores", "r2"), "Completed") << second.log();
}

// Killed while its tarball was being uploaded: no metadata, so Failed with a reason naming the phase it
// really had (the drills' F7b), and the leftover files are removed.
TEST_F(Recovery, BackupKilledWhileUploadingFailsNamingItsPhaseAndLeavesNoFiles) {
  auto& first = start_server();
  proxy_->hold([](std::string_view method, std::string_view target) {
    return method == "PUT" && contains(target, "b3.tar.gz");
  });
  cluster_->arca_ok({"backup", "create", "b3", "--include-namespaces", "app"});
  ASSERT_TRUE(wait_held()) << first.log();
  kill_server(first);
  proxy_->clear();
  auto& second = start_server();
  ASSERT_TRUE(eventually([&] { return phase("backups", "b3") == "Failed"; }, 30s)) << second.log();
  EXPECT_THAT(item("backups", "b3")["status"]["failureReason"].get<std::string>(),
              HasSubstr("found a backup with status \"Finalizing\" during the server starting"));
  EXPECT_THAT(second.log(), HasSubstr("backup=b3 was Finalizing when the server stopped: marked Failed"));
  ASSERT_TRUE(eventually([&] {
    return arca::store::list_all(*direct_, arca::persistence::backup_dir(layout_, "b3")).objects.empty();
  }, 10s));
  EXPECT_FALSE(arca::persistence::backup_exists(*direct_, layout_, "b3"));
}

}  // namespace

namespace {

// The drills' F9: a velero-backup.json whose name differs from its directory made the sync import and delete
// a Backup every period. It is skipped, with a warning naming both.
TEST_F(Recovery, SyncSkipsMetadataNamedDifferentlyFromItsDirectory) {
  start_server();
  cluster_->arca_ok({"backup", "create", "b5", "--include-namespaces", "app", "--wait"});
  std::string text = arca::persistence::read_backup_metadata(*direct_, layout_, "b5");
  auto renamed = nlohmann::json::parse(text);
  renamed["metadata"]["name"] = "someone-else";
  arca::store::put_string(*direct_, arca::persistence::backup_key(layout_, "junk", arca::persistence::BackupFile::Metadata),
                          renamed.dump(2));
  testsupport::Cluster second(testsupport::Cluster::S3{proxy_->url(), "velero", "c1"}, {"--backup-sync-period", "1s"});
  second.start_server();
  auto names = [&] {
    std::set<std::string> out;
    for (const auto& b : second.items("backups")) out.insert(b["metadata"]["name"].get<std::string>());
    return out;
  };
  ASSERT_TRUE(eventually([&] { return names().count("b5") == 1; }, 20s)) << second.server(0).log();
  // Several sync periods: "someone-else" never appears.
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(names().count("someone-else"), 0u);
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_THAT(second.server(0).log(),
              HasSubstr("backup=junk skipped: its velero-backup.json names backup \\\"someone-else\\\", not its directory"));
}

// S3 Object Lock: a location with objectLockMode/objectLockRetention writes every object with the lock headers and
// Content-MD5 (s3rver checks the MD5). When the bucket still refuses the deletion once arca's own lock has passed
// (a longer default retention on the bucket), the DeleteBackupRequest waits saying why, logged once, and the
// backup stays whole and Completed: no error loop, nothing half-deleted.
TEST_F(Recovery, DeletionRefusedByAnObjectLockIsDeferredAndReportedOnce) {
  auto& server = start_server();
  cluster_->arca_ok({"backup-location", "create", "locked", "--provider", "aws", "--bucket", "velero", "--prefix", "c2",
                     "--credential", "cloud-credentials=cloud", "--config",
                     "region=us-east-1,s3ForcePathStyle=true,s3Url=" + proxy_->url() +
                         ",objectLockMode=GOVERNANCE,objectLockRetention=1s"});
  cluster_->arca_ok({"backup", "create", "bl", "--include-namespaces", "app", "--storage-location", "locked", "--wait"});
  ASSERT_EQ(phase("backups", "bl"), "Completed") << server.log();
  auto c2 = arca::persistence::make_layout("c2");
  ASSERT_TRUE(arca::persistence::backup_exists(*direct_, c2, "bl"));
  proxy_->fail([](std::string_view method, std::string_view target) {
    return method == "DELETE" && contains(target, "/c2/backups/bl/");
  }, 403, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied because "
          "object protected by object lock.</Message></Error>");
  std::this_thread::sleep_for(1100ms);  // arca's own 1 s lock has passed: only the bucket refuses now
  cluster_->arca_ok({"backup", "delete", "bl", "--confirm"});
  auto request = [&] {
    for (const auto& r : cluster_->items("deletebackuprequests"))
      if (r.value("/spec/backupName"_json_pointer, std::string()) == "bl") return r;
    return nlohmann::json();
  };
  ASSERT_TRUE(eventually([&] {
    auto r = request();
    return !r.is_null() && contains(r.value("/status/errors/0"_json_pointer, std::string()), "refuses to delete");
  }, 30s)) << request().dump() << server.log();
  // The status update's own event brings one more try; then nothing until the retry period.
  ASSERT_TRUE(eventually([&] { return proxy_->failed_requests() >= 2; }, 10s)) << server.log();
  std::this_thread::sleep_for(1s);
  int tries = proxy_->failed_requests();
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(proxy_->failed_requests(), tries) << "the deletion is retried in a loop";
  auto r = request();
  EXPECT_EQ(r.value("/status/phase"_json_pointer, std::string()), "InProgress");
  EXPECT_THAT(r.value("/status/errors/0"_json_pointer, std::string()), HasSubstr("object protected by object lock"));
  std::string log = server.log();
  size_t lines = 0;
  for (size_t at = log.find("refuses to delete the backup while it is locked"); at != std::string::npos;
       at = log.find("refuses to delete the backup while it is locked", at + 1))
    ++lines;
  EXPECT_EQ(lines, 1u) << log;
  EXPECT_EQ(phase("backups", "bl"), "Completed");
  EXPECT_TRUE(arca::persistence::backup_exists(*direct_, c2, "bl"));
  EXPECT_TRUE(direct_->head(arca::persistence::backup_key(c2, "bl", arca::persistence::BackupFile::Tarball)).exists);
}

// The drills' F7c: against an API server that cannot be reached, `arca server` said the CRDs were not installed.
TEST(ServerStart, AnUnreachableApiServerIsReportedAsSuch) {
  testsupport::TempDir dir;
  int port = testsupport::free_port();  // nothing listens there
  std::ofstream(dir.file("kubeconfig")) << "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
                                           "    server: http://127.0.0.1:" << port << "\ncontexts:\n- name: c\n"
                                           "  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n"
                                           "- name: u\n  user: {}\n";
  testsupport::ChildProcess server({testsupport::arca_binary(), "--kubeconfig", dir.file("kubeconfig"), "server"},
                                   dir.file("server.log"));
  int status = server.wait(60s);
  ASSERT_NE(status, -1) << "still running: " << server.log();
  EXPECT_NE(status, 0);
  EXPECT_THAT(server.log(), HasSubstr("Unable to connect to the server"));
  EXPECT_THAT(server.log(), Not(HasSubstr("CRDs are not installed")));
}

}  // namespace
