// The backup engine against a real kubelite: what run_backup writes (tarball entries, resource list) for
// lists that span many pages and for items that actions pull in out of list order.
#include "backup/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "archive/tarball_reader.h"
#include "kube/kube_test_support.h"
#include "tests/support/fault_proxy.h"

namespace arca::backup {
namespace {

using nlohmann::json;
using kube::testing::config_from;
using kube::testing::config_map;
using kube::testing::namespace_object;

class BackupEngine : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testsupport::TempDir();
    kubelite_ = new testsupport::Kubelite(testsupport::start_kubelite(*dir_));
    kube::testing::Client client(config_from(kubelite_->kubeconfig));
    auto create = [&](const char* resource, const json& object) {
      client.dynamic.create(client.discovery.resolve(resource), "", object);
    };
    for (const char* ns : {"a", "b", "c"}) create("namespaces", namespace_object(ns));
    // 3 × 250 ConfigMaps: several pages of 100 per list.
    for (int i = 0; i < 750; ++i) {
      const char* ns = i % 3 == 0 ? "a" : i % 3 == 1 ? "b" : "c";
      create("configmaps", config_map(ns, "cm-" + std::to_string(i)));
    }
    // The pod pulls "z-claim" in before the PVC list reaches "a-claim": that type's names arrive out of order.
    for (const char* claim : {"a-claim", "z-claim"})
      create("persistentvolumeclaims",
             {{"apiVersion", "v1"}, {"kind", "PersistentVolumeClaim"},
              {"metadata", {{"name", claim}, {"namespace", "a"}}},
              {"spec", {{"accessModes", {"ReadWriteOnce"}}, {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}});
    create("pods", json::parse(R"({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1", "namespace": "a"},
      "spec": {"containers": [{"name": "c", "image": "busybox"}],
               "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "z-claim"}}]}})"));
  }
  static void TearDownTestSuite() {
    delete kubelite_;
    delete dir_;
  }

  struct Output {
    RunResult result;
    std::map<std::string, std::string> entries;  // tarball path → content
    json resource_list;
    std::string log;
  };

  Output run(api::BackupSpec spec, std::function<void(int, int)> on_progress = {},
             const std::string& kubeconfig = kubelite_->kubeconfig, const FineGrainedFilters& fine_grained = {}) {
    kube::testing::Client client(config_from(kubeconfig));
    api::Backup backup;
    backup.metadata.namespace_ = "velero";
    backup.metadata.name = "b";
    backup.spec = std::move(spec);
    BackupLog log("velero/b");
    std::string tarball;
    RunOptions options;
    options.page_size = 100;
    options.on_progress = std::move(on_progress);
    options.fine_grained = fine_grained;
    Output out;
    out.result = run_backup(backup, *client.transport, client.discovery,
                            [&](const char* data, size_t size) { tarball.append(data, size); }, log, options);
    if (out.result.fatal_error.empty()) {
      EXPECT_EQ(log.errors(), 0) << log.text();
    }
    out.log = log.text();
    size_t at = 0;
    archive::TarballReader reader([&](char* buffer, size_t capacity) {  // it reads the gzip stream itself
      size_t n = tarball.copy(buffer, capacity, at);
      at += n;
      return n;
    });
    while (auto entry = reader.next()) out.entries[entry->path] = reader.read_content();
    std::string list_json;
    char buffer[4096];
    while (size_t n = std::fread(buffer, 1, sizeof buffer, out.result.resource_list.get())) list_json.append(buffer, n);
    out.resource_list = json::parse(list_json);
    return out;
  }

  static testsupport::TempDir* dir_;
  static testsupport::Kubelite* kubelite_;
};

testsupport::TempDir* BackupEngine::dir_ = nullptr;
testsupport::Kubelite* BackupEngine::kubelite_ = nullptr;

TEST_F(BackupEngine, ResourceListIsSortedAndMatchesTheTarball) {
  api::BackupSpec spec;
  spec.included_namespaces = {"a", "b", "c"};
  auto out = run(spec);

  std::set<std::string> config_maps;
  for (const auto& [path, content] : out.entries) {
    const std::string prefix = "resources/configmaps/namespaces/";
    if (path.rfind(prefix, 0) != 0) continue;
    std::string rest = path.substr(prefix.size());
    config_maps.insert(rest.substr(0, rest.size() - 5));  // "ns/name"
    // Every item also has its preferred-version copy, byte for byte.
    EXPECT_EQ(out.entries.at("resources/configmaps/v1-preferredversion/namespaces/" + rest), content) << path;
  }
  EXPECT_GE(config_maps.size(), 750u);

  for (const auto& [type, names] : out.resource_list.items()) {
    std::vector<std::string> got = names.get<std::vector<std::string>>();
    EXPECT_TRUE(std::is_sorted(got.begin(), got.end())) << type;
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), got.size()) << type << " has duplicates";
  }
  auto listed = out.resource_list["v1/ConfigMap"].get<std::vector<std::string>>();
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()), config_maps);
  EXPECT_EQ(out.resource_list["v1/PersistentVolumeClaim"], json({"a/a-claim", "a/z-claim"}));
  EXPECT_EQ(out.resource_list["v1/Pod"], json({"a/p1"}));
  EXPECT_EQ(out.resource_list["v1/Namespace"], json({"a", "b", "c"}));
  auto items = std::count_if(out.entries.begin(), out.entries.end(),
                             [](const auto& entry) { return entry.first.rfind("resources/", 0) == 0; });
  EXPECT_EQ(out.result.items_backed_up * 2, items);
}

