// `arca restore ...` end to end with real processes: kubelite, `arca server` and the `arca` CLI, a local
// object store holding a backup. Create with --wait, get, describe, dry run, bad input, delete.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "api/crds.h"
#include "persistence/backup_store.h"
#include "restore/restore_test_support.h"
#include "store/location.h"

namespace arca::restore {
namespace {

using namespace testing;  // arca::restore::testing
using ::testing::HasSubstr;
using nlohmann::json;

class RestoreCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testsupport::TempDir();
    cluster_ = new Cluster(*dir_);
    install_with_local_location(*cluster_, *dir_);
    server_ = new testsupport::ChildProcess(
        {testsupport::build_dir() + "/src/cli/arca", "server", "--kubeconfig", cluster_->kubelite.kubeconfig,
         "--client-qps", "2000", "--client-burst", "2000"},
        dir_->file("server.log"));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete cluster_;
    delete dir_;
  }

  static CommandResult arca(std::vector<std::string> args) { return run_arca(*cluster_, *dir_, std::move(args)); }

  // A Completed backup `name` of namespace `ns` (two ConfigMaps), uploaded to the store; the namespace is deleted.
  static void backup_and_delete(const std::string& name, const std::string& ns, const std::string& phase = "Completed",
                                const json& labels = json::object(), const std::string& started = "2026-01-01T00:00:00Z") {
    cluster_->create_namespace(ns);
    for (const char* cm : {"alpha", "beta"})
      cluster_->create({{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", cm}}}, {"data", {{"k", cm}}}}, ns);
    std::string tarball = make_backup(*cluster_, {ns});
    cluster_->delete_namespace_and_wait(ns);
    json backup = {{"apiVersion", "velero.io/v1"}, {"kind", "Backup"},
                   {"metadata", {{"name", name}, {"namespace", "velero"}, {"labels", labels}}},
                   {"spec", {{"storageLocation", "default"}}}};
    // The server is held still while the Backup exists without a phase: it would otherwise queue and run
    // it as a new backup (and upload it first).
    server_->signal(SIGSTOP);
    cluster_->create(backup, "velero");
    auto backups = cluster_->resource("backups.velero.io");
    std::string status = json{{"status", {{"phase", phase}, {"startTimestamp", started}}}}.dump();
    cluster_->client->patch(backups, "velero", name, kube::PatchType::Merge, status, {},
                            backups.subresource("status") != nullptr ? "status" : "");
    server_->signal(SIGCONT);
    store::LocationConfig location;
    location.provider = "local";
    location.bucket = "bucket";
    location.config = {{"root", dir_->file("store")}};
    persistence::BackupUpload upload;
    upload.name = name;
    backup["status"] = {{"phase", phase}};
    upload.metadata_json = backup.dump(2);
    upload.tarball = source_of(tarball);
    persistence::put_backup(*store::open_store(location), persistence::make_layout(""), upload);
  }

  static testsupport::TempDir* dir_;
  static Cluster* cluster_;
  static testsupport::ChildProcess* server_;
};
testsupport::TempDir* RestoreCliTest::dir_ = nullptr;
Cluster* RestoreCliTest::cluster_ = nullptr;
testsupport::ChildProcess* RestoreCliTest::server_ = nullptr;

TEST_F(RestoreCliTest, CreateWaitGetDescribeDelete) {
  backup_and_delete("cli-b1", "cli-app");
  auto created = arca({"restore", "create", "cli-r1", "--from-backup", "cli-b1", "--namespace-mappings", "cli-app:cli-copy",
                       "--wait"});
  ASSERT_EQ(created.exit_code, 0) << created.output << "\n" << server_->log();
  EXPECT_THAT(created.output, HasSubstr("Restore request \"cli-r1\" submitted successfully."));
  EXPECT_THAT(created.output, HasSubstr("Restore completed with status: Completed."));
  EXPECT_EQ(cluster_->client->get(cluster_->resource("configmaps"), "cli-copy", "beta")["data"]["k"], "beta");

  auto get = arca({"restore", "get"});
  EXPECT_EQ(get.exit_code, 0);
  EXPECT_THAT(get.output, HasSubstr("NAME"));
  EXPECT_THAT(get.output, ::testing::ContainsRegex("cli-r1 +cli-b1 +Completed"));

  auto describe = arca({"restore", "describe", "cli-r1"});
  EXPECT_EQ(describe.exit_code, 0) << describe.output;
  EXPECT_THAT(describe.output, HasSubstr("Phase:                       Completed"));
  EXPECT_THAT(describe.output, HasSubstr("Namespace mappings:  cli-app=cli-copy"));
  EXPECT_THAT(describe.output, HasSubstr("Backup:  cli-b1"));

  // The log comes through a DownloadRequest that the server resolves via the restore's backup location.
  auto logs = arca({"restore", "logs", "cli-r1"});
  EXPECT_EQ(logs.exit_code, 0) << logs.output;
  EXPECT_THAT(logs.output, HasSubstr("restore completed"));
  EXPECT_THAT(logs.output, HasSubstr("created namespace cli-copy"));

  // --details adds the restore's resource list, downloaded from the store.
  auto details = arca({"restore", "describe", "cli-r1", "--details"});
  EXPECT_EQ(details.exit_code, 0) << details.output;
  EXPECT_THAT(details.output, ::testing::ContainsRegex("Resource List:\n(  .*\n)*  v1/ConfigMap:\n(    - .*\n)*    - cli-copy/alpha"));
  EXPECT_THAT(details.output, HasSubstr("cli-copy/beta"));

  // Restoring over an object that now exists and differs warns; describe then shows the warnings from the stored
  // results.
  cluster_->client->patch(cluster_->resource("configmaps"), "cli-copy", "alpha", kube::PatchType::Merge,
                          R"({"data":{"k":"edited"}})");
  auto again = arca({"restore", "create", "cli-r1b", "--from-backup", "cli-b1", "--namespace-mappings",
                     "cli-app:cli-copy", "--wait"});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  auto warned = arca({"restore", "describe", "cli-r1b"});
  EXPECT_THAT(warned.output, ::testing::ContainsRegex("Warnings:  [1-9]"));
  EXPECT_THAT(warned.output, HasSubstr("cli-copy"));
  // When the store cannot give the results or the list, describe says so and why, rather than printing the counts
  // alone or calling every failure "not found".
  std::string restores = dir_->file("store/bucket/restores/");
  ASSERT_TRUE(std::filesystem::remove(restores + "cli-r1b/restore-cli-r1b-results.gz"));
  ASSERT_TRUE(std::filesystem::remove(restores + "cli-r1/restore-cli-r1-resource-list.json.gz"));
  auto no_results = arca({"restore", "describe", "cli-r1b"});
  EXPECT_THAT(no_results.output, HasSubstr("<error getting restore results: "));
  auto no_list = arca({"restore", "describe", "cli-r1", "--details"});
  EXPECT_THAT(no_list.output, HasSubstr("Resource List:\n  <error getting restore resource list: "));

  auto deleted = arca({"restore", "delete", "cli-r1", "--confirm"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.output;
  EXPECT_THAT(deleted.output, HasSubstr("Request to delete restore \"cli-r1\" submitted successfully."));
}

TEST_F(RestoreCliTest, DryRunShowsWhatWouldHappenAndChangesNothing) {
  backup_and_delete("cli-b2", "cli-dry");
  cluster_->create_namespace("cli-dry");
  cluster_->create({{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "alpha"}}}, {"data", {{"k", "edited"}}}},
                   "cli-dry");
  auto dry = arca({"restore", "create", "cli-r2", "--from-backup", "cli-b2", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.output << "\n" << server_->log();
  EXPECT_THAT(dry.output, HasSubstr("differs: configmaps/cli-dry/alpha\n--- in cluster\n+++ from backup\n"));
  EXPECT_THAT(dry.output, HasSubstr("-    \"k\": \"edited\"\n+    \"k\": \"alpha\"\n"));
  EXPECT_THAT(dry.output, HasSubstr("would create: configmaps/cli-dry/beta\n"));
  EXPECT_THAT(dry.output, HasSubstr("nothing was changed."));
  EXPECT_THROW(cluster_->client->get(cluster_->resource("configmaps"), "cli-dry", "beta"), kube::KubeError);
  EXPECT_THROW(cluster_->client->get(cluster_->resource("restores.velero.io"), "velero", "cli-r2"), kube::KubeError);
}

// The local dry run reads what the server would: the restore's resource policy (Velero 1.19's fine-grained
// filters) and, with no modifier of its own, the server's default modifier named in the velero Deployment's args.
TEST_F(RestoreCliTest, DryRunAppliesTheResourcePolicyAndTheServersDefaultModifier) {
  backup_and_delete("cli-b5", "cli-fine");
  cluster_->create({{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "only-alpha"}}},
                    {"data", {{"policy.yaml", "version: v1\nnamespacedFilterPolicies:\n- namespaces: [cli-fine]\n"
                                              "  resourceFilters:\n  - kinds: [ConfigMap]\n    names: [alpha]\n"}}}},
                   "velero");
  auto dry = arca({"restore", "create", "cli-r5", "--from-backup", "cli-b5", "--dry-run",
                   "--resource-policies-configmap", "only-alpha"});
  ASSERT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_THAT(dry.output, HasSubstr("would create: configmaps/cli-fine/alpha\n"));
  EXPECT_THAT(dry.output, ::testing::Not(HasSubstr("configmaps/cli-fine/beta")));

  cluster_->create({{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "default-mods"}}},
                    {"data", {{"m.yaml", "version: v1\nresourceModifierRules:\n- conditions:\n    groupResource: configmaps\n"
                                         "  mergePatches:\n  - patchData: |\n      data:\n        k: from-default\n"}}}},
                   "velero");
  cluster_->create({{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"metadata", {{"name", "velero"}}},
                    {"spec", {{"selector", {{"matchLabels", {{"deploy", "velero"}}}}},
                              {"template", {{"metadata", {{"labels", {{"deploy", "velero"}}}}},
                                            {"spec", {{"containers", {{{"name", "velero"}, {"image", "arca"},
                                                                       {"args", {"server", "--default-resource-modifier-configmap=default-mods"}}}}}}}}}}}},
                   "velero");
  cluster_->create_namespace("cli-fine");
  cluster_->create({{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "alpha"}}}, {"data", {{"k", "alpha"}}}},
                   "cli-fine");
  auto modified = arca({"restore", "create", "cli-r6", "--from-backup", "cli-b5", "--dry-run"});
  ASSERT_EQ(modified.exit_code, 0) << modified.output;
  EXPECT_THAT(modified.output, HasSubstr("differs: configmaps/cli-fine/alpha"));
  EXPECT_THAT(modified.output, HasSubstr("+    \"k\": \"from-default\"\n"));
  auto skipped = arca({"restore", "create", "cli-r7", "--from-backup", "cli-b5", "--dry-run",
                       "--skip-default-resource-modifier"});
  ASSERT_EQ(skipped.exit_code, 0) << skipped.output;
  EXPECT_THAT(skipped.output, ::testing::Not(HasSubstr("from-default")));
  cluster_->client->remove(cluster_->resource("deployments.apps"), "velero", "velero");
}

