#include <gtest/gtest.h>

#include "cli/commands.h"
#include "cli/output.h"

using namespace arca;

// As Velero's pflag parsing does: stringArray keeps the last occurrence, map flags accumulate.
TEST(Flags, StringArrayLastWinsMapsAccumulate) {
  EXPECT_EQ(cli::last_csv({"a", "b"}), std::vector<std::string>{"b"});
  EXPECT_EQ(cli::last_csv({"a,b"}), (std::vector<std::string>{"a", "b"}));
  auto m = cli::parse_map_flag({"a=1", "b=2,c=3"}, "--labels");
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m["c"], "3");
  EXPECT_THROW(cli::parse_map_flag({"novalue"}, "--labels"), std::invalid_argument);
  // --default-volume-snapshot-locations: provider:name pairs.
  EXPECT_EQ(cli::parse_map_flag({"aws:east,gcp:main"}, "--default-volume-snapshot-locations", ':'),
            (std::map<std::string, std::string>{{"aws", "east"}, {"gcp", "main"}}));
  EXPECT_THROW(cli::parse_map_flag({"aws=east"}, "--default-volume-snapshot-locations", ':'), std::invalid_argument);
  EXPECT_EQ(cli::parse_optional_bool({}, "--x"), std::nullopt);
  EXPECT_EQ(cli::parse_optional_bool({"true"}, "--x"), true);
  EXPECT_EQ(cli::parse_optional_bool({"false"}, "--x"), false);
  EXPECT_THROW(cli::parse_optional_bool({"maybe"}, "--x"), std::invalid_argument);
}

// --features: merged with the config file's list, each name once, unknown names kept (Velero never validates them).
TEST(Flags, FeaturesMergeConfigFileAndRepeatedFlags) {
  EXPECT_EQ(cli::feature_flags("", {}), std::vector<std::string>{});
  EXPECT_EQ(cli::feature_flags("EnableCSI", {"EnableAPIGroupVersions,NoSuchFeature", "EnableCSI,,"}),
            (std::vector<std::string>{"EnableCSI", "EnableAPIGroupVersions", "NoSuchFeature"}));
}

// Vector 11: schedule backups grouped by prefix, newest first.
TEST(Output, BackupSortOrder) {
  std::vector<api::Backup> backups(3);
  backups[0].metadata.name = "schedule-20170102030405";
  backups[1].metadata.name = "a";
  backups[2].metadata.name = "schedule-20170102030407";
  cli::sort_backups(backups);
  EXPECT_EQ(backups[0].metadata.name, "a");
  EXPECT_EQ(backups[1].metadata.name, "schedule-20170102030407");
  EXPECT_EQ(backups[2].metadata.name, "schedule-20170102030405");
}

// Global flags and the backup-location columns, as Velero prints them.
TEST(Output, TableCells) {
  api::Backup b;
  b.metadata.name = "b";
  b.metadata.deletion_timestamp = parse_rfc3339("2024-01-01T00:00:00Z");
  auto table = cli::backup_table({b}, parse_rfc3339("2024-01-02T00:00:00Z"));
  EXPECT_NE(table.find("Deleting"), std::string::npos) << table;
  EXPECT_NE(table.find("n/a"), std::string::npos) << table;
  api::BackupStorageLocation l;
  l.metadata.name = "x";
  l.spec.object_storage.bucket = "bk";
  l.spec.object_storage.prefix = "p";
  auto t = cli::location_table({l});
  EXPECT_NE(t.find("bk/p"), std::string::npos);
  EXPECT_NE(t.find("Unknown   Unknown"), std::string::npos) << t;
  EXPECT_NE(t.find("ReadWrite"), std::string::npos);
}

TEST(Output, YamlAndJsonOfOneObjectIsTheObject) {
  nlohmann::json o = {{"kind", "Backup"}, {"spec", {{"includedNamespaces", {"*"}}}}};
  EXPECT_EQ(nlohmann::json::parse(cli::format_objects({o}, "json")), o);
  EXPECT_NE(cli::format_objects({o}, "yaml").find("kind: Backup"), std::string::npos);
  EXPECT_NE(cli::format_objects({o, o}, "json").find("\"List\""), std::string::npos);
  EXPECT_THROW(cli::format_objects({o}, "xml"), std::invalid_argument);
}

// Velero's pkg/cmd/util/output/backup_describer.go: the hook specs with their filters and exec hooks (the text of
// Velero's own describer test for the same spec), and the hook results of the status.
TEST(Describe, BackupHooksAndTheirResults) {
  api::Backup b;
  b.metadata.name = "b";
  api::BackupResourceHookSpec hook;
  hook.name = "hook-1";
  hook.included_namespaces = {"hook-inc-ns-1", "hook-inc-ns-2"};
  hook.excluded_namespaces = {"hook-exc-ns-1", "hook-exc-ns-2"};
  hook.included_resources = {"hook-inc-res-1", "hook-inc-res-2"};
  hook.excluded_resources = {"hook-exc-res-1", "hook-exc-res-2"};
  hook.pre.resize(1);
  hook.pre[0].exec = api::ExecHook{"hook-container-1", {"pre"}, api::HookErrorMode::Continue, std::nullopt, {}};
  hook.post.resize(1);
  hook.post[0].exec = api::ExecHook{"hook-container-1", {"post"}, api::HookErrorMode::Continue, std::nullopt, {}};
  b.spec.hooks.resources.push_back(hook);
  b.status.hook_status = api::HookStatus{3, 1, {}};
  std::string text = cli::describe_backup(b, true, "{}");
  EXPECT_NE(text.find(R"(Hooks:
  Resources:
    hook-1:
      Namespaces:
        Included:  hook-inc-ns-1, hook-inc-ns-2
        Excluded:  hook-exc-ns-1, hook-exc-ns-2

      Resources:
        Included:  hook-inc-res-1, hook-inc-res-2
        Excluded:  hook-exc-res-1, hook-exc-res-2

      Label selector:  <none>

      Pre Exec Hook:
        Container:  hook-container-1
        Command:    pre
        On Error:   Continue
        Timeout:    0s

      Post Exec Hook:
        Container:  hook-container-1
        Command:    post
        On Error:   Continue
        Timeout:    0s
)"), std::string::npos) << text;
  EXPECT_NE(text.find("HooksAttempted:  3\nHooksFailed:     1\n"), std::string::npos) << text;
  b.spec.hooks.resources.clear();
  EXPECT_NE(cli::describe_backup(b, false, "").find("Hooks:  <none>\n"), std::string::npos);
}
