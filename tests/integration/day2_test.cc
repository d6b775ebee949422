// Day-two operations against real processes: kubelite, `arca server` and the `arca` CLI on a local store.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <csignal>

#include "tests/support/cluster.h"
#include "tests/support/object_servers.h"

using namespace std::chrono_literals;
using testsupport::Cluster;
using testsupport::eventually;
using nlohmann::json;

namespace {

std::vector<json> completed(const std::vector<json>& backups) {
  std::vector<json> out;
  for (const auto& b : backups)
    if (b.value("/status/phase"_json_pointer, std::string()) == "Completed") out.push_back(b);
  return out;
}

bool stored(const Cluster& c, const std::string& backup) {
  return std::filesystem::exists(c.store_root() + "/bucket/backups/" + backup + "/velero-backup.json");
}

}  // namespace

TEST(Schedule, Every2sProducesNamedBackupsFromTheTemplate) {
  Cluster c;
  c.start_server();
  c.arca_ok({"schedule", "create", "nightly", "--schedule", "@every 2s", "--include-namespaces", "velero", "--labels",
             "team=ops", "--ttl", "1h"});
  ASSERT_TRUE(eventually([&] { return completed(c.items("backups")).size() >= 2; }, 20s)) << c.server(0).log();
  c.arca_ok({"schedule", "pause", "nightly"});

  std::regex name("^nightly-[0-9]{14}$");
  for (const auto& b : completed(c.items("backups"))) {
    std::string n = b["metadata"]["name"];
    EXPECT_TRUE(std::regex_match(n, name)) << n;
    EXPECT_EQ(b["metadata"]["labels"]["velero.io/schedule-name"], "nightly");
    EXPECT_EQ(b["metadata"]["labels"]["team"], "ops");
    EXPECT_EQ(b["spec"]["includedNamespaces"], json::array({"velero"}));
    EXPECT_EQ(b["spec"]["ttl"], "1h0m0s");
    EXPECT_TRUE(stored(c, n)) << n;
  }
  auto schedules = c.items("schedules");
  ASSERT_EQ(schedules.size(), 1u);
  EXPECT_EQ(schedules[0]["status"]["phase"], "Enabled");
  EXPECT_TRUE(schedules[0]["status"].contains("lastBackup"));
  EXPECT_EQ(schedules[0]["spec"]["paused"], true);

  // That a paused schedule creates nothing however long it waits is shown with a ManualClock, without sleeping:
  // ClockDriven.ScheduleCreatesABackupOnlyWhenTheClockPassesAnActivation (src/controller/clock_driven_test.cc).
  auto get = c.arca_ok({"schedule", "get"});
  EXPECT_NE(get.find("@every 2s"), std::string::npos) << get;
}

TEST(Schedule, InvalidCronFailsValidationAndCreatesNothing) {
  Cluster c;
  c.start_server();
  c.arca_ok({"schedule", "create", "broken", "--schedule", "61 * * * *"});
  ASSERT_TRUE(eventually([&] { return c.items("schedules")[0].value("/status/phase"_json_pointer, std::string()) == "FailedValidation"; }, 10s));
  auto errors = c.items("schedules")[0]["status"]["validationErrors"];
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].get<std::string>().find("61"), std::string::npos) << errors;
  EXPECT_TRUE(c.items("backups").empty());
  auto missing = c.arca({"schedule", "create", "nocron"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("--schedule is required"), std::string::npos) << missing.output;
}

TEST(GarbageCollection, ExpiredBackupsDisappearFromStoreAndCluster) {
  Cluster c;
  c.start_server();
  c.arca_ok({"backup", "create", "short", "--include-namespaces", "velero", "--ttl", "3s", "--wait"});
  c.arca_ok({"backup", "create", "long", "--include-namespaces", "velero", "--ttl", "1h", "--wait"});
  ASSERT_TRUE(stored(c, "short"));
  ASSERT_TRUE(eventually([&] { return c.items("backups").size() == 1 && !stored(c, "short"); }, 20s)) << c.server(0).log();
  EXPECT_EQ(c.items("backups")[0]["metadata"]["name"], "long");
  EXPECT_TRUE(stored(c, "long"));
  EXPECT_NE(c.server(0).log().find("backup=short expired"), std::string::npos);
}