TEST_F(RestoreCliTest, BadInputIsOneLine) {
  auto neither = arca({"restore", "create", "x"});
  EXPECT_NE(neither.exit_code, 0);
  EXPECT_THAT(neither.output, HasSubstr("either a backup or schedule must be specified, but not both"));
  auto missing = arca({"restore", "create", "x", "--from-backup", "no-such-backup"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.output, HasSubstr("backups.velero.io \"no-such-backup\" not found"));
  auto policy = arca({"restore", "create", "x", "--from-backup", "b", "--existing-resource-policy", "recreate"});
  EXPECT_NE(policy.exit_code, 0);
  EXPECT_THAT(policy.output, HasSubstr("--existing-resource-policy"));
  auto printed = arca({"restore", "create", "x", "--from-backup", "b", "--include-namespaces", "a,b", "-o", "json"});
  EXPECT_EQ(printed.exit_code, 0) << printed.output;
  EXPECT_THAT(printed.output, HasSubstr("\"includedNamespaces\""));
  EXPECT_THROW(cluster_->client->get(cluster_->resource("restores.velero.io"), "velero", "x"), kube::KubeError);
}

TEST_F(RestoreCliTest, GetSelectsByLabelAndShowsLabels) {
  backup_and_delete("cli-b3", "cli-lab");
  ASSERT_EQ(arca({"restore", "create", "lab-1", "--from-backup", "cli-b3", "--labels", "team=blue,tier=db,app.kubernetes.io/part-of=shop", "--wait"}).exit_code, 0);
  ASSERT_EQ(arca({"restore", "create", "lab-2", "--from-backup", "cli-b3", "--labels", "team=red", "--wait"}).exit_code, 0);

  auto blue = arca({"restore", "get", "--selector", "team=blue"});
  ASSERT_EQ(blue.exit_code, 0) << blue.output;
  EXPECT_THAT(blue.output, HasSubstr("lab-1"));
  EXPECT_THAT(blue.output, ::testing::Not(HasSubstr("lab-2")));

  // Every -L counts; a column is headed by the key's last path segment.
  auto labelled = arca({"restore", "get", "lab-1", "lab-2", "-L", "team,app.kubernetes.io/part-of", "-L", "tier",
                        "--show-labels"});
  ASSERT_EQ(labelled.exit_code, 0) << labelled.output;
  EXPECT_THAT(labelled.output, ::testing::ContainsRegex("SELECTOR +TEAM +PART-OF +TIER +LABELS\n"));
  EXPECT_THAT(labelled.output,
              ::testing::ContainsRegex("lab-1 .*<none> +blue +shop +db +app.kubernetes.io/part-of=shop,team=blue,tier=db\n"));
  // No part-of or tier label on lab-2: empty cells, as kubectl's printer leaves them.
  EXPECT_THAT(labelled.output, ::testing::ContainsRegex("lab-2 .*<none> +red +team=red\n"));

  // `create -o table` prints the row it would submit, with the same columns, and creates nothing.
  auto printed = arca({"restore", "create", "lab-3", "--from-backup", "cli-b3", "--labels", "team=green", "-o", "table",
                       "-L", "team", "--show-labels"});
  ASSERT_EQ(printed.exit_code, 0) << printed.output;
  EXPECT_THAT(printed.output, ::testing::ContainsRegex("NAME +BACKUP +STATUS .* SELECTOR +TEAM +LABELS\n"));
  EXPECT_THAT(printed.output, ::testing::ContainsRegex("lab-3 +cli-b3 +New .* green +team=green\n"));
  EXPECT_THROW(cluster_->client->get(cluster_->resource("restores.velero.io"), "velero", "lab-3"), kube::KubeError);
}

TEST_F(RestoreCliTest, AllowPartiallyFailedPicksTheNewestUsableBackupOfTheSchedule) {
  json schedule = {{"velero.io/schedule-name", "nightly"}};
  backup_and_delete("nightly-1", "cli-old", "Completed", schedule, "2026-01-01T00:00:00Z");
  backup_and_delete("nightly-2", "cli-new", "PartiallyFailed", schedule, "2026-01-02T00:00:00Z");
  backup_and_delete("nightly-3", "cli-failed", "Failed", schedule, "2026-01-03T00:00:00Z");

  auto plain = arca({"restore", "create", "pf", "--from-schedule", "nightly", "-o", "json"});
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  json plain_spec = json::parse(plain.output)["spec"];
  EXPECT_EQ(plain_spec.value("scheduleName", ""), "nightly");  // the server picks the newest Completed one
  EXPECT_EQ(plain_spec.value("backupName", ""), "");

  auto chosen = arca({"restore", "create", "pf", "--from-schedule", "nightly", "--allow-partially-failed", "-o", "json"});
  ASSERT_EQ(chosen.exit_code, 0) << chosen.output;
  json chosen_spec = json::parse(chosen.output)["spec"];
  EXPECT_EQ(chosen_spec.value("backupName", ""), "nightly-2");  // newer than nightly-1; nightly-3 Failed
  EXPECT_EQ(chosen_spec.value("scheduleName", ""), "");

  auto created = arca({"restore", "create", "pf", "--from-schedule", "nightly", "--allow-partially-failed", "--wait"});
  ASSERT_EQ(created.exit_code, 0) << created.output << "\n" << server_->log();
  EXPECT_THAT(created.output, HasSubstr("Restore completed with status: Completed."));
  json restore = cluster_->client->get(cluster_->resource("restores.velero.io"), "velero", "pf");
  EXPECT_EQ(restore["spec"].value("backupName", ""), "nightly-2");  // (the server notes the backup's schedule)
  EXPECT_NO_THROW(cluster_->client->get(cluster_->resource("configmaps"), "cli-new", "alpha"));
  EXPECT_THROW(cluster_->client->get(cluster_->resource("namespaces"), "", "cli-old"), kube::KubeError);

  auto none = arca({"restore", "create", "x", "--from-schedule", "weekly", "--allow-partially-failed"});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_THAT(none.output, HasSubstr("No backups found for the schedule weekly"));
}

}  // namespace
}  // namespace arca::restore