// Velero 1.19's fine-grained filters: namespace "a" has a policy (only the kinds and names it lists; its rules
// replace the backup's label selector there), "b" has none (the global selector, which matches nothing, decides).
TEST_F(BackupEngine, NamespacedFilterPoliciesKeepOnlyWhatTheyListAndOtherNamespacesUseTheGlobalSelector) {
  api::BackupSpec spec;
  spec.included_namespaces = {"a", "b"};
  spec.label_selector = LabelSelector{};
  spec.label_selector->match_labels["no-such-label"] = "x";
  auto fine = parse_fine_grained_filters(json::parse(R"({"namespacedFilterPolicies":[{"namespaces":["a"],
      "resourceFilters":[{"kinds":["ConfigMap"],"names":["cm-3","cm-9?"],"excludedNames":["cm-99"]},
                         {"kinds":["persistentvolumeclaims"],"names":["z-*"]}]}]})"));
  auto out = run(spec, {}, kubelite_->kubeconfig, fine);
  std::vector<std::string> in_a, in_b;
  for (const auto& name : out.resource_list["v1/ConfigMap"].get<std::vector<std::string>>())
    (name.rfind("a/", 0) == 0 ? in_a : in_b).push_back(name);
  EXPECT_EQ(in_a, (std::vector<std::string>{"a/cm-3", "a/cm-90", "a/cm-93", "a/cm-96"}));
  EXPECT_TRUE(in_b.empty()) << "namespace b has no policy: the global selector (matching nothing) decides";
  EXPECT_EQ(out.resource_list["v1/PersistentVolumeClaim"], json({"a/z-claim"}));
  EXPECT_FALSE(out.resource_list.contains("v1/Pod")) << "pods are not listed in namespace a's policy";
  EXPECT_EQ(out.resource_list["v1/Namespace"], json({"a", "b"}));
}

TEST_F(BackupEngine, ExpiredContinueTokenRestartsTheListWithoutDuplicates) {
  api::BackupSpec spec;
  spec.included_namespaces = {"*"};
  spec.included_resources = {"configmaps"};
  kube::testing::Client other(config_from(kubelite_->kubeconfig));
  auto config_maps = other.discovery.resolve("configmaps");
  bool evicted = false;
  auto out = run(spec, [&](int, int backed_up) {
    // Mid-list (page size 100): 33 other paged lists push this backup's list snapshot out of kubelite's
    // 32, so its next continue token answers 410.
    if (evicted || backed_up < 150) return;
    evicted = true;
    for (int i = 0; i < 33; ++i) {
      kube::ListOptions page;
      page.page_size = 1;
      auto first_page_only = [&](const kube::ListItem&) { throw std::runtime_error("stop"); };
      try {
        other.dynamic.list(config_maps, "a", page, first_page_only);
      } catch (const std::runtime_error&) {
      }
    }
  });
  ASSERT_TRUE(evicted);
  EXPECT_NE(out.log.find("continue token of the list expired"), std::string::npos) << out.log;
  auto listed = out.resource_list["v1/ConfigMap"].get<std::vector<std::string>>();
  EXPECT_TRUE(std::is_sorted(listed.begin(), listed.end()));
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()).size(), listed.size());
  EXPECT_GE(listed.size(), 750u);
  auto items = std::count_if(out.entries.begin(), out.entries.end(),
                             [](const auto& entry) { return entry.first.rfind("resources/configmaps/namespaces/", 0) == 0; });
  EXPECT_EQ(static_cast<size_t>(items), listed.size());
  EXPECT_EQ(out.result.items_backed_up, static_cast<int>(listed.size()));
}

