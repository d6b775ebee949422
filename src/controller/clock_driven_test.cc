// The schedule and garbage-collection reconcilers against a real kubelite, in-process, with a ManualClock: time
// is advanced, never slept through. What is checked is the cluster: which Backups and DeleteBackupRequests exist.
#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>

#include "api/crds.h"
#include "controller/clock.h"
#include "controller/context.h"
#include "controller/gc_controller.h"
#include "controller/schedule_controller.h"
#include "tests/support/kube_cluster.h"
#include "util/timestamp.h"

namespace arca::controller {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class ClockDriven : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testsupport::TempDir();
    cluster_ = new testsupport::KubeCluster(*dir_);
    for (const auto& crd : api::velero_crds()) cluster_->create(crd, "");
    cluster_->wait_until_served("velero.io", "v1", "schedules");
    cluster_->wait_until_served("velero.io", "v1", "deletebackuprequests");
    cluster_->create_namespace("velero");
    cluster_->create({{"apiVersion", "velero.io/v1"}, {"kind", "BackupStorageLocation"},
                      {"metadata", {{"name", "default"}, {"namespace", "velero"}}},
                      {"spec", {{"provider", "local"}, {"objectStorage", {{"bucket", "bucket"}}},
                                {"config", {{"root", dir_->file("store")}}}}}},
                     "velero");
    set_status("backupstoragelocations", "default", {{"phase", "Available"}});
    clock_ = new ManualClock(now_seconds());
    context_ = new ServerContext(make_context(*cluster_->transport, *cluster_->discovery, *clock_, {}));
  }
  static void TearDownTestSuite() {
    delete context_;
    delete clock_;
    delete cluster_;
    delete dir_;
  }

  static void set_status(const std::string& resource, const std::string& name, const json& status) {
    cluster_->set_status(resource + ".velero.io", "velero", name, status);
  }

  static kube::ObjectPtr current(const std::string& resource, const std::string& name) {
    return std::make_shared<const json>(cluster_->client->get(cluster_->resource(resource + ".velero.io"), "velero", name));
  }
  // Names of the objects of a velero.io resource, sorted; DeleteBackupRequests by the backup they name.
  static std::vector<std::string> names(const std::string& resource) {
    std::vector<std::string> out;
    cluster_->client->list(cluster_->resource(resource + ".velero.io"), "velero", {}, [&](const kube::ListItem& item) {
      json object = item.parse();
      out.push_back(resource == "deletebackuprequests" ? object["spec"].value("backupName", "")
                                                       : object["metadata"].value("name", ""));
    });
    std::sort(out.begin(), out.end());
    return out;
  }
  static void add_backup(const std::string& name, const json& labels, Timestamp started, Timestamp expiration) {
    cluster_->create({{"apiVersion", "velero.io/v1"}, {"kind", "Backup"},
                      {"metadata", {{"name", name}, {"namespace", "velero"}, {"labels", labels}}},
                      {"spec", {{"storageLocation", "default"}}}},
                     "velero");
    set_status("backups", name, {{"phase", "Completed"}, {"startTimestamp", format_rfc3339(started)},
                                 {"expiration", format_rfc3339(expiration)}});
  }

  static testsupport::TempDir* dir_;
  static testsupport::KubeCluster* cluster_;
  static ManualClock* clock_;
  static ServerContext* context_;
};
testsupport::TempDir* ClockDriven::dir_ = nullptr;
testsupport::KubeCluster* ClockDriven::cluster_ = nullptr;
ManualClock* ClockDriven::clock_ = nullptr;
ServerContext* ClockDriven::context_ = nullptr;

std::string backup_name_at(const std::string& schedule, Timestamp t) {
  std::time_t seconds = t.time_since_epoch().count();
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &utc);
  return schedule + "-" + stamp;
}

