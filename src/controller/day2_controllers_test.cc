// Unit tests of the day-two controllers' pure parts: scheduled backup construction and validation, keep-last-N,
// backup sync import rules, lease ownership and the metrics registry.
#include <gtest/gtest.h>

#include "controller/backup_sync_controller.h"
#include "controller/gc_controller.h"
#include "controller/leader_election.h"
#include "controller/metrics.h"
#include "controller/schedule_controller.h"

using namespace arca;
using namespace arca::controller;
using nlohmann::json;

namespace {

api::Schedule schedule(const std::string& cron) {
  api::Schedule s;
  s.metadata.name = "nightly";
  s.metadata.namespace_ = "velero";
  s.metadata.uid = "uid-1";
  s.metadata.labels = {{"team", "ops"}};
  s.metadata.annotations = {{"note", "x"}};
  s.spec.schedule = cron;
  s.spec.backup_template.included_namespaces = {"app"};
  api::BackupResourceHookSpec hook;
  hook.name = "freeze";
  hook.pre.resize(1);
  hook.pre[0].exec = api::ExecHook{"db", {"fsfreeze", "-f", "/data"}, api::HookErrorMode::Continue, std::chrono::seconds(9), {}};
  s.spec.backup_template.hooks.resources.push_back(hook);
  return s;
}

api::Backup backup(const std::string& name, api::BackupPhase phase, const char* started) {
  api::Backup b;
  b.metadata.name = name;
  b.status.phase = phase;
  b.status.start_timestamp = parse_rfc3339(started);
  return b;
}

}  // namespace

TEST(ScheduleController, BackupIsNamedByTimeAndCarriesTheTemplate) {
  auto s = schedule("@every 5m");
  auto b = backup_for_schedule(s, parse_rfc3339("2024-01-02T03:04:05Z"));
  EXPECT_EQ(b.metadata.name, "nightly-20240102030405");
  EXPECT_EQ(b.metadata.namespace_, "velero");
  EXPECT_EQ(b.spec.included_namespaces, std::vector<std::string>{"app"});
  // The template's hooks go with it (Velero's schedule_controller.go getBackup copies the whole template).
  ASSERT_EQ(b.spec.hooks.resources.size(), 1u);
  EXPECT_EQ(b.spec.hooks.resources[0].name, "freeze");
  ASSERT_TRUE(b.spec.hooks.resources[0].pre.at(0).exec);
  EXPECT_EQ(b.spec.hooks.resources[0].pre[0].exec->command, (std::vector<std::string>{"fsfreeze", "-f", "/data"}));
  EXPECT_EQ(b.spec.hooks.resources[0].pre[0].exec->timeout, std::chrono::seconds(9));
  EXPECT_EQ(b.metadata.labels.at("team"), "ops");  // no template labels: the schedule's
  EXPECT_EQ(b.metadata.labels.at("velero.io/schedule-name"), "nightly");
  EXPECT_EQ(b.metadata.annotations.at("note"), "x");
  EXPECT_TRUE(b.metadata.owner_references.empty());

  s.spec.backup_template.metadata.labels = {{"tier", "gold"}};
  s.spec.use_owner_references_in_backup = true;
  b = backup_for_schedule(s, parse_rfc3339("2024-01-02T03:04:05Z"));
  EXPECT_EQ(b.metadata.labels.count("team"), 0u);  // template labels replace the schedule's
  EXPECT_EQ(b.metadata.labels.at("tier"), "gold");
  ASSERT_EQ(b.metadata.owner_references.size(), 1u);
  EXPECT_EQ(b.metadata.owner_references[0].kind, "Schedule");
  EXPECT_EQ(b.metadata.owner_references[0].uid, "uid-1");
  EXPECT_EQ(b.metadata.owner_references[0].controller, true);
}

TEST(ScheduleController, ValidationMessages) {
  EXPECT_TRUE(schedule_validation_errors(schedule("0 3 * * *")).empty());
  EXPECT_TRUE(schedule_validation_errors(schedule("@every 2s")).empty());
  EXPECT_EQ(schedule_validation_errors(schedule("")),
            std::vector<std::string>{"Schedule must be a non-empty valid Cron expression"});
  auto bad = schedule_validation_errors(schedule("0 25 * * *"));
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0].rfind("invalid schedule: ", 0), 0u) << bad[0];
}

