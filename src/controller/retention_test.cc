// Grandfather-father-son retention: a simulated year of daily scheduled backups, first as the pure rule, then
// through the GC reconciler against kubelite with the controllers' clock set to the year's end; and a schedule
// whose recent runs all failed keeps its last good backup past its TTL.
#include <gtest/gtest.h>

#include <set>

#include "api/crds.h"
#include "controller/clock.h"
#include "controller/context.h"
#include "controller/gc_controller.h"
#include "controller/retention.h"
#include "restore/restore_test_support.h"

namespace arca::controller {
namespace {

using nlohmann::json;
using restore::testing::Cluster;

class FixedClock : public Clock {
 public:
  Timestamp now() const override { return now_; }
  Timestamp now_;
};

std::string day_name(int day_of_year) {
  std::chrono::sys_days d = std::chrono::sys_days{std::chrono::year{2026} / 1 / 1} + std::chrono::days(day_of_year);
  std::chrono::year_month_day ymd{d};
  char out[32];
  std::snprintf(out, sizeof out, "daily-2026%02u%02u", unsigned(ymd.month()), unsigned(ymd.day()));
  return out;
}

Timestamp day_start(int day_of_year) {
  return Timestamp{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1} + std::chrono::days(day_of_year)} +
         std::chrono::hours(3);
}

api::Backup backup_on(int day, api::BackupPhase phase = api::BackupPhase::Completed) {
  api::Backup b;
  b.metadata.name = day_name(day);
  b.status.phase = phase;
  b.status.start_timestamp = day_start(day);
  b.status.expiration = day_start(day) + std::chrono::hours(24 * 30);
  return b;
}

// What daily=7, weekly=4, monthly=12, yearly=3 keep of daily 03:00 backups through 2026 (worked out by hand:
// 2026-12-31 is a Thursday; the weeks before end on Sundays Dec 27, 20, 13; each month's newest is its last day).
std::set<std::string> expected_year() {
  std::set<std::string> names;
  for (int d = 25; d <= 31; ++d) names.insert("daily-202612" + std::to_string(d));
  for (const char* s : {"daily-20261220", "daily-20261213", "daily-20260131", "daily-20260228", "daily-20260331",
                        "daily-20260430", "daily-20260531", "daily-20260630", "daily-20260731", "daily-20260831",
                        "daily-20260930", "daily-20261031", "daily-20261130"})
    names.insert(s);
  return names;
}

RetentionPolicy gfs() {
  RetentionPolicy p;
  p.daily = 7;
  p.weekly = 4;
  p.monthly = 12;
  p.yearly = 3;
  return p;
}

TEST(Retention, SimulatedYearKeepsExactlyWhatTheRulesName) {
  std::vector<api::Backup> year;
  for (int d = 0; d < 365; ++d) year.push_back(backup_on(d));
  auto kept = retained_backups(year, gfs());
  std::set<std::string> names;
  for (const auto& [name, why] : kept) names.insert(name);
  EXPECT_EQ(names, expected_year());
  EXPECT_EQ(kept["daily-20261231"], "newest successful, keep-daily 2026-12-31, keep-weekly week of 2026-12-28, "
                                    "keep-monthly 2026-12, keep-yearly 2026");
  EXPECT_EQ(kept["daily-20260630"], "keep-monthly 2026-06");
}

TEST(Retention, FailedRunsNeverCountAndTheLastGoodBackupStays) {
  std::vector<api::Backup> backups;
  for (int d = 0; d < 10; ++d) backups.push_back(backup_on(d));
  for (int d = 10; d < 60; ++d) backups.push_back(backup_on(d, api::BackupPhase::Failed));
  RetentionPolicy none;
  auto kept = retained_backups(backups, none);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept.begin()->first, day_name(9));
  RetentionPolicy daily;
  daily.daily = 3;  // the last three days that have a Completed backup, however old
  kept = retained_backups(backups, daily);
  EXPECT_EQ(kept.size(), 3u);
  EXPECT_TRUE(kept.count(day_name(7)) && kept.count(day_name(8)) && kept.count(day_name(9)));
}

// `arca backup describe`'s retention line agrees with what the rules keep, and says why.
TEST(Retention, SummaryNamesTheKeepingRuleOrWhenTheBackupGoes) {
  std::vector<api::Backup> year;
  for (int d = 0; d < 365; ++d) year.push_back(backup_on(d));
  year.push_back(backup_on(365, api::BackupPhase::Failed));
  std::set<std::string> kept;
  for (const auto& b : year) {
    std::string summary = retention_summary(b, gfs(), year);
    if (summary.rfind("kept (", 0) == 0) {
      kept.insert(b.metadata.name);
    } else if (b.status.phase == api::BackupPhase::Completed) {
      EXPECT_EQ(summary, "collected by the next garbage collection: no retention rule of its schedule keeps it");
    }
  }
  EXPECT_EQ(kept, expected_year());
  EXPECT_EQ(retention_summary(year[180], gfs(), year), "kept (keep-monthly 2026-06), whatever its TTL");
  // A failed run is not the rules' business: its TTL decides.
  EXPECT_EQ(retention_summary(year.back(), gfs(), year), "collected after its TTL, at 2027-01-31T03:00:00Z");
  // Without a schedule (or with its schedule gone): the TTL alone.
  EXPECT_EQ(retention_summary(year[0], std::nullopt, {}), "collected after its TTL, at 2026-01-31T03:00:00Z");
  api::Backup forever = year[0];
  forever.status.expiration.reset();
  EXPECT_EQ(retention_summary(forever, std::nullopt, {}), "never collected (no expiration)");
}