TEST_F(ClockDriven, ScheduleCreatesABackupOnlyWhenTheClockPassesAnActivation) {
  cluster_->create({{"apiVersion", "velero.io/v1"}, {"kind", "Schedule"},
                    {"metadata", {{"name", "hourly"}, {"namespace", "velero"}}},
                    {"spec", {{"schedule", "@every 1h"}, {"template", {{"includedNamespaces", {"velero"}}}}}}},
                   "velero");
  auto reconcile = schedule_reconciler(*context_, cluster_->resource("schedules.velero.io"));
  reconcile("velero/hourly", current("schedules", "hourly"));  // validates: phase Enabled
  ASSERT_EQ((*current("schedules", "hourly"))["status"]["phase"], "Enabled");

  // Within the hour nothing is due: no backup, and the controller comes back when the activation is due.
  auto early = reconcile("velero/hourly", current("schedules", "hourly"));
  EXPECT_TRUE(names("backups").empty());
  EXPECT_GT(early.requeue_after, 0ms);
  EXPECT_LE(early.requeue_after, 3601s);

  clock_->advance(1h + 5s);
  reconcile("velero/hourly", current("schedules", "hourly"));
  EXPECT_EQ(names("backups"), std::vector<std::string>({backup_name_at("hourly", clock_->now())}));
  EXPECT_EQ((*current("schedules", "hourly"))["status"]["lastBackup"], format_rfc3339(clock_->now()));

  // The same instant again: the activation is used up.
  reconcile("velero/hourly", current("schedules", "hourly"));
  EXPECT_EQ(names("backups").size(), 1u);

  // Paused: hours pass, nothing is created (this replaced a test that slept to show it).
  cluster_->client->patch(cluster_->resource("schedules.velero.io"), "velero", "hourly", kube::PatchType::Merge,
                          R"({"spec":{"paused":true}})");
  set_status("backups", names("backups")[0], {{"phase", "Completed"}});
  clock_->advance(3h);
  reconcile("velero/hourly", current("schedules", "hourly"));
  EXPECT_EQ(names("backups").size(), 1u);
  cluster_->client->remove(cluster_->resource("schedules.velero.io"), "velero", "hourly");
  cluster_->client->remove(cluster_->resource("backups.velero.io"), "velero", names("backups")[0]);
}

TEST_F(ClockDriven, GarbageCollectionFollowsTheClockAndKeepLastProtectsTheNewest) {
  cluster_->create({{"apiVersion", "velero.io/v1"}, {"kind", "Schedule"},
                    {"metadata", {{"name", "kept"}, {"namespace", "velero"}, {"annotations", {{kKeepLastAnnotation, "2"}}}}},
                    {"spec", {{"schedule", "@every 1h"}, {"paused", true}}}},
                   "velero");
  Timestamp t0 = clock_->now();
  json of_schedule = {{"velero.io/schedule-name", "kept"}};
  for (int i = 1; i <= 4; ++i)
    add_backup("kept-" + std::to_string(i), of_schedule, t0 + std::chrono::minutes(i), t0 + 1h);
  add_backup("lone", json::object(), t0, t0 + 1h);

  auto reconcile = gc_reconciler(*context_, std::chrono::hours(1));
  // Before the expiration: nothing is collected, and the next visit is at the expiration, not an hour later.
  auto before = reconcile("velero/kept-4", current("backups", "kept-4"));
  reconcile("velero/lone", current("backups", "lone"));
  EXPECT_TRUE(names("deletebackuprequests").empty());
  EXPECT_GT(before.requeue_after, 0ms);
  EXPECT_LE(before.requeue_after, 3601s);

  clock_->advance(2h);
  reconcile("velero/kept-4", current("backups", "kept-4"));
  reconcile("velero/lone", current("backups", "lone"));
  // All five expired; keep-last 2 protects kept-3 and kept-4, the newest of the schedule.
  EXPECT_EQ(names("deletebackuprequests"), std::vector<std::string>({"kept-1", "kept-2", "lone"}));
}

}  // namespace
}  // namespace arca::controller
