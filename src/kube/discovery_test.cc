// Discovery parsing and kubectl-style resource resolution, on the real documents of a kube-apiserver.
#include "kube/discovery.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace arca::kube {
namespace {

std::string fixture_dir() { return std::string(std::getenv("ARCA_FIXTURES")) + "/kubernetes/discovery/"; }

nlohmann::json load(const std::string& name) {
  std::ifstream in(fixture_dir() + name);
  EXPECT_TRUE(in) << name;
  return nlohmann::json::parse(in);
}

// aggregated_v2.json is the /apis answer; the core group comes from /api, which the fixtures hold in
// legacy form only (api__v1.json).
DiscoveryData aggregated() {
  DiscoveryData data;
  add_api_versions(load("api.json"), data);
  add_resource_list(load("api__v1.json"), data);
  add_aggregated_discovery(load("aggregated_v2.json"), data);
  return data;
}

// What a client sees from a server without aggregation: /api, /apis, then every group-version document.
DiscoveryData legacy() {
  DiscoveryData data;
  add_api_versions(load("api.json"), data);
  add_group_list(load("apis.json"), data);
  for (const auto& entry : std::filesystem::directory_iterator(fixture_dir())) {
    std::string name = entry.path().filename().string();
    // api__v1.json and apis__<group>__<version>.json are APIResourceLists; apis__<group>.json is an APIGroup.
    if (name.find("__") == std::string::npos) continue;
    nlohmann::json doc = load(name);
    if (doc.value("kind", "") == "APIResourceList") add_resource_list(doc, data);
  }
  return data;
}

TEST(DiscoveryParse, AggregatedDocumentHasKindsScopesVerbsAndSubresources) {
  DiscoveryData data = aggregated();
  ASSERT_EQ(data.groups.front().name, "");  // core first, as kubectl orders it
  const ApiResource* deployments = data.find("apps", "v1", "deployments");
  ASSERT_NE(deployments, nullptr);
  EXPECT_EQ(deployments->kind, "Deployment");
  EXPECT_EQ(deployments->singular, "deployment");
  EXPECT_TRUE(deployments->namespaced);
  EXPECT_TRUE(deployments->has_verb("deletecollection"));
  EXPECT_FALSE(deployments->has_verb("proxy"));
  EXPECT_EQ(deployments->short_names, std::vector<std::string>{"deploy"});
  const Subresource* scale = deployments->subresource("scale");
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ(scale->group, "autoscaling");
  EXPECT_EQ(scale->version, "v1");
  EXPECT_EQ(scale->kind, "Scale");
  const Subresource* status = deployments->subresource("status");
  ASSERT_NE(status, nullptr);
  // An empty responseKind group/version means the enclosing one.
  EXPECT_EQ(status->group, "apps");
  EXPECT_EQ(status->kind, "Deployment");

  const ApiResource* crds = data.find("apiextensions.k8s.io", "v1", "customresourcedefinitions");
  ASSERT_NE(crds, nullptr);
  EXPECT_FALSE(crds->namespaced);
  EXPECT_EQ(crds->short_names, (std::vector<std::string>{"crd", "crds"}));
  EXPECT_EQ(data.preferred_version("autoscaling"), "v2");
  EXPECT_EQ(data.preferred_version("resource.k8s.io"), "v1beta2");
  // Every version is kept: a backup of older API versions needs them.
  EXPECT_NE(data.find("autoscaling", "v1", "horizontalpodautoscalers"), nullptr);
}

TEST(DiscoveryParse, LegacyDocumentsGiveSubresourcesWithTheirOwnGroup) {
  DiscoveryData data = legacy();
  const ApiResource* pods = data.find("", "v1", "pods");
  ASSERT_NE(pods, nullptr);
  EXPECT_TRUE(pods->namespaced);
  EXPECT_EQ(pods->short_names, std::vector<std::string>{"po"});
  const Subresource* log = pods->subresource("log");
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->verbs, std::vector<std::string>{"get"});
  const Subresource* eviction = pods->subresource("eviction");
  ASSERT_NE(eviction, nullptr);
  EXPECT_EQ(eviction->group, "policy");
  EXPECT_EQ(eviction->kind, "Eviction");
  const ApiResource* deployments = data.find("apps", "v1", "deployments");
  ASSERT_NE(deployments, nullptr);
  ASSERT_NE(deployments->subresource("scale"), nullptr);
  EXPECT_EQ(deployments->subresource("scale")->group, "autoscaling");
  EXPECT_EQ(deployments->subresource("status")->group, "apps");
  const ApiResource* namespaces = data.find("", "v1", "namespaces");
  ASSERT_NE(namespaces, nullptr);
  EXPECT_FALSE(namespaces->namespaced);
  // Preferred versions come from the APIGroupList, listed first.
  EXPECT_EQ(data.preferred_version("autoscaling"), "v2");
  EXPECT_EQ(data.preferred_version(""), "v1");
}