TEST(GcController, KeepLastProtectsTheNewestCompletedOnly) {
  using P = api::BackupPhase;
  std::vector<api::Backup> backups = {backup("s-1", P::Completed, "2024-01-01T00:00:00Z"),
                                      backup("s-2", P::Completed, "2024-01-02T00:00:00Z"),
                                      backup("s-3", P::Failed, "2024-01-03T00:00:00Z"),
                                      backup("s-4", P::PartiallyFailed, "2024-01-04T00:00:00Z")};
  EXPECT_EQ(protected_by_keep_last(backups, 1), std::vector<std::string>{"s-2"});
  EXPECT_EQ(protected_by_keep_last(backups, 2), (std::vector<std::string>{"s-2", "s-1"}));
  EXPECT_EQ(protected_by_keep_last(backups, 5), (std::vector<std::string>{"s-2", "s-1"}));
  EXPECT_TRUE(protected_by_keep_last(backups, 0).empty());
}

TEST(GcController, ExpiredMeansExpirationNotAfterNow) {
  api::Backup b;
  auto now = parse_rfc3339("2024-01-02T00:00:00Z");
  EXPECT_FALSE(is_expired(b, now));  // no expiration: never
  b.status.expiration = now;
  EXPECT_TRUE(is_expired(b, now));
  b.status.expiration = now + std::chrono::seconds(1);
  EXPECT_FALSE(is_expired(b, now));
}

TEST(BackupSync, ImportResetsClusterFieldsAndPointsAtTheLocation) {
  auto now = parse_rfc3339("2024-01-02T00:00:00Z");
  api::Backup stored = backup("b1", api::BackupPhase::Completed, "2024-01-01T00:00:00Z");
  stored.metadata.namespace_ = "other";
  stored.metadata.uid = "old-uid";
  stored.metadata.resource_version = "42";
  stored.metadata.finalizers = {"x"};
  stored.spec.storage_location = "somewhere-else";
  auto imported = backup_to_import(stored, "primary", "velero", now);
  ASSERT_TRUE(imported);
  EXPECT_EQ(imported->metadata.namespace_, "velero");
  EXPECT_TRUE(imported->metadata.uid.empty());
  EXPECT_TRUE(imported->metadata.resource_version.empty());
  EXPECT_TRUE(imported->metadata.finalizers.empty());
  EXPECT_EQ(imported->spec.storage_location, "primary");
  EXPECT_EQ(imported->metadata.labels.at("velero.io/storage-location"), "primary");
  EXPECT_EQ(imported->status.phase, api::BackupPhase::Completed);
}

TEST(BackupSync, UnfinishedBackupsWaitUntilExpiredThenArrivePartiallyFailed) {
  auto now = parse_rfc3339("2024-01-02T00:00:00Z");
  api::Backup stored = backup("b1", api::BackupPhase::WaitingForPluginOperations, "2024-01-01T00:00:00Z");
  stored.status.expiration = now + std::chrono::hours(1);
  EXPECT_FALSE(backup_to_import(stored, "default", "velero", now));
  stored.status.expiration = now - std::chrono::hours(1);
  auto imported = backup_to_import(stored, "default", "velero", now);
  ASSERT_TRUE(imported);
  EXPECT_EQ(imported->status.phase, api::BackupPhase::PartiallyFailed);
}

TEST(BackupSync, PodVolumeBackupsFollowTheImportedBackup) {
  EXPECT_TRUE(pod_volume_backups_to_import("null\n", "b1", "new-uid", "primary", "velero").empty());
  json stored = json::array({{{"metadata",
                               {{"name", "b1-x7"},
                                {"namespace", "velero-old"},
                                {"uid", "pvb-old-uid"},
                                {"resourceVersion", "42"},
                                {"labels", {{"velero.io/backup-name", "b1"}, {"velero.io/backup-uid", "old-uid"}}},
                                {"ownerReferences",
                                 {{{"apiVersion", "velero.io/v1"}, {"kind", "Backup"}, {"name", "b1"}, {"uid", "old-uid"}},
                                  {{"apiVersion", "v1"}, {"kind", "Pod"}, {"name", "b1"}, {"uid", "pod-uid"}}}}}},
                              {"spec", {{"volume", "data"}, {"backupStorageLocation", "old-name"}}},
                              {"status", {{"phase", "Completed"}, {"snapshotID", "abc123"}}}}});
  auto pvbs = pod_volume_backups_to_import(stored.dump(), "b1", "new-uid", "primary", "velero");
  ASSERT_EQ(pvbs.size(), 1u);
  const auto& pvb = pvbs[0];
  EXPECT_EQ(pvb["kind"], "PodVolumeBackup");
  EXPECT_EQ(pvb["apiVersion"], "velero.io/v1");
  EXPECT_EQ(pvb["metadata"]["namespace"], "velero");
  EXPECT_FALSE(pvb["metadata"].contains("uid"));
  EXPECT_FALSE(pvb["metadata"].contains("resourceVersion"));
  EXPECT_EQ(pvb["metadata"]["labels"]["velero.io/backup-uid"], "new-uid");
  EXPECT_EQ(pvb["metadata"]["ownerReferences"][0]["uid"], "new-uid");
  EXPECT_EQ(pvb["metadata"]["ownerReferences"][1]["uid"], "pod-uid");  // not the Backup: untouched
  EXPECT_EQ(pvb["spec"]["backupStorageLocation"], "primary");
  EXPECT_EQ(pvb["status"]["snapshotID"], "abc123");  // what a restore needs
  EXPECT_THROW(pod_volume_backups_to_import("{}", "b1", "u", "primary", "velero"), std::runtime_error);
}

