// EnableAPIGroupVersions end to end against two real kubelites: a CRD served in v1 and v2 (v1 preferred) with
// objects created in each version; the backup engine with the feature writes both version directories; restores
// into a cluster whose CRD prefers v2 read the v2 directory, or v1 when the user's ConfigMap says so, and without
// the feature read the unversioned (v1) items.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "archive/tarball_reader.h"
#include "backup/engine.h"
#include "restore/restore_test_support.h"

namespace arca::restore {
namespace {

using nlohmann::json;
using testing::Cluster;
using ::testing::HasSubstr;

const std::string kRockbands = "rockbands.music.example.io";

json rockband_crd(const std::vector<std::string>& versions) {
  json crd = json::parse(R"({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "rockbands.music.example.io"},
    "spec": {"group": "music.example.io", "scope": "Namespaced",
             "names": {"plural": "rockbands", "singular": "rockband", "kind": "RockBand"}, "versions": []}})");
  for (const auto& version : versions)
    crd["spec"]["versions"].push_back({{"name", version},
                                       {"served", true},
                                       {"storage", version == versions.front()},
                                       {"schema", {{"openAPIV3Schema", {{"type", "object"},
                                                                        {"x-kubernetes-preserve-unknown-fields", true}}}}}});
  return crd;
}

// Creates the CRD and waits until discovery serves every version of it.
void install_rockbands(Cluster& cluster, const std::vector<std::string>& versions) {
  cluster.client->create(cluster.resource("customresourcedefinitions"), "", rockband_crd(versions));
  for (const auto& version : versions) cluster.wait_until_served("music.example.io", version, "rockbands");
}

json rockband(const std::string& version, const std::string& name, const std::string& singer) {
  return {{"apiVersion", "music.example.io/" + version},
          {"kind", "RockBand"},
          {"metadata", {{"name", name}}},
          {"spec", {{"leadSinger", singer}}}};
}

std::map<std::string, std::string> tar_entries(const std::string& tarball) {
  std::map<std::string, std::string> entries;
  archive::TarballReader reader(testing::source_of(tarball));
  while (auto entry = reader.next()) entries[entry->path] = reader.read_content();
  return entries;
}

class GroupVersions : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testsupport::TempDir();
    source_ = new Cluster(*dir_);
    install_rockbands(*source_, {"v1", "v2"});
    source_->create_namespace("band");
    source_->create(rockband("v1", "alpha", "ann"), "band");
    source_->create(rockband("v2", "beta", "bob"), "band");
    source_->create({{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "cm"}}}, {"data", {{"k", "v"}}}},
                    "band");
    with_feature_ = new std::string(back_up(true));
    without_feature_ = new std::string(back_up(false));

    testsupport::TempDir* target_dir = new testsupport::TempDir();
    target_dir_ = target_dir;
    target_ = new Cluster(*target_dir);
    install_rockbands(*target_, {"v2", "v1"});  // kubelite prefers a CRD's first version
    target_->create_namespace("velero");
  }
  static void TearDownTestSuite() {
    delete target_;
    delete target_dir_;
    delete with_feature_;
    delete without_feature_;
    delete source_;
    delete dir_;
  }

  static std::string back_up(bool all_group_versions) {
    api::Backup backup;
    backup.metadata.namespace_ = "velero";
    backup.metadata.name = all_group_versions ? "with-feature" : "without-feature";
    backup.spec.included_namespaces = {"band"};
    backup::BackupLog log("velero/" + backup.metadata.name);
    backup::RunOptions options;
    options.all_group_versions = all_group_versions;
    std::string tarball;
    kube::Discovery discovery(*source_->transport);
    auto result = backup::run_backup(backup, *source_->transport, discovery,
                                     [&](const char* data, size_t size) { tarball.append(data, size); }, log, options);
    EXPECT_EQ(result.fatal_error, "");
    EXPECT_EQ(log.errors(), 0) << log.text();
    return tarball;
  }

  struct Restored {
    json resources;  // the restored-resource list
    std::string log;
  };
  // Restores the backup's namespace `band` into `into` on the target cluster.
  static Restored restore(const std::string& tarball, const std::string& into, bool choose_group_versions) {
    api::Restore restore = testing::restore_named("r-" + into, "with-feature");
    restore.spec.namespace_mapping["band"] = into;
    restore.spec.excluded_resources = {"customresourcedefinitions.apiextensions.k8s.io"};
    RestoreLog log(dir_->file("restore-" + into + ".log"), "velero/r-" + into);
    EngineOptions options;
    options.workers = 4;
    options.spool_dir = dir_->path();
    options.choose_group_versions = choose_group_versions;
    RestoreOutcome outcome;
    run_restore(restore, testing::source_of(tarball), *target_->transport, *target_->discovery, log, options, outcome);
    EXPECT_EQ(outcome.errors.count(), 0u) << log.text();
    return {json::parse(outcome.resources.json()), log.text()};
  }

  // The apiVersion the target's resource list says each rockband was created in.
  static json rockbands_created(const Restored& restored) {
    json created = json::object();
    for (const auto& [type, names] : restored.resources.items())
      if (type.find("/RockBand") != std::string::npos) created[type] = names;
    return created;
  }

  static testsupport::TempDir* dir_;
  static testsupport::TempDir* target_dir_;
  static Cluster* source_;
  static Cluster* target_;
  static std::string* with_feature_;
  static std::string* without_feature_;
};

