// Each resource-selecting flag of `arca backup create`, run for its effect: a real `arca server` and kubelite, the
// real CLI, and the backup read back from the bucket in Velero's layout (its resource list and tarball order).
// cli_parity_test checks that Velero's flags exist with their types and defaults; this checks what they do.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "tests/support/cluster.h"

using namespace std::chrono_literals;
using nlohmann::json;
using testsupport::Cluster;

namespace {

// ns-a (label team=a) and ns-b each hold ConfigMaps web (app=web) and db (app=db) and an unlabelled Secret s;
// one ClusterRole and one StorageClass are cluster-scoped objects the filters can keep or drop.
constexpr const char* kObjects = R"(
apiVersion: v1
kind: Namespace
metadata: {name: ns-a, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ns-b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web, namespace: ns-a, labels: {app: web}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: db, namespace: ns-a, labels: {app: db}}
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: ns-a}
stringData: {k: v}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web, namespace: ns-b, labels: {app: web}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: db, namespace: ns-b, labels: {app: db}}
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: ns-b}
stringData: {k: v}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: effect-role}
rules: []
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: effect-class}
provisioner: example.com/none
---
apiVersion: v1
kind: ConfigMap
metadata: {name: policy, namespace: velero}
data:
  policy.yaml: |
    version: v1
    includeExcludePolicy:
      excludedNamespaceScopedResources: [secrets]
)";

class BackupFlags : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new Cluster();
    cluster_->start_server();
    std::ofstream(cluster_->dir().file("objects.yaml")) << kObjects;
    auto applied = cluster_->kubectl({"apply", "-f", cluster_->dir().file("objects.yaml")});
    ASSERT_EQ(applied.exit_code, 0) << applied.output;
  }
  static void TearDownTestSuite() { delete cluster_; }

  // Runs `arca backup create NAME <flags> --wait` and returns its stored resource list as a set of
  // "<Kind> <ns/name>" for the objects of this test (ns-a, ns-b, effect-*).
  static std::set<std::string> back_up(const std::string& name, std::vector<std::string> flags) {
    std::vector<std::string> args = {"backup", "create", name, "--wait"};
    args.insert(args.end(), flags.begin(), flags.end());
    cluster_->arca_ok(args);
    json list = json::parse(stored_text(name, name + "-resource-list.json.gz"));
    std::set<std::string> out;
    for (const auto& [type, names] : list.items()) {
      std::string kind = type.substr(type.rfind('/') + 1);
      for (const auto& n : names) {
        std::string item = n.get<std::string>();
        if (item.rfind("ns-a", 0) == 0 || item.rfind("ns-b", 0) == 0 || item.rfind("effect-", 0) == 0)
          out.insert(kind + " " + item);
      }
    }
    return out;
  }
  static std::string stored_text(const std::string& backup, const std::string& file) {
    auto r = testsupport::run_command(
        {"gzip", "-dc", cluster_->store_root() + "/bucket/backups/" + backup + "/" + file}, cluster_->dir());
    if (r.exit_code != 0) throw std::runtime_error("cannot read " + file + ": " + r.output);
    return r.out;
  }
  static bool has(const std::set<std::string>& items, const std::string& item) { return items.count(item) > 0; }

  static Cluster* cluster_;
};

Cluster* BackupFlags::cluster_ = nullptr;

TEST_F(BackupFlags, NamespaceFlags) {
  auto only_a = back_up("f-include-ns", {"--include-namespaces", "ns-a"});
  EXPECT_TRUE(has(only_a, "ConfigMap ns-a/web"));
  EXPECT_FALSE(has(only_a, "ConfigMap ns-b/web"));
  EXPECT_FALSE(has(only_a, "ClusterRole effect-role")) << "a namespace-filtered backup leaves cluster-scoped kinds out";

  auto not_b = back_up("f-exclude-ns", {"--exclude-namespaces", "ns-b"});
  EXPECT_TRUE(has(not_b, "ConfigMap ns-a/db"));
  EXPECT_FALSE(has(not_b, "ConfigMap ns-b/db"));
  EXPECT_FALSE(has(not_b, "Namespace ns-b"));
  // Velero's IncludeEverything() is false once anything is excluded (pkg/util/collections/includes_excludes.go):
  // with includeClusterResources unset, cluster-scoped kinds then stay out.
  EXPECT_FALSE(has(not_b, "ClusterRole effect-role"));
}

TEST_F(BackupFlags, OldStyleResourceFlags) {
  auto config_maps = back_up("f-include-res", {"--include-resources", "configmaps"});
  EXPECT_TRUE(has(config_maps, "ConfigMap ns-a/web") && has(config_maps, "ConfigMap ns-b/db"));
  EXPECT_FALSE(has(config_maps, "Secret ns-a/s"));
  EXPECT_FALSE(has(config_maps, "ClusterRole effect-role"));

  auto no_secrets = back_up("f-exclude-res", {"--exclude-resources", "secrets", "--include-namespaces", "ns-a"});
  EXPECT_TRUE(has(no_secrets, "ConfigMap ns-a/web"));
  EXPECT_FALSE(has(no_secrets, "Secret ns-a/s"));

  auto with_cluster = back_up("f-icr-true", {"--include-namespaces", "ns-a", "--include-cluster-resources=true"});
  EXPECT_TRUE(has(with_cluster, "ClusterRole effect-role"));
  EXPECT_TRUE(has(with_cluster, "StorageClass effect-class"));
  auto without_cluster = back_up("f-icr-false", {"--include-cluster-resources=false"});
  EXPECT_FALSE(has(without_cluster, "ClusterRole effect-role"));
  EXPECT_TRUE(has(without_cluster, "ConfigMap ns-b/web"));
}