TEST(GarbageCollection, KeepLastNeverDeletesTheNewestGoodBackups) {
  Cluster c;
  c.start_server();
  c.arca_ok({"schedule", "create", "hourly", "--schedule", "@every 1s", "--include-namespaces", "velero", "--ttl", "1s",
             "--keep-last", "2"});
  // More backups come than keep-last keeps, and the older ones expire (ttl 1s) and are collected.
  ASSERT_TRUE(eventually([&] { return c.server(0).log().find("expired") != std::string::npos &&
                                      completed(c.items("backups")).size() >= 2; }, 20s)) << c.server(0).log();
  c.arca_ok({"schedule", "pause", "hourly"});
  // Everything has expired; only the two newest Completed backups stay, in the cluster and in the store. (That
  // they stay however long one waits, and that they are the newest, is ClockDriven's keep-last test.)
  ASSERT_TRUE(eventually([&] { return c.items("backups").size() == 2; }, 20s)) << c.server(0).log();
  auto backups = c.items("backups");
  ASSERT_EQ(backups.size(), 2u);
  for (const auto& b : backups) EXPECT_TRUE(stored(c, b["metadata"]["name"])) << b["metadata"]["name"];
}

TEST(BackupSync, ASecondClusterOnTheSameBucketListsAndRestoresTheBackupsAndOrphansGo) {
  Cluster first;
  first.start_server();
  ASSERT_EQ(first.kubectl({"create", "namespace", "shop"}).exit_code, 0);
  ASSERT_EQ(first.kubectl({"-n", "shop", "create", "configmap", "prices", "--from-literal=apple=3"}).exit_code, 0);
  first.arca_ok({"backup", "create", "before-migration", "--include-namespaces", "shop", "--wait"});
  first.arca_ok({"backup", "create", "doomed", "--include-namespaces", "velero", "--wait"});
  ASSERT_TRUE(stored(first, "before-migration"));

  // As if Velero had written the backup with a file-system backup of one pod volume (arca itself stores null).
  std::string pvbs = first.store_root() + "/bucket/backups/before-migration/before-migration-podvolumebackups.json";
  std::ofstream(pvbs) << R"([{"metadata":{"name":"before-migration-abcde","namespace":"velero","uid":"11","resourceVersion":"9",)"
                         R"("labels":{"velero.io/backup-name":"before-migration","velero.io/backup-uid":"old"},)"
                         R"("ownerReferences":[{"apiVersion":"velero.io/v1","kind":"Backup","name":"before-migration","uid":"old","controller":true}]},)"
                         R"("spec":{"node":"n1","pod":{"kind":"Pod","namespace":"shop","name":"web"},"volume":"data",)"
                         R"("backupStorageLocation":"elsewhere","repoIdentifier":"","uploaderType":"kopia"},)"
                         R"("status":{"phase":"Completed","snapshotID":"f00d"}}])";
  ASSERT_EQ(std::system(("gzip -f " + pvbs).c_str()), 0);

  // An empty cluster whose default location is the same bucket.
  Cluster second(first.store_root(), {"--backup-sync-period", "1s"});
  ASSERT_TRUE(second.items("backups").empty());
  second.start_server();
  ASSERT_TRUE(eventually([&] { return second.items("backups").size() == 2; }, 20s)) << second.server(0).log();
  for (const auto& b : second.items("backups")) {
    EXPECT_EQ(b["status"]["phase"], "Completed") << b;
    EXPECT_EQ(b["spec"]["storageLocation"], "default");
    EXPECT_EQ(b["metadata"]["labels"]["velero.io/storage-location"], "default");
  }
  auto synced_pvbs = second.items("podvolumebackups");
  ASSERT_EQ(synced_pvbs.size(), 1u) << second.server(0).log();
  std::string synced_uid;
  for (const auto& b : second.items("backups"))
    if (b["metadata"]["name"] == "before-migration") synced_uid = b["metadata"]["uid"];
  EXPECT_EQ(synced_pvbs[0]["metadata"]["ownerReferences"][0]["uid"], synced_uid);
  EXPECT_EQ(synced_pvbs[0]["metadata"]["labels"]["velero.io/backup-uid"], synced_uid);
  EXPECT_EQ(synced_pvbs[0]["spec"]["backupStorageLocation"], "default");
  EXPECT_EQ(synced_pvbs[0]["status"]["snapshotID"], "f00d");
  auto get = second.arca_ok({"backup", "get", "before-migration"});
  EXPECT_NE(get.find("Completed"), std::string::npos) << get;

  // Migration: the second cluster restores what the first one backed up.
  second.arca_ok({"restore", "create", "migrated", "--from-backup", "before-migration", "--wait"});
  auto restored = second.kubectl({"-n", "shop", "get", "configmap", "prices", "-o", "jsonpath={.data.apple}"});
  EXPECT_EQ(restored.exit_code, 0) << restored.output;
  EXPECT_EQ(restored.output, "3");

  // Storage of one backup disappears behind the clusters' backs: the second cluster drops its Backup.
  std::filesystem::remove_all(first.store_root() + "/bucket/backups/doomed");
  ASSERT_TRUE(eventually([&] { return second.items("backups").size() == 1; }, 20s)) << second.server(0).log();
  EXPECT_EQ(second.items("backups")[0]["metadata"]["name"], "before-migration");
}