testsupport::TempDir* GroupVersions::dir_ = nullptr;
testsupport::TempDir* GroupVersions::target_dir_ = nullptr;
Cluster* GroupVersions::source_ = nullptr;
Cluster* GroupVersions::target_ = nullptr;
std::string* GroupVersions::with_feature_ = nullptr;
std::string* GroupVersions::without_feature_ = nullptr;

TEST_F(GroupVersions, BackupWritesEveryServedVersion) {
  auto entries = tar_entries(*with_feature_);
  const std::string dir = "resources/" + kRockbands;
  for (const char* name : {"alpha", "beta"}) {
    std::string file = std::string("/namespaces/band/") + name + ".json";
    ASSERT_TRUE(entries.count(dir + file)) << file;
    EXPECT_EQ(entries.at(dir + "/v1-preferredversion" + file), entries.at(dir + file));
    EXPECT_EQ(json::parse(entries.at(dir + file))["apiVersion"], "music.example.io/v1");
    ASSERT_TRUE(entries.count(dir + "/v2" + file)) << file;
    EXPECT_EQ(json::parse(entries.at(dir + "/v2" + file))["apiVersion"], "music.example.io/v2");
  }
  // A group served in one version has only its preferred copies.
  EXPECT_TRUE(entries.count("resources/configmaps/v1-preferredversion/namespaces/band/cm.json"));
  for (const auto& [path, content] : entries) {
    if (path.rfind("resources/", 0) == 0 && path.rfind(dir, 0) != 0) {
      EXPECT_THAT(path, ::testing::Not(::testing::ContainsRegex("^resources/[^/]+/v[0-9a-z]+/"))) << path;
    }
  }
}

TEST_F(GroupVersions, WithoutTheFeatureOnlyPreferredVersions) {
  auto entries = tar_entries(*without_feature_);
  const std::string dir = "resources/" + kRockbands;
  EXPECT_TRUE(entries.count(dir + "/namespaces/band/beta.json"));
  EXPECT_TRUE(entries.count(dir + "/v1-preferredversion/namespaces/band/beta.json"));
  for (const auto& [path, content] : entries) EXPECT_EQ(path.find("/v2/"), std::string::npos) << path;
  // The feature only adds the non-preferred version's entries.
  auto with_feature = tar_entries(*with_feature_);
  std::erase_if(with_feature, [&](const auto& entry) { return entry.first.rfind(dir + "/v2/", 0) == 0; });
  EXPECT_EQ(with_feature, entries);
}

TEST_F(GroupVersions, RestorePicksTheTargetsPreferredVersion) {
  auto restored = restore(*with_feature_, "band-v2", true);
  EXPECT_THAT(restored.log, HasSubstr("restoring " + kRockbands + " from API version v2 (preferred by the cluster)"));
  EXPECT_EQ(rockbands_created(restored),
            json({{"music.example.io/v2/RockBand", {"band-v2/alpha(created)", "band-v2/beta(created)"}}}));
  auto live = target_->client->get(target_->discovery->lookup("music.example.io", "v2", "rockbands"), "band-v2", "beta");
  EXPECT_EQ(live["spec"]["leadSinger"], "bob");
}

TEST_F(GroupVersions, UserPriorityConfigMapPicksV1) {
  target_->create({{"apiVersion", "v1"},
                   {"kind", "ConfigMap"},
                   {"metadata", {{"name", "enableapigroupversions"}}},
                   {"data", {{"restoreResourcesVersionPriority", kRockbands + " = v1, v2\nnot a priority line\n"}}}},
                  "velero");
  auto restored = restore(*with_feature_, "band-v1", true);
  target_->client->remove(target_->resource("configmaps"), "velero", "enableapigroupversions");
  EXPECT_THAT(restored.log, HasSubstr("restoring " + kRockbands + " from API version v1 (user priority)"));
  EXPECT_THAT(restored.log, HasSubstr("ignoring version priority line"));
  EXPECT_THAT(restored.log, HasSubstr("not a priority line"));
  EXPECT_EQ(rockbands_created(restored),
            json({{"music.example.io/v1/RockBand", {"band-v1/alpha(created)", "band-v1/beta(created)"}}}));
}

TEST_F(GroupVersions, WithoutTheFeatureRestoreReadsTheUnversionedItems) {
  auto restored = restore(*with_feature_, "band-plain", false);
  EXPECT_THAT(restored.log, ::testing::Not(HasSubstr("from API version")));
  EXPECT_EQ(rockbands_created(restored),
            json({{"music.example.io/v1/RockBand", {"band-plain/alpha(created)", "band-plain/beta(created)"}}}));
}

}  // namespace
}  // namespace arca::restore