TEST(DiscoveryParse, AggregatedAndLegacyAgreeOnSharedResources) {
  DiscoveryData agg = aggregated();
  DiscoveryData leg = legacy();
  size_t compared = 0;
  for (const auto& r : leg.resources) {
    const ApiResource* other = agg.find(r.group, r.version, r.resource);
    if (!other) continue;  // the fixtures come from different Kubernetes commits
    ++compared;
    EXPECT_EQ(other->kind, r.kind) << r.group_resource();
    EXPECT_EQ(other->namespaced, r.namespaced) << r.group_resource();
    EXPECT_EQ(other->singular, r.singular) << r.group_resource();
  }
  EXPECT_GT(compared, 40u);
}

TEST(DiscoveryParse, PreferredResourcesTakeOneVersionPerGroup) {
  DiscoveryData data = aggregated();
  size_t hpas = 0;
  for (const ApiResource* r : data.preferred_resources()) {
    if (r->resource == "horizontalpodautoscalers") {
      ++hpas;
      EXPECT_EQ(r->version, "v2");
    }
  }
  EXPECT_EQ(hpas, 1u);
}

struct Resolution {
  const char* input;
  const char* group;
  const char* version;
  const char* resource;
};

class ResolveTest : public ::testing::TestWithParam<Resolution> {};

TEST_P(ResolveTest, LikeKubectl) {
  const Resolution& want = GetParam();
  for (const DiscoveryData& data : {aggregated(), legacy()}) {
    const ApiResource* r = resolve_resource(data, want.input);
    ASSERT_NE(r, nullptr) << want.input;
    EXPECT_EQ(r->group, want.group) << want.input;
    EXPECT_EQ(r->version, want.version) << want.input;
    EXPECT_EQ(r->resource, want.resource) << want.input;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, ResolveTest,
    ::testing::Values(Resolution{"deploy", "apps", "v1", "deployments"},
                      Resolution{"deployments", "apps", "v1", "deployments"},
                      Resolution{"deployment", "apps", "v1", "deployments"},
                      Resolution{"Deployment", "apps", "v1", "deployments"},
                      Resolution{"deployments.apps", "apps", "v1", "deployments"},
                      Resolution{"deployment.v1.apps", "apps", "v1", "deployments"},
                      Resolution{"DEPLOY", "apps", "v1", "deployments"},
                      Resolution{"po", "", "v1", "pods"},
                      Resolution{"pod", "", "v1", "pods"},
                      Resolution{"Pod", "", "v1", "pods"},
                      Resolution{"pods.v1", "", "v1", "pods"},
                      Resolution{"svc", "", "v1", "services"},
                      Resolution{"cm", "", "v1", "configmaps"},
                      Resolution{"ns", "", "v1", "namespaces"},
                      Resolution{"pvc", "", "v1", "persistentvolumeclaims"},
                      Resolution{"pv", "", "v1", "persistentvolumes"},
                      Resolution{"sa", "", "v1", "serviceaccounts"},
                      Resolution{"secret", "", "v1", "secrets"},
                      Resolution{"ev", "", "v1", "events"},  // the core group comes first
                      Resolution{"events.events.k8s.io", "events.k8s.io", "v1", "events"},
                      Resolution{"sts", "apps", "v1", "statefulsets"},
                      Resolution{"ds", "apps", "v1", "daemonsets"},
                      Resolution{"rs", "apps", "v1", "replicasets"},
                      Resolution{"cj", "batch", "v1", "cronjobs"},
                      Resolution{"job", "batch", "v1", "jobs"},
                      Resolution{"hpa", "autoscaling", "v2", "horizontalpodautoscalers"},
                      Resolution{"hpa.v1.autoscaling", "autoscaling", "v1", "horizontalpodautoscalers"},
                      Resolution{"horizontalpodautoscalers.autoscaling", "autoscaling", "v2", "horizontalpodautoscalers"},
                      Resolution{"ing", "networking.k8s.io", "v1", "ingresses"},
                      Resolution{"netpol", "networking.k8s.io", "v1", "networkpolicies"},
                      Resolution{"crd", "apiextensions.k8s.io", "v1", "customresourcedefinitions"},
                      Resolution{"crds", "apiextensions.k8s.io", "v1", "customresourcedefinitions"},
                      Resolution{"CustomResourceDefinition", "apiextensions.k8s.io", "v1", "customresourcedefinitions"},
                      Resolution{"clusterrolebinding", "rbac.authorization.k8s.io", "v1", "clusterrolebindings"},
                      Resolution{"ClusterRole", "rbac.authorization.k8s.io", "v1", "clusterroles"},
                      Resolution{"sc", "storage.k8s.io", "v1", "storageclasses"},
                      Resolution{"pdb", "policy", "v1", "poddisruptionbudgets"},
                      Resolution{"pc", "scheduling.k8s.io", "v1", "priorityclasses"}));

TEST(Resolve, UnknownInputsResolveToNothing) {
  DiscoveryData data = aggregated();
  for (const char* input : {"nosuch", "deployments.nosuch", "deployment.v9.apps", "pods.apps", "", "."}) {
    EXPECT_EQ(resolve_resource(data, input), nullptr) << input;
  }
}

}  // namespace
}  // namespace arca::kube