namespace {

// An unsigned HEAD, which s3rver answers as it answers the signed ones.
bool in_s3(const testsupport::S3rver& s3, const std::string& key) {
  testsupport::TempDir dir;
  testsupport::ChildProcess curl({"curl", "-sfI", s3.url + "/" + key}, dir.file("out"));
  return curl.wait(10s) == 0;
}

}  // namespace

// The migration path on a real object store: cluster one backs up to an S3 bucket and lets one backup expire
// (GC deletes it from the bucket, not only from the cluster); an empty cluster pointed at the same bucket then
// sees exactly the backup that is left and restores it.
TEST(Migration, ThroughAnS3BucketAfterGarbageCollection) {
  testsupport::TempDir dir;
  auto s3 = testsupport::start_s3rver(dir);
  testsupport::create_bucket(s3, "arca-backups");
  Cluster::S3 bucket{s3.url, "arca-backups", "clusters/shared"};
  auto stored_in_s3 = [&](const std::string& backup) {
    return in_s3(s3, "arca-backups/clusters/shared/backups/" + backup + "/velero-backup.json");
  };

  Cluster first(bucket);
  first.start_server();
  ASSERT_EQ(first.kubectl({"create", "namespace", "shop"}).exit_code, 0);
  ASSERT_EQ(first.kubectl({"-n", "shop", "create", "configmap", "prices", "--from-literal=pear=5"}).exit_code, 0);
  first.arca_ok({"backup", "create", "to-migrate", "--include-namespaces", "shop", "--wait"});
  // Long enough a TTL to see its files in the bucket first on a busy machine.
  first.arca_ok({"backup", "create", "short-lived", "--include-namespaces", "shop", "--ttl", "6s", "--wait"});
  ASSERT_TRUE(stored_in_s3("to-migrate"));
  ASSERT_TRUE(stored_in_s3("short-lived"));
  ASSERT_TRUE(in_s3(s3, "arca-backups/clusters/shared/backups/short-lived/short-lived.tar.gz"));
  ASSERT_TRUE(eventually([&] { return first.items("backups").size() == 1; }, 20s)) << first.server(0).log();
  EXPECT_EQ(first.items("backups")[0]["metadata"]["name"], "to-migrate");
  EXPECT_FALSE(stored_in_s3("short-lived"));
  EXPECT_FALSE(in_s3(s3, "arca-backups/clusters/shared/backups/short-lived/short-lived.tar.gz"));
  EXPECT_TRUE(stored_in_s3("to-migrate"));

  Cluster second(bucket, {"--backup-sync-period", "1s"});
  second.start_server();
  ASSERT_TRUE(eventually([&] { return second.items("backups").size() == 1; }, 20s)) << second.server(0).log();
  auto synced = second.items("backups")[0];
  EXPECT_EQ(synced["metadata"]["name"], "to-migrate");
  EXPECT_EQ(synced["status"]["phase"], "Completed");
  second.arca_ok({"restore", "create", "moved", "--from-backup", "to-migrate", "--wait"});
  auto restored = second.kubectl({"-n", "shop", "get", "configmap", "prices", "-o", "jsonpath={.data.pear}"});
  EXPECT_EQ(restored.exit_code, 0) << restored.output;
  EXPECT_EQ(restored.output, "5");
  // The restore's files went to the shared bucket, beside the backup.
  EXPECT_TRUE(in_s3(s3, "arca-backups/clusters/shared/restores/moved/restore-moved-logs.gz"));
}

