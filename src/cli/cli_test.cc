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