TEST(LeaderElection, LeaseIsFreeWhenUnheldOursOrExpired) {
  auto now = parse_rfc3339("2024-01-02T00:00:30Z");
  EXPECT_TRUE(lease_available(json::object(), "me", now));
  json lease = {{"spec", {{"holderIdentity", "other"}, {"leaseDurationSeconds", 15}, {"renewTime", "2024-01-02T00:00:20.000000Z"}}}};
  EXPECT_FALSE(lease_available(lease, "me", now));  // renewed 10 s ago, valid for 15
  EXPECT_TRUE(lease_available(lease, "other", now));
  lease["spec"]["renewTime"] = "2024-01-02T00:00:10.000000Z";
  EXPECT_TRUE(lease_available(lease, "me", now));  // 20 s without renewal
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["renewTime"] = "2024-01-02T00:00:29.000000Z";
  EXPECT_TRUE(lease_available(lease, "me", now));  // released
}

TEST(Metrics, TransitionsCountOnceAndRenderAsPrometheusText) {
  MetricsRegistry r;
  r.init_schedule("");
  json fresh = {{"metadata", {{"name", "b"}, {"labels", {{"velero.io/schedule-name", "daily"}}}}}};
  json running = fresh;
  running["status"] = {{"phase", "InProgress"}, {"startTimestamp", "2024-01-02T00:00:00Z"}};
  json done = running;
  done["status"]["phase"] = "Completed";
  done["status"]["completionTimestamp"] = "2024-01-02T00:01:30Z";
  done["status"]["progress"] = {{"itemsBackedUp", 6}, {"totalItems", 7}};
  done["status"]["warnings"] = 2;
  record_backup_transition(r, fresh, running);
  record_backup_transition(r, running, running);  // resync: no change, no count
  record_backup_transition(r, running, done);
  auto text = r.exposition();
  EXPECT_NE(text.find("velero_backup_attempt_total{schedule=\"daily\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("velero_backup_success_total{schedule=\"daily\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("velero_backup_items_total{schedule=\"daily\"} 7\n"), std::string::npos) << text;
  EXPECT_NE(text.find("velero_backup_duration_seconds_bucket{schedule=\"daily\",le=\"60\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("velero_backup_duration_seconds_bucket{schedule=\"daily\",le=\"300\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("velero_backup_duration_seconds_sum{schedule=\"daily\"} 90\n"), std::string::npos) << text;
  EXPECT_NE(text.find("velero_backup_failure_total{schedule=\"\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE velero_backup_attempt_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("velero_backup_warning_total{schedule=\"daily\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("velero_volume_snapshot_attempt_total{schedule=\"daily\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("velero_csi_snapshot_attempt_total{schedule=\"\",backupName=\"\"} 0\n"), std::string::npos) << text;
  // Only InitSchedule's list is there before anything happened: no deletion of schedule "daily" yet.
  EXPECT_EQ(text.find("velero_backup_deletion_attempt_total{schedule=\"daily\"}"), std::string::npos) << text;

  json restore_new = {{"spec", {{"backupName", "b"}}}};
  json restore_failed = restore_new;
  restore_failed["status"] = {{"phase", "Failed"}};
  record_restore_transition(r, restore_new, restore_failed);
  text = r.exposition();
  EXPECT_NE(text.find("velero_restore_attempt_total{schedule=\"\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("velero_restore_failed_total{schedule=\"\"} 1\n"), std::string::npos) << text;
}

// arca_backup_verification_total counts each new verification result once, by schedule and result.
TEST(Metrics, VerificationResultsCountOncePerRequest) {
  MetricsRegistry r;
  json plain = {{"metadata", {{"name", "b"}, {"labels", {{"velero.io/schedule-name", "daily"}}}}}};
  auto verified = [&](const std::string& request, const std::string& result) {
    json b = plain;
    b["metadata"]["annotations"]["arca.dev/verification"] =
        json{{"request", request}, {"result", result}, {"message", "m"}, {"time", "2026-01-01T00:00:00Z"}}.dump();
    return b;
  };
  record_verification_transition(r, plain, plain);  // nothing verified yet
  record_verification_transition(r, plain, verified("scheduled", "Verified"));
  record_verification_transition(r, verified("scheduled", "Verified"), verified("scheduled", "Verified"));  // resync
  record_verification_transition(r, verified("scheduled", "Verified"), verified("a1b2", "Failed"));
  auto text = r.exposition();
  EXPECT_NE(text.find("arca_backup_verification_total{schedule=\"daily\",result=\"Verified\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("arca_backup_verification_total{schedule=\"daily\",result=\"Failed\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE arca_backup_verification_total counter\n"), std::string::npos) << text;
}

// A scheduled restore test counts once, as RestoreTestPassed/RestoreTestFailed; a backup not due counts nothing.
TEST(Metrics, RestoreTestsCountOncePerBackup) {
  MetricsRegistry r;
  json plain = {{"metadata", {{"name", "b"}, {"labels", {{"velero.io/schedule-name", "daily"}}}}}};
  auto tested = [&](const std::string& result) {
    json b = plain;
    b["metadata"]["annotations"]["arca.dev/restore-test"] = json{{"ordinal", 2}, {"result", result}}.dump();
    return b;
  };
  record_verification_transition(r, plain, tested("NotDue"));
  record_verification_transition(r, plain, tested("Passed"));
  record_verification_transition(r, tested("Passed"), tested("Passed"));  // resync
  record_verification_transition(r, plain, tested("Failed"));
  auto text = r.exposition();
  EXPECT_NE(text.find("arca_backup_verification_total{schedule=\"daily\",result=\"RestoreTestPassed\"} 1\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("arca_backup_verification_total{schedule=\"daily\",result=\"RestoreTestFailed\"} 1\n"),
            std::string::npos) << text;
  EXPECT_EQ(text.find("NotDue"), std::string::npos) << text;
}

TEST(Metrics, InitScheduleShowsZerosForEverySeriesVeleroInitialises) {
  MetricsRegistry r;
  r.init_schedule("nightly");
  r.init_schedule("nightly");  // every reconcile of the schedule: still 0, not duplicated
  auto text = r.exposition();
  for (const char* name : {"velero_backup_attempt_total", "velero_backup_deletion_failure_total", "velero_backup_last_status",
                           "velero_restore_validation_failed_total", "velero_volume_snapshot_failure_total"}) {
    std::string series = std::string(name) + "{schedule=\"nightly\"} 0\n";
    EXPECT_NE(text.find(series), std::string::npos) << series << text;
    EXPECT_EQ(text.find(series), text.rfind(series)) << series;
  }
  EXPECT_EQ(text.find("velero_backup_tarball_size_bytes{"), std::string::npos) << text;  // a gauge Velero does not init
  // Velero's client renders families sorted by name.
  EXPECT_LT(text.find("# HELP velero_backup_attempt_total"), text.find("# HELP velero_backup_deletion_attempt_total"));
  EXPECT_LT(text.find("# HELP velero_restore_total"), text.find("# HELP velero_volume_snapshot_attempt_total"));
}

TEST(Metrics, DeletionRequestsCountAttemptsSuccessesAndFailures) {
  MetricsRegistry r;
  json fresh = {{"metadata", {{"name", "b-x1"}}}, {"spec", {{"backupName", "b"}}}};
  json running = fresh;
  running["status"] = {{"phase", "InProgress"}};
  json ok = fresh;
  ok["status"] = {{"phase", "Processed"}, {"errors", json::array()}};
  json failed = fresh;
  failed["status"] = {{"phase", "Processed"}, {"errors", {"error deleting backup from backup storage: denied"}}};
  json refused = failed;

  record_deletion_transition(r, fresh, running, "daily");
  record_deletion_transition(r, running, running, "daily");  // resync
  record_deletion_transition(r, running, ok, "daily");
  record_deletion_transition(r, fresh, running, "daily");
  record_deletion_transition(r, running, failed, "daily");
  record_deletion_transition(r, fresh, refused, "daily");  // refused before any work: Velero counts nothing
  auto text = r.exposition();
  EXPECT_NE(text.find("velero_backup_deletion_attempt_total{schedule=\"daily\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("velero_backup_deletion_success_total{schedule=\"daily\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("velero_backup_deletion_failure_total{schedule=\"daily\"} 1\n"), std::string::npos) << text;
}