TEST(LeaderElection, TwoReplicasNeverRunTheSameBackup) {
  Cluster c;
  c.start_server();
  ASSERT_TRUE(eventually([&] { return c.server(0).log().find("leads (lease") != std::string::npos; }, 20s))
      << c.server(0).log();
  c.start_server();
  ASSERT_TRUE(eventually([&] { return c.server(1).log().find("waiting for lease") != std::string::npos; }, 20s))
      << c.server(1).log();

  c.arca_ok({"backup", "create", "once", "--include-namespaces", "velero", "--wait"});
  auto ran = [&](size_t server, const std::string& backup) {
    return c.server(server).log().find("backup=" + backup + " phase=Completed") != std::string::npos;
  };
  EXPECT_TRUE(ran(0, "once"));
  EXPECT_FALSE(ran(1, "once")) << c.server(1).log();
  auto lease = c.kubectl({"-n", "velero", "get", "leases.coordination.k8s.io", "arca-server", "-o",
                          "jsonpath={.spec.holderIdentity}"});
  EXPECT_NE(lease.output.find("_"), std::string::npos) << lease.output;

  // The leader stops (and releases the lease): the standby takes over and runs the next backup, and does
  // not fail or re-run the finished one.
  c.server(0).stop();
  ASSERT_TRUE(eventually([&] { return c.server(1).log().find("leads (lease") != std::string::npos; }, 20s))
      << c.server(1).log();
  c.arca_ok({"backup", "create", "after-failover", "--include-namespaces", "velero", "--wait"});
  EXPECT_TRUE(ran(1, "after-failover")) << c.server(1).log();
  EXPECT_FALSE(ran(1, "once"));
  for (const auto& b : c.items("backups")) EXPECT_EQ(b["status"]["phase"], "Completed") << b;
}