TEST_F(BackupEngine, FatalErrorStillClosesTheTarball) {
  testsupport::FaultProxy proxy(kubelite_->server);
  testsupport::write_kubeconfig_for(kubelite_->kubeconfig, proxy.url(), dir_->file("proxied.kubeconfig"));
  proxy.fail([](std::string_view method, std::string_view target) {
    return method == "GET" && (target == "/api/v1/namespaces" || target.rfind("/api/v1/namespaces?", 0) == 0);
  }, 403, "namespaces is forbidden");
  api::BackupSpec spec;
  spec.included_namespaces = {"*"};
  auto out = run(spec, {}, dir_->file("proxied.kubeconfig"));  // throws if the tarball cannot be read to its end
  EXPECT_NE(out.result.fatal_error.find("namespaces is forbidden"), std::string::npos) << out.result.fatal_error;
  EXPECT_EQ(out.result.items_backed_up, 0);
  EXPECT_EQ(out.resource_list, json::object());
  EXPECT_GE(proxy.failed_requests(), 1);
}

TEST_F(BackupEngine, EmptySelectionStillWritesAValidResourceList) {
  api::BackupSpec spec;
  spec.included_namespaces = {"a"};
  spec.included_resources = {"configmaps"};
  spec.label_selector = LabelSelector{};
  spec.label_selector->match_labels["no-such-label"] = "x";
  auto out = run(spec);
  EXPECT_EQ(out.result.items_backed_up, 0);
  EXPECT_EQ(out.resource_list, json::object());
  for (const auto& [path, content] : out.entries) EXPECT_EQ(path.rfind("metadata/", 0), 0u) << path;
}

// A resource served only in a version other than its group's preferred one is backed up in that version, which is
// its preferred one (client-go's ServerPreferredResources, which Velero lists resources with).
TEST_F(BackupEngine, ResourceServedOnlyInANonPreferredGroupVersionIsBackedUp) {
  kube::testing::Client client(config_from(kubelite_->kubeconfig));
  auto crd = [](const std::string& plural, const std::string& kind, const std::vector<std::string>& versions) {
    json object = {{"apiVersion", "apiextensions.k8s.io/v1"},
                   {"kind", "CustomResourceDefinition"},
                   {"metadata", {{"name", plural + ".zoo.example.io"}}},
                   {"spec", {{"group", "zoo.example.io"},
                             {"scope", "Namespaced"},
                             {"names", {{"plural", plural}, {"singular", kind}, {"kind", kind}}},
                             {"versions", json::array()}}}};
    for (const auto& version : versions)
      object["spec"]["versions"].push_back(
          {{"name", version}, {"served", true}, {"storage", version == versions.front()},
           {"schema", {{"openAPIV3Schema", {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}}}}}});
    return object;
  };
  // The group's versions are v1 (preferred) and v1beta1; tigers exist only in v1beta1.
  client.dynamic.create(client.discovery.resolve("customresourcedefinitions"), "", crd("lions", "Lion", {"v1", "v1beta1"}));
  client.dynamic.create(client.discovery.resolve("customresourcedefinitions"), "", crd("tigers", "Tiger", {"v1beta1"}));
  client.dynamic.create(client.discovery.resolve("namespaces"), "", namespace_object("zoo"));
  for (int attempt = 0; attempt < 100 && !client.discovery.data()->find("zoo.example.io", "v1beta1", "tigers"); ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    client.discovery.refresh();
  }
  ASSERT_EQ(client.discovery.data()->preferred_version("zoo.example.io"), "v1");
  client.dynamic.create(client.discovery.resolve("lions"), "zoo",
                        {{"apiVersion", "zoo.example.io/v1"}, {"kind", "Lion"}, {"metadata", {{"name", "leo"}}}});
  client.dynamic.create(client.discovery.resolve("tigers"), "zoo",
                        {{"apiVersion", "zoo.example.io/v1beta1"}, {"kind", "Tiger"}, {"metadata", {{"name", "tig"}}}});

  api::BackupSpec spec;
  spec.included_namespaces = {"zoo"};
  auto out = run(spec);
  ASSERT_TRUE(out.entries.count("resources/tigers.zoo.example.io/namespaces/zoo/tig.json")) << out.log;
  EXPECT_EQ(json::parse(out.entries.at("resources/tigers.zoo.example.io/namespaces/zoo/tig.json"))["apiVersion"],
            "zoo.example.io/v1beta1");
  EXPECT_TRUE(out.entries.count("resources/tigers.zoo.example.io/v1beta1-preferredversion/namespaces/zoo/tig.json"));
  EXPECT_TRUE(out.entries.count("resources/lions.zoo.example.io/v1-preferredversion/namespaces/zoo/leo.json"));
  EXPECT_FALSE(out.entries.count("resources/lions.zoo.example.io/v1beta1/namespaces/zoo/leo.json"));
  EXPECT_EQ(out.resource_list["zoo.example.io/v1beta1/Tiger"], json({"zoo/tig"}));
  EXPECT_EQ(out.resource_list["zoo.example.io/v1/Lion"], json({"zoo/leo"}));
}

}  // namespace
}  // namespace arca::backup