TEST_F(BackupFlags, ScopedResourceFlags) {
  auto role_only = back_up("f-include-cs", {"--include-namespaces", "ns-a", "--include-cluster-scoped-resources",
                                            "clusterroles.rbac.authorization.k8s.io"});
  EXPECT_TRUE(has(role_only, "ClusterRole effect-role"));
  EXPECT_FALSE(has(role_only, "StorageClass effect-class"));
  EXPECT_TRUE(has(role_only, "Secret ns-a/s"));

  // An exclude alone selects no cluster-scoped kind (Velero's ScopeIncludesExcludes); with `*` included it trims.
  auto no_class = back_up("f-exclude-cs", {"--include-cluster-scoped-resources", "*",
                                           "--exclude-cluster-scoped-resources", "storageclasses.storage.k8s.io"});
  EXPECT_TRUE(has(no_class, "ClusterRole effect-role"));
  EXPECT_FALSE(has(no_class, "StorageClass effect-class"));

  auto ns_config_maps = back_up("f-include-nss", {"--include-namespaces", "ns-b", "--include-namespace-scoped-resources",
                                                  "configmaps"});
  EXPECT_TRUE(has(ns_config_maps, "ConfigMap ns-b/web"));
  EXPECT_FALSE(has(ns_config_maps, "Secret ns-b/s"));

  auto ns_no_secrets = back_up("f-exclude-nss", {"--include-namespaces", "ns-b", "--exclude-namespace-scoped-resources",
                                                 "secrets"});
  EXPECT_TRUE(has(ns_no_secrets, "ConfigMap ns-b/db"));
  EXPECT_FALSE(has(ns_no_secrets, "Secret ns-b/s"));
}

TEST_F(BackupFlags, LabelSelectorFlags) {
  auto web = back_up("f-selector", {"--selector", "app=web"});
  EXPECT_TRUE(has(web, "ConfigMap ns-a/web") && has(web, "ConfigMap ns-b/web"));
  EXPECT_FALSE(has(web, "ConfigMap ns-a/db"));
  EXPECT_FALSE(has(web, "Secret ns-a/s"));

  auto either = back_up("f-or-selector", {"--or-selector", "app=web or app=db", "--include-namespaces", "ns-a"});
  EXPECT_TRUE(has(either, "ConfigMap ns-a/web") && has(either, "ConfigMap ns-a/db"));
  EXPECT_FALSE(has(either, "Secret ns-a/s"));
}

TEST_F(BackupFlags, ResourcePolicyOrderTtlLabelsAndAnnotations) {
  auto policy = back_up("f-policy", {"--include-namespaces", "ns-a", "--resource-policies-configmap", "policy"});
  EXPECT_TRUE(has(policy, "ConfigMap ns-a/web"));
  EXPECT_FALSE(has(policy, "Secret ns-a/s")) << "the policy's includeExcludePolicy excludes secrets";

  // --ordered-resources: the named items come first in the tarball, in the given order.
  back_up("f-ordered", {"--include-namespaces", "ns-a", "--ordered-resources", "configmaps=ns-a/web,ns-a/db"});
  auto tar = testsupport::run_command(
      {"tar", "-tzf", cluster_->store_root() + "/bucket/backups/f-ordered/f-ordered.tar.gz"}, cluster_->dir());
  ASSERT_EQ(tar.exit_code, 0) << tar.output;
  auto web = tar.out.find("resources/configmaps/namespaces/ns-a/web.json");
  auto db = tar.out.find("resources/configmaps/namespaces/ns-a/db.json");
  ASSERT_NE(web, std::string::npos) << tar.out;
  ASSERT_NE(db, std::string::npos) << tar.out;
  EXPECT_LT(web, db) << "web was ordered before db (alphabetical order would put db first)";

  back_up("f-meta", {"--include-namespaces", "ns-a", "--ttl", "5h", "--labels", "team=ops", "--annotations",
                     "note=kept"});
  json backup = json::parse(cluster_->kubectl({"-n", "velero", "get", "backups.velero.io", "f-meta", "-o", "json"}).out);
  EXPECT_EQ(backup["spec"]["ttl"], "5h0m0s");
  EXPECT_EQ(backup["metadata"]["labels"]["team"], "ops");
  EXPECT_EQ(backup["metadata"]["annotations"]["note"], "kept");
  json stored = json::parse(testsupport::run_command(
      {"cat", cluster_->store_root() + "/bucket/backups/f-meta/velero-backup.json"}, cluster_->dir()).out);
  EXPECT_EQ(stored["spec"]["ttl"], "5h0m0s");
  EXPECT_EQ(stored["metadata"]["labels"]["team"], "ops");
}

}  // namespace