TEST(Retention, AnnotationsParseAndBadValuesAreReported) {
  std::vector<std::string> problems;
  auto p = retention_of({{kKeepDailyAnnotation, "7"}, {kKeepWeeklyAnnotation, "-1"}, {kKeepYearlyAnnotation, "x"}},
                        &problems);
  EXPECT_EQ(p.daily, 7);
  EXPECT_EQ(p.weekly, 0);
  EXPECT_EQ(problems.size(), 2u);
}

// The GC reconciler with the clock at 2027-01-01 over a year of Backups stored in kubelite.
TEST(RetentionGc, SimulatedYearThroughTheGcReconciler) {
  testsupport::TempDir dir;
  Cluster cluster(dir);
  for (const auto& crd : api::velero_crds()) cluster.create(crd, "");
  for (int i = 0; i < 100 && cluster.discovery->data()->find("velero.io", "v1", "deletebackuprequests") == nullptr; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    cluster.discovery->refresh();
  }
  cluster.create_namespace("velero");
  cluster.create({{"apiVersion", "velero.io/v1"}, {"kind", "BackupStorageLocation"},
                  {"metadata", {{"name", "default"}, {"namespace", "velero"}}},
                  {"spec", {{"provider", "local"}, {"objectStorage", {{"bucket", "b"}}}, {"config", {{"root", dir.path()}}}}},
                  {"status", {{"phase", "Available"}}}},
                 "velero");
  auto locations = cluster.resource("backupstoragelocations.velero.io");
  if (locations.subresource("status") != nullptr)
    cluster.client->patch(locations, "velero", "default", kube::PatchType::Merge,
                          json{{"status", {{"phase", "Available"}}}}.dump(), {}, "status");
  auto annotate = [](const RetentionPolicy& p) {
    return json{{kKeepDailyAnnotation, std::to_string(p.daily)}, {kKeepWeeklyAnnotation, std::to_string(p.weekly)},
                {kKeepMonthlyAnnotation, std::to_string(p.monthly)}, {kKeepYearlyAnnotation, std::to_string(p.yearly)}};
  };
  cluster.create({{"apiVersion", "velero.io/v1"}, {"kind", "Schedule"},
                  {"metadata", {{"name", "daily"}, {"namespace", "velero"}, {"annotations", annotate(gfs())}}},
                  {"spec", {{"schedule", "0 3 * * *"}, {"template", json::object()}}}},
                 "velero");
  auto backups = cluster.resource("backups.velero.io");
  for (int d = 0; d < 365; ++d) {
    api::Backup b = backup_on(d);
    json object = {{"apiVersion", "velero.io/v1"}, {"kind", "Backup"},
                   {"metadata", {{"name", b.metadata.name}, {"namespace", "velero"},
                                 {"labels", {{"velero.io/schedule-name", "daily"}}}}},
                   {"spec", {{"storageLocation", "default"}}}};
    cluster.create(object, "velero");
    json status = {{"status", {{"phase", "Completed"}, {"startTimestamp", format_rfc3339(*b.status.start_timestamp)},
                               {"expiration", format_rfc3339(*b.status.expiration)}}}};
    cluster.client->patch(backups, "velero", b.metadata.name, kube::PatchType::Merge, status.dump(), {},
                          backups.subresource("status") != nullptr ? "status" : "");
  }
  FixedClock clock;
  clock.now_ = Timestamp{std::chrono::sys_days{std::chrono::year{2027} / 1 / 1}};
  ServerContext ctx = make_context(*cluster.transport, *cluster.discovery, clock, {});
  auto reconcile = gc_reconciler(ctx, std::chrono::hours(1));
  auto newest = std::make_shared<const json>(cluster.client->get(backups, "velero", day_name(364)));
  reconcile("velero/" + day_name(364), newest);
  reconcile("velero/" + day_name(364), newest);  // a second pass asks for nothing twice

  std::set<std::string> requested;
  int requests = 0;
  cluster.client->list(cluster.resource("deletebackuprequests.velero.io"), "velero", {},
                       [&](const kube::ListItem& item) {
                         requested.insert(item.parse()["spec"]["backupName"].get<std::string>());
                         ++requests;
                       });
  EXPECT_EQ(requests, 365 - 20);
  std::set<std::string> survivors;
  for (int d = 0; d < 365; ++d)
    if (!requested.count(day_name(d))) survivors.insert(day_name(d));
  EXPECT_EQ(survivors, expected_year());
}

}  // namespace
}  // namespace arca::controller
