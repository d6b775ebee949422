// The console's summaries and forms: what reaches the browser, and the objects its actions submit.
#include <gtest/gtest.h>

#include "console/auth.h"
#include "console/model.h"
#include "restore/diff.h"

namespace arca::console {
namespace {

using json = nlohmann::json;

TEST(ConsoleModel, BackupFormBuildsWhatTheCliSubmits) {
  json form = {{"name", "nightly"}, {"includeNamespaces", "app, web"}, {"ttl", "24h"}, {"selector", "tier=db"}};
  json backup = backup_from_form(form, "velero");
  EXPECT_EQ(backup["apiVersion"], "velero.io/v1");
  EXPECT_EQ(backup["kind"], "Backup");
  EXPECT_EQ(backup["metadata"]["namespace"], "velero");
  EXPECT_EQ(backup["spec"]["includedNamespaces"], json({"app", "web"}));
  EXPECT_EQ(backup["spec"]["ttl"], "24h0m0s");
  EXPECT_EQ(backup["spec"]["labelSelector"]["matchLabels"]["tier"], "db");
  // No namespaces given: everything, as `arca backup create` without --include-namespaces.
  EXPECT_EQ(json(backup_from_form({{"name", "all"}}, "velero"))["spec"]["includedNamespaces"], json({"*"}));
}

TEST(ConsoleModel, FormsRefuseBadInputWithOneLine) {
  EXPECT_THROW(backup_from_form({{"name", "Bad_Name"}}, "velero"), std::invalid_argument);
  EXPECT_THROW(backup_from_form({{"name", ""}}, "velero"), std::invalid_argument);
  EXPECT_THROW(backup_from_form({{"name", "x"}, {"ttl", "soon"}}, "velero"), std::invalid_argument);
  EXPECT_THROW(backup_from_form({{"name", "x"}, {"includeNamespaces", 3}}, "velero"), std::invalid_argument);
  EXPECT_THROW(restore_from_form({{"name", "r"}}, "velero", now_seconds()), std::invalid_argument);
  EXPECT_THROW(restore_from_form({{"backup", "b"}, {"namespaceMappings", "app"}}, "velero", now_seconds()),
               std::invalid_argument);
  EXPECT_THROW(restore_from_form({{"backup", "b"}, {"existingResourcePolicy", "replace"}}, "velero", now_seconds()),
               std::invalid_argument);
  EXPECT_THROW(schedule_from_form({{"name", "s"}, {"schedule", "every day"}}, "velero"), std::invalid_argument);
  try {
    backup_from_form({{"name", "x"}, {"ttl", "soon"}}, "velero");
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("ttl"), std::string::npos) << e.what();
  }
}

TEST(ConsoleModel, RestoreFormNamesItAfterTheBackupAndMapsNamespaces) {
  Timestamp at = parse_rfc3339("2026-12-07T10:11:12Z");
  json restore = restore_from_form({{"backup", "nightly"}, {"namespaceMappings", "app:app-copy"}}, "velero", at);
  EXPECT_EQ(restore["kind"], "Restore");
  EXPECT_EQ(restore["metadata"]["name"], "nightly-20261207101112");
  EXPECT_EQ(restore["spec"]["backupName"], "nightly");
  EXPECT_EQ(restore["spec"]["namespaceMapping"]["app"], "app-copy");
  EXPECT_EQ(restore["spec"]["includedNamespaces"], json({"*"}));
}

TEST(ConsoleModel, ScheduleFormKeepsTheTemplateAndKeepLast) {
  json schedule = schedule_from_form(
      {{"name", "daily"}, {"schedule", "0 3 * * *"}, {"includeNamespaces", json({"app"})}, {"keepLast", 3}}, "velero");
  EXPECT_EQ(schedule["spec"]["schedule"], "0 3 * * *");
  EXPECT_EQ(schedule["spec"]["template"]["includedNamespaces"], json({"app"}));
  EXPECT_EQ(schedule["metadata"]["annotations"]["arca.dev/keep-last-backups"], "3");
  EXPECT_FALSE(schedule["spec"].value("paused", false));
}

TEST(ConsoleModel, SummariesCarryProgressAndNoLocationSecrets) {
  json backup = {{"metadata", {{"name", "b1"}, {"labels", {{"velero.io/schedule-name", "daily"}}}}},
                 {"status", {{"phase", "InProgress"}, {"progress", {{"totalItems", 40}, {"itemsBackedUp", 12}}}, {"warnings", 2}}}};
  json s = backup_summary(backup);
  EXPECT_EQ(s["schedule"], "daily");
  EXPECT_EQ(s["itemsBackedUp"], 12);
  EXPECT_EQ(s["totalItems"], 40);
  EXPECT_EQ(s["warnings"], 2);
  EXPECT_EQ(backup_summary({{"metadata", {{"name", "new"}}}})["phase"], "New");
  EXPECT_FALSE(s["encrypted"].get<bool>());
  EXPECT_EQ(s["verification"], "");
  backup["metadata"]["annotations"] = {
      {"arca.dev/encrypted-to", "age1xyz"},
      {"arca.dev/verification", R"({"request":"x","result":"Failed","message":"b1-results.gz: digest differs","time":"t"})"}};
  s = backup_summary(backup);
  EXPECT_TRUE(s["encrypted"].get<bool>());
  EXPECT_FALSE(s["signed"].get<bool>());
  EXPECT_EQ(s["verification"], "Failed");
  EXPECT_EQ(s["verificationMessage"], "b1-results.gz: digest differs");
  EXPECT_TRUE(s["tarballBytes"].is_null()) << "no size recorded";
  backup["metadata"]["annotations"]["arca.dev/tarball-bytes"] = "2048";
  backup["metadata"]["annotations"]["arca.dev/volume-bytes"] = "not-a-number";
  s = backup_summary(backup);
  EXPECT_EQ(s["tarballBytes"], 2048);
  EXPECT_TRUE(s["volumeBytes"].is_null());

  json restore = {{"metadata", {{"name", "r1"}}}, {"spec", {{"backupName", "b1"}}},
                  {"status", {{"phase", "InProgress"}, {"progress", {{"totalItems", 10}, {"itemsRestored", 4}}}}}};
  EXPECT_EQ(restore_summary(restore)["itemsRestored"], 4);
  EXPECT_EQ(restore_summary(restore)["tiers"], json::array());
  restore["metadata"]["annotations"] = {{"arca.dev/restore-tiers", R"([["namespaces",1,1],["configmaps",3,9],"junk"])"}};
  EXPECT_EQ(restore_summary(restore)["tiers"], json::parse(R"([["namespaces",1,1],["configmaps",3,9]])"));

  json location = {{"metadata", {{"name", "default"}}},
                   {"spec", {{"provider", "aws"}, {"objectStorage", {{"bucket", "b"}}},
                             {"credential", {{"name", "cloud-credentials"}, {"key", "cloud"}}},
                             {"config", {{"region", "x"}, {"secretAccessKey", "do-not-show"}}}}},
                   {"status", {{"phase", "Available"}}}};
  json l = location_summary(location);
  EXPECT_EQ(l["phase"], "Available");
  EXPECT_EQ(l.dump().find("do-not-show"), std::string::npos);
  EXPECT_EQ(l.dump().find("cloud-credentials"), std::string::npos);
}

TEST(ConsoleModel, ScheduleSummaryGivesTheNextRunUnlessPaused) {
  Timestamp now = parse_rfc3339("2026-12-07T10:00:00Z");
  json schedule = {{"metadata", {{"name", "daily"}, {"creationTimestamp", "2026-12-01T00:00:00Z"}}},
                   {"spec", {{"schedule", "0 3 * * *"}}},
                   {"status", {{"lastBackup", "2026-12-07T03:00:00Z"}}}};
  EXPECT_EQ(schedule_summary(schedule, now)["nextRun"], "2026-12-08T03:00:00Z");
  schedule["spec"]["paused"] = true;
  EXPECT_EQ(schedule_summary(schedule, now)["nextRun"], "");
}

TEST(ConsoleModel, SecretDiffsNameChangedKeysWithoutValues) {
  json live = {{"apiVersion", "v1"}, {"kind", "Secret"}, {"data", {{"user", "YWRtaW4="}, {"password", "b2xk"}}}};
  json desired = live;
  desired["data"] = {{"user", "YWRtaW4="}, {"password", "bmV3"}, {"token", "dG9r"}};
  std::string diff = restore::unified_json_diff(live, desired);
  EXPECT_NE(diff.find("\"password\": \"*** (after)\""), std::string::npos) << diff;
  for (const char* value : {"YWRtaW4=", "b2xk", "bmV3", "dG9r"}) EXPECT_EQ(diff.find(value), std::string::npos) << diff;
}

TEST(ConsoleAuth, RandomTokensAndComparison) {
  std::string a = random_hex(32), b = random_hex(32);
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(constant_time_equal(a, a));
  EXPECT_FALSE(constant_time_equal(a, b));
  EXPECT_FALSE(constant_time_equal(a, a.substr(1)));
}

TEST(ConsoleModel, Names) {
  EXPECT_TRUE(valid_name("nightly-2.x"));
  EXPECT_FALSE(valid_name("-x"));
  EXPECT_FALSE(valid_name("UPPER"));
  EXPECT_FALSE(valid_name(std::string(254, 'a')));
}

}  // namespace
}  // namespace arca::console

namespace arca::console {
namespace {

TEST(ConsoleModel, RestoreFormNamesTheDecryptionKeySecret) {
  auto r = restore_from_form({{"backup", "b"}, {"decryptionKeySecret", "backup-key"}}, "velero", now_seconds());
  EXPECT_EQ(r.metadata.annotations.at("arca.dev/decryption-key-secret"), "backup-key");
  EXPECT_FALSE(restore_from_form({{"backup", "b"}}, "velero", now_seconds()).metadata.annotations.count(
      "arca.dev/decryption-key-secret"));
  EXPECT_THROW(restore_from_form({{"backup", "b"}, {"decryptionKeySecret", "Bad/Name"}}, "velero", now_seconds()),
               std::invalid_argument);
}

}  // namespace
}  // namespace arca::console