namespace {

std::string scrape(int port) {
  testsupport::TempDir log;
  testsupport::ChildProcess curl({"curl", "-sf", "http://127.0.0.1:" + std::to_string(port) + "/metrics"}, log.file("out"));
  curl.wait(10s);
  return testsupport::read_file(log.file("out"));
}

double metric(const std::string& text, const std::string& series) {
  auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

}  // namespace

TEST(Metrics, CountersMoveWithBackupsSchedulesDeletionsAndRestores) {
  Cluster c;
  int port = testsupport::free_port();
  c.start_server({"--metrics-address", "127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(testsupport::wait_for_port(port, 20s)) << c.server(0).log();
  auto before = scrape(port);
  EXPECT_EQ(metric(before, "velero_backup_attempt_total{schedule=\"\"}"), 0) << before;
  EXPECT_EQ(metric(before, "velero_backup_success_total{schedule=\"\"}"), 0) << before;
  EXPECT_EQ(metric(before, "velero_backup_deletion_attempt_total{schedule=\"\"}"), 0) << before;
  EXPECT_EQ(metric(before, "velero_restore_attempt_total{schedule=\"\"}"), 0) << before;
  EXPECT_EQ(metric(before, "velero_backup_total"), 0) << before;
  EXPECT_NE(before.find("# TYPE velero_backup_duration_seconds histogram"), std::string::npos);

  // A schedule's series exist at 0 as soon as the schedule does, before its first backup.
  c.arca_ok({"schedule", "create", "metered", "--schedule", "@every 1h", "--include-namespaces", "velero"});
  ASSERT_TRUE(eventually([&] { return metric(scrape(port), "velero_backup_attempt_total{schedule=\"metered\"}") == 0; }, 10s))
      << scrape(port);

  c.arca_ok({"backup", "create", "counted", "--include-namespaces", "velero", "--wait"});
  c.arca_ok({"backup", "create", "counted-too", "--include-namespaces", "velero", "--wait"});
  // A scheduled run, labelled with its schedule (the CLI's --from-schedule makes one at once).
  c.arca_ok({"backup", "create", "--from-schedule", "metered", "--wait"});
  ASSERT_TRUE(eventually([&] { return metric(scrape(port), "velero_backup_success_total{schedule=\"metered\"}") == 1; }, 10s))
      << scrape(port);
  auto after = scrape(port);
  EXPECT_EQ(metric(after, "velero_backup_success_total{schedule=\"\"}"), 2) << after;
  EXPECT_EQ(metric(after, "velero_backup_attempt_total{schedule=\"\"}"), 2) << after;
  EXPECT_EQ(metric(after, "velero_backup_attempt_total{schedule=\"metered\"}"), 1) << after;
  EXPECT_EQ(metric(after, "velero_backup_failure_total{schedule=\"\"}"), 0) << after;
  EXPECT_EQ(metric(after, "velero_backup_total"), 3) << after;
  EXPECT_EQ(metric(after, "velero_backup_duration_seconds_count{schedule=\"\"}"), 2) << after;
  EXPECT_GT(metric(after, "velero_backup_items_total{schedule=\"\"}"), 0) << after;
  EXPECT_EQ(metric(after, "velero_backup_last_status{schedule=\"metered\"}"), 1) << after;
  EXPECT_GT(metric(after, "velero_backup_last_successful_timestamp{schedule=\"metered\"}"), 1.7e9) << after;
  // The size of the tarball in the store, as `ls` sees it.
  std::string scheduled;
  for (const auto& b : c.items("backups"))
    if (b["metadata"]["labels"].value("velero.io/schedule-name", "") == "metered") scheduled = b["metadata"]["name"];
  ASSERT_FALSE(scheduled.empty());
  auto tarball = c.store_root() + "/bucket/backups/" + scheduled + "/" + scheduled + ".tar.gz";
  ASSERT_TRUE(eventually([&] { return metric(scrape(port), "velero_backup_tarball_size_bytes{schedule=\"metered\"}") > 0; }, 10s));
  EXPECT_EQ(metric(scrape(port), "velero_backup_tarball_size_bytes{schedule=\"metered\"}"),
            double(std::filesystem::file_size(tarball)));

  c.arca_ok({"restore", "create", "counted-back", "--from-backup", "counted", "--wait"});
  c.arca_ok({"backup", "delete", "counted-too", "--confirm"});
  ASSERT_TRUE(eventually([&] { return metric(scrape(port), "velero_backup_deletion_success_total{schedule=\"\"}") == 1; }, 20s))
      << scrape(port) << c.server(0).log();
  after = scrape(port);
  EXPECT_EQ(metric(after, "velero_backup_deletion_attempt_total{schedule=\"\"}"), 1) << after;
  EXPECT_EQ(metric(after, "velero_backup_deletion_failure_total{schedule=\"\"}"), 0) << after;
  // Backups and requests are watched apart: the Backup's deletion may arrive a moment after the request's.
  EXPECT_TRUE(eventually([&] { return metric(scrape(port), "velero_backup_total") == 2; }, 10s)) << scrape(port);
  EXPECT_EQ(metric(after, "velero_restore_attempt_total{schedule=\"\"}"), 1) << after;
  EXPECT_EQ(metric(after, "velero_restore_success_total{schedule=\"\"}"), 1) << after;
  EXPECT_EQ(metric(after, "velero_restore_total"), 1) << after;
}

TEST(Version, ClientAndServerThroughAServerStatusRequest) {
  Cluster c;
  auto without_server = c.arca({"version", "--timeout", "1s"});
  EXPECT_EQ(without_server.exit_code, 0);
  EXPECT_NE(without_server.output.find("<error getting server version: timed out"), std::string::npos)
      << without_server.output;
  c.start_server();
  auto both = c.arca_ok({"version"});
  EXPECT_NE(both.find("Client:\n\tVersion: v"), std::string::npos) << both;
  EXPECT_NE(both.find("Server:\n\tVersion: v"), std::string::npos) << both;
  auto requests = c.items("serverstatusrequests");
  ASSERT_FALSE(requests.empty());
  bool processed = false;
  for (const auto& r : requests)
    if (r.value("/status/phase"_json_pointer, std::string()) == "Processed") {
      processed = true;
      EXPECT_EQ(r["status"]["plugins"].size(), 3u);
    }
  EXPECT_TRUE(processed);
  EXPECT_EQ(c.arca_ok({"version", "--client-only"}).find("Server:"), std::string::npos);
}

TEST(Locations, SetDefaultDeleteAndSnapshotLocations) {
  Cluster c;
  std::filesystem::create_directories(c.store_root() + "/second");
  c.arca_ok({"backup-location", "create", "second", "--provider", "local", "--bucket", "second", "--config",
             "root=" + c.store_root()});
  c.arca_ok({"backup-location", "set", "second", "--default"});
  c.arca_ok({"backup-location", "set", "default", "--credential", "creds=cloud"});
  for (const auto& l : c.items("backupstoragelocations")) {
    bool is_second = l["metadata"]["name"] == "second";
    EXPECT_EQ(l["spec"].value("default", false), is_second) << l;
    if (!is_second) {
      EXPECT_EQ(l["spec"]["credential"], (json{{"name", "creds"}, {"key", "cloud"}}));
    }
  }
  auto bad = c.arca({"backup-location", "set", "second", "--credential", "nokey"});
  EXPECT_EQ(bad.output, "An error occurred: --credential must be of the form SECRET_NAME=KEY\n");

  c.start_server();
  c.arca_ok({"backup", "create", "on-second", "--include-namespaces", "velero", "--storage-location", "second", "--wait"});
  ASSERT_EQ(c.items("backups").size(), 1u);
  ASSERT_EQ(c.items("backups")[0]["status"]["phase"], "Completed");
  c.server(0).stop();  // sync would bring the backup back from the bucket
  auto deleted = c.arca_ok({"backup-location", "delete", "second", "--confirm"});
  EXPECT_NE(deleted.find("Backups associated"), std::string::npos) << deleted;
  EXPECT_TRUE(c.items("backups").empty());
  EXPECT_TRUE(std::filesystem::exists(c.store_root() + "/second/backups/on-second/velero-backup.json"));

  c.arca_ok({"snapshot-location", "create", "ebs", "--provider", "aws", "--config", "region=eu-west-1"});
  auto table = c.arca_ok({"snapshot-location", "get"});
  EXPECT_NE(table.find("ebs    aws"), std::string::npos) << table;
  EXPECT_EQ(c.items("volumesnapshotlocations")[0]["spec"]["config"]["region"], "eu-west-1");
}

TEST(LeaderElection, AKilledLeaderOnThisHostIsReplacedAtOnce) {
  Cluster c;
  c.start_server();
  ASSERT_TRUE(eventually([&] { return c.server(0).log().find("leads (lease") != std::string::npos; }, 20s));
  c.server(0).signal(SIGKILL);
  c.server(0).wait(5s);
  auto started = std::chrono::steady_clock::now();
  c.start_server();
  ASSERT_TRUE(eventually([&] { return c.server(1).log().find("leads (lease") != std::string::npos; }, 20s))
      << c.server(1).log();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);  // not the 15 s lease duration
}

TEST(ClientConfig, SetGetAndTheNamespaceItChooses) {
  Cluster c;
  testsupport::TempDir home;
  auto arca = [&](const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
    std::vector<std::string> argv = {testsupport::arca_binary(), "--kubeconfig", c.kubeconfig()};
    argv.insert(argv.end(), args.begin(), args.end());
    testsupport::ChildProcess p(argv, home.file("out.log"), env);
    p.wait(30s);
    return testsupport::read_file(home.file("out.log"));
  };
  std::map<std::string, std::string> env = {{"HOME", home.path()}};
  EXPECT_EQ(arca({"client", "config", "get", "namespace"}, env), "namespace: <NOT SET>\n");
  arca({"client", "config", "set", "namespace=elsewhere", "features=EnableCSI"}, env);
  EXPECT_EQ(arca({"client", "config", "get"}, env), "features: EnableCSI\nnamespace: elsewhere\n");
  auto mode = std::filesystem::status(home.path() + "/.config/velero/config.json").permissions();
  EXPECT_EQ(mode & std::filesystem::perms::all, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  // The config's namespace wins over $VELERO_NAMESPACE and loses to -n.
  ASSERT_EQ(c.kubectl({"create", "namespace", "elsewhere"}).exit_code, 0);
  env["VELERO_NAMESPACE"] = "velero";
  arca({"schedule", "create", "from-config", "--schedule", "@daily", "--paused"}, env);
  arca({"-n", "velero", "schedule", "create", "from-flag", "--schedule", "@daily", "--paused"}, env);
  EXPECT_EQ(c.kubectl({"-n", "elsewhere", "get", "schedules.velero.io", "from-config"}).exit_code, 0);
  EXPECT_EQ(c.kubectl({"-n", "velero", "get", "schedules.velero.io", "from-flag"}).exit_code, 0);

  arca({"client", "config", "set", "namespace="}, env);
  EXPECT_EQ(arca({"client", "config", "get"}, env), "features: EnableCSI\n");
}

namespace {

// Runs `shell args... script arca` and returns what it printed (stdout and stderr); fails the test on a
// non-zero exit.
std::string run_shell(const std::vector<std::string>& argv, const std::string& script) {
  testsupport::TempDir dir;
  std::ofstream(dir.file("check")) << script;
  auto command = argv;
  command.push_back(dir.file("check"));
  command.push_back(testsupport::arca_binary());
  testsupport::ChildProcess shell(command, dir.file("out"));
  int status = shell.wait(20s);
  auto out = testsupport::read_file(dir.file("out"));
  EXPECT_EQ(status, 0) << out;
  return out;
}

bool installed(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace

TEST(Completion, BashCompletesSubcommandsAndFlagsFromTheCommandTree) {
  // A flag's value (the namespace "backup" below) is skipped, and completed as a file name.
  EXPECT_EQ(run_shell({"bash"}, "cd \"$(dirname \"$0\")\" && touch credentials-velero\n"
                                "source <(\"$1\" completion bash)\n"
                                "COMP_WORDS=(arca backup cr); COMP_CWORD=2; _arca; echo \"${COMPREPLY[*]}\"\n"
                                "COMP_WORDS=(arca schedule p); COMP_CWORD=2; _arca; echo \"${COMPREPLY[*]}\"\n"
                                "COMP_WORDS=(arca -n x install --no-s); COMP_CWORD=4; _arca; echo \"${COMPREPLY[*]}\"\n"
                                "COMP_WORDS=(arca completion ''); COMP_CWORD=2; _arca; echo \"${COMPREPLY[*]}\"\n"
                                "COMP_WORDS=(arca -n backup backup cr); COMP_CWORD=4; _arca; echo \"${COMPREPLY[*]}\"\n"
                                "COMP_WORDS=(arca install --secret-file cre); COMP_CWORD=3; _arca; echo \"${COMPREPLY[*]}\"\n"),
            "create\npause\n--no-secret\nbash zsh fish --help\ncreate\ncredentials-velero\n");
  testsupport::TempDir dir;
  testsupport::ChildProcess unsupported({testsupport::arca_binary(), "completion", "powershell"}, dir.file("out"));
  EXPECT_NE(unsupported.wait(20s), 0);
  EXPECT_EQ(testsupport::read_file(dir.file("out")), "An error occurred: SHELL: powershell not in {bash,zsh,fish}\n");
}

// zsh's completion system is interactive; the script's function runs here with compadd replaced by one that
// filters by $PREFIX as compadd does, over the same $words/$CURRENT zsh gives it.
TEST(Completion, ZshScriptParsesAndCompletesSubcommandsAndFlags) {
  if (!installed("zsh")) GTEST_SKIP() << "zsh is not installed";
  testsupport::TempDir dir;
  {
    testsupport::ChildProcess script({testsupport::arca_binary(), "completion", "zsh"}, dir.file("_arca"));
    ASSERT_EQ(script.wait(20s), 0);
  }
  run_shell({"zsh", "-n"}, testsupport::read_file(dir.file("_arca")));
  EXPECT_EQ(run_shell({"zsh", "-f"}, "compdef() { :; }\n"
                                     "compadd() { [[ $1 == -- ]] && shift; local w; for w in \"$@\"; do\n"
                                     "  [[ $w == ${PREFIX}* ]] && print -r -- $w; done; return 0; }\n"
                                     "_files() { print -r -- '(files)'; }\n"
                                     "source <(\"$1\" completion zsh)\n"
                                     "words=(arca backup cr); CURRENT=3; PREFIX=cr; _arca\n"
                                     "words=(arca -n x install --no-s); CURRENT=5; PREFIX=--no-s; _arca\n"
                                     "words=(arca -n backup backup cr); CURRENT=5; PREFIX=cr; _arca\n"
                                     "words=(arca install --secret-file cre); CURRENT=4; PREFIX=cre; _arca\n"),
            "create\n--no-secret\ncreate\n(files)\n");
}

// fish answers `complete -C LINE` with the completions of LINE, through the script's own conditions.
TEST(Completion, FishScriptParsesAndCompletesSubcommandsAndFlags) {
  if (!installed("fish")) GTEST_SKIP() << "fish is not installed";
  testsupport::TempDir dir;
  {
    testsupport::ChildProcess script({testsupport::arca_binary(), "completion", "fish"}, dir.file("arca.fish"));
    ASSERT_EQ(script.wait(20s), 0);
  }
  run_shell({"fish", "--no-execute"}, testsupport::read_file(dir.file("arca.fish")));
  EXPECT_EQ(run_shell({"fish"}, "cd (dirname (status filename)) && touch credentials-velero\n"
                                "\"$argv[1]\" completion fish | source\n"
                                "complete -C 'arca backup cr'\n"
                                "complete -C 'arca -n x install --no-s'\n"
                                "complete -C 'arca completion z'\n"
                                "complete -C 'arca backup create -o cre'\n"),
            "create\tCreate a backup\n--no-secret\tFlag indicating if a secret should be created. Must be used as confirmation if --secret-file is not provided. Optional.\nzsh\tzsh completion\n"
            "credentials-velero\n");
}
