// Velero 1.19's fine-grained filters, checked against the examples of Velero's fine-grained backup filters
// guide (site/content/docs/main/fine-grained-backup-filters.md) and the validation errors it lists.
#include "util/fine_grained_filters.h"

#include <gtest/gtest.h>

namespace arca {
namespace {

using nlohmann::json;

FineGrainedFilters parse(const char* text) { return parse_fine_grained_filters(json::parse(text)); }

FilterDecision::Verdict verdict(const FineGrainedFilters& f, const std::string& gr, const std::string& kind,
                                const std::string& ns, const std::string& name, const Labels& labels = {}) {
  return decide(f, gr, kind, ns, name, labels).verdict;
}

constexpr auto kInclude = FilterDecision::include;
constexpr auto kExclude = FilterDecision::exclude;
constexpr auto kGlobal = FilterDecision::global;

TEST(FineGrainedFilters, ExactNamesWithALabelAndUnlistedKindsExcluded) {
  auto f = parse(R"({"namespacedFilterPolicies":[{"namespaces":["target"],"resourceFilters":[
      {"kinds":["ConfigMap"],"names":["vm-1","vm-2"],"labelSelector":{"matchLabels":{"resource-type":"VirtualMachine"}}}]}]})");
  const Labels vm{{"resource-type", "VirtualMachine"}};
  EXPECT_EQ(verdict(f, "configmaps", "ConfigMap", "target", "vm-1", vm), kInclude);
  EXPECT_EQ(verdict(f, "configmaps", "ConfigMap", "target", "vm-3", vm), kExclude);
  EXPECT_EQ(verdict(f, "configmaps", "ConfigMap", "target", "vm-2", {}), kExclude);
  EXPECT_EQ(verdict(f, "secrets", "Secret", "target", "vm-1", vm), kExclude) << "only listed kinds are kept";
  EXPECT_EQ(verdict(f, "configmaps", "ConfigMap", "other", "vm-3"), kGlobal) << "no policy: global filters decide";
  EXPECT_EQ(verdict(f, "persistentvolumes", "PersistentVolume", "", "pv"), kGlobal);
}

TEST(FineGrainedFilters, ExcludedNamesWinOverNamesAndKindsMatchEitherSpelling) {
  auto f = parse(R"({"namespacedFilterPolicies":[{"namespaces":["production"],"resourceFilters":[
      {"kinds":["configmaps","Secret"],"names":["app-*"],"excludedNames":["*-tmp-*","*-debug"]}]}]})");
  EXPECT_EQ(verdict(f, "configmaps", "ConfigMap", "production", "app-config"), kInclude);
  EXPECT_EQ(verdict(f, "secrets", "Secret", "production", "app-db-secret"), kInclude);
  EXPECT_EQ(verdict(f, "configmaps", "ConfigMap", "production", "app-tmp-config"), kExclude);
  EXPECT_EQ(verdict(f, "configmaps", "ConfigMap", "production", "app-debug"), kExclude);
  EXPECT_EQ(verdict(f, "secrets", "Secret", "production", "monitoring-tmp-secret"), kExclude);
}

TEST(FineGrainedFilters, OrLabelSelectorsAndSetBasedSelectors) {
  auto f = parse(R"({"namespacedFilterPolicies":[{"namespaces":["ns-a"],"resourceFilters":[
      {"kinds":["ConfigMap"],"orLabelSelectors":[{"matchLabels":{"app":"w1","component":"vm-group"}},{"matchLabels":{"app":"w2"}}]},
      {"kinds":["deployments.apps"],"labelSelector":{"matchLabels":{"app":"my-app"},
        "matchExpressions":[{"key":"environment","operator":"In","values":["prod","staging"]},
                            {"key":"do-not-backup","operator":"DoesNotExist"}]}}]}]})");
  EXPECT_EQ(verdict(f, "configmaps", "ConfigMap", "ns-a", "a", {{"app", "w1"}, {"component", "vm-group"}}), kInclude);
  EXPECT_EQ(verdict(f, "configmaps", "ConfigMap", "ns-a", "b", {{"app", "w1"}}), kExclude);
  EXPECT_EQ(verdict(f, "configmaps", "ConfigMap", "ns-a", "c", {{"app", "w2"}}), kInclude);
  EXPECT_EQ(verdict(f, "deployments.apps", "Deployment", "ns-a", "d", {{"app", "my-app"}, {"environment", "prod"}}),
            kInclude);
  EXPECT_EQ(verdict(f, "deployments.apps", "Deployment", "ns-a", "e",
                    {{"app", "my-app"}, {"environment", "prod"}, {"do-not-backup", "x"}}),
            kExclude);
  EXPECT_EQ(verdict(f, "deployments.apps", "Deployment", "ns-a", "f", {{"app", "my-app"}, {"environment", "dev"}}),
            kExclude);
}

TEST(FineGrainedFilters, KindSpecificEntriesOverrideTheCatchAll) {
  auto f = parse(R"({"namespacedFilterPolicies":[{"namespaces":["ns-a"],"resourceFilters":[
      {"kinds":["Deployment"],"names":["api-server","worker"]},
      {"kinds":["*"],"labelSelector":{"matchLabels":{"backup":"true"}}}]}]})");
  EXPECT_EQ(verdict(f, "deployments.apps", "Deployment", "ns-a", "worker"), kInclude);
  EXPECT_EQ(verdict(f, "deployments.apps", "Deployment", "ns-a", "other", {{"backup", "true"}}), kExclude);
  EXPECT_EQ(verdict(f, "services", "Service", "ns-a", "svc", {{"backup", "true"}}), kInclude);
  EXPECT_EQ(verdict(f, "configmaps", "ConfigMap", "ns-a", "cm"), kExclude);
}

TEST(FineGrainedFilters, ExactNamespaceFirstThenGlobsInTheOrderWritten) {
  auto f = parse(R"({"namespacedFilterPolicies":[
      {"namespaces":["team-frontend-*"],"resourceFilters":[{"kinds":["Deployment","Service","ConfigMap"]}]},
      {"namespaces":["team-*"],"resourceFilters":[{"kinds":["Deployment","Service"]}]},
      {"namespaces":["team-frontend-prod"],"resourceFilters":[{"kinds":["Secret"]}]}]})");
  EXPECT_EQ(verdict(f, "secrets", "Secret", "team-frontend-prod", "s"), kInclude);
  EXPECT_EQ(verdict(f, "configmaps", "ConfigMap", "team-frontend-prod", "c"), kExclude);
  EXPECT_EQ(verdict(f, "configmaps", "ConfigMap", "team-frontend-dev", "c"), kInclude);
  EXPECT_EQ(verdict(f, "configmaps", "ConfigMap", "team-backend-test", "c"), kExclude);
  EXPECT_EQ(verdict(f, "services", "Service", "team-backend-test", "s"), kInclude);
}

TEST(FineGrainedFilters, ClusterScopedPolicyRefinesListedKindsOnly) {
  auto f = parse(R"({"clusterScopedFilterPolicy":{"resourceFilters":[
      {"kinds":["StorageClass"],"names":["my-app-*"]},
      {"kinds":["ClusterRole"],"labelSelector":{"matchLabels":{"app":"my-app"}}}]}})");
  EXPECT_EQ(verdict(f, "storageclasses.storage.k8s.io", "StorageClass", "", "my-app-fast"), kInclude);
  EXPECT_EQ(verdict(f, "storageclasses.storage.k8s.io", "StorageClass", "", "standard"), kExclude);
  EXPECT_EQ(verdict(f, "clusterroles.rbac.authorization.k8s.io", "ClusterRole", "", "r", {{"app", "x"}}), kExclude);
  EXPECT_EQ(verdict(f, "persistentvolumes", "PersistentVolume", "", "pv"), kGlobal);
  EXPECT_EQ(verdict(f, "configmaps", "ConfigMap", "any", "c"), kGlobal) << "no namespaced policies";
}

TEST(FineGrainedFilters, InvalidPoliciesAreRefusedInVelerosWords) {
  auto error = [](const char* text) {
    try {
      parse(text);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(error(R"({"namespacedFilterPolicies":[{"namespaces":[],"resourceFilters":[{"kinds":["Pod"]}]}]})")
                .find("at least one namespace must be specified"),
            std::string::npos);
  EXPECT_NE(error(R"({"namespacedFilterPolicies":[{"namespaces":["a"],"resourceFilters":[]}]})")
                .find("at least one resourceFilter must be specified"),
            std::string::npos);
  EXPECT_NE(error(R"({"namespacedFilterPolicies":[{"namespaces":["a"],"resourceFilters":[{"kinds":["*"]},{"kinds":[]}]}]})")
                .find("only one catch-all resource filter is allowed"),
            std::string::npos);
  EXPECT_NE(error(R"({"namespacedFilterPolicies":[{"namespaces":["a"],"resourceFilters":[{"kinds":["*"],"names":["x"]}]}]})")
                .find("names or excludedNames cannot be specified for catch-all filters"),
            std::string::npos);
  EXPECT_NE(error(R"({"namespacedFilterPolicies":[{"namespaces":["a"],"resourceFilters":[{"kinds":["Pod"]},{"kinds":["pod"]}]}]})")
                .find("kind \"pod\" appears in both"),
            std::string::npos);
  EXPECT_NE(error(R"({"namespacedFilterPolicies":[{"namespaces":["a"],"resourceFilters":[{"kinds":["Pod"],
                "labelSelector":{"matchLabels":{"a":"b"}},"orLabelSelectors":[{"matchLabels":{"a":"c"}}]}]}]})")
                .find("labelSelector and orLabelSelectors cannot co-exist"),
            std::string::npos);
  EXPECT_NE(error(R"({"namespacedFilterPolicies":[{"namespaces":["a"],"resourceFilters":[{"kinds":["Pod"],
                "labelSelector":{"matchExpressions":[{"key":"a","operator":"Bogus"}]}}]}]})")
                .find("invalid label selector"),
            std::string::npos);
  EXPECT_NE(error(R"({"namespacedFilterPolicies":[{"namespaces":["a"],"resourceFilters":[{"kinds":["Pod"]}]},
                {"namespaces":["a"],"resourceFilters":[{"kinds":["Pod"]}]}]})")
                .find("duplicate namespace pattern"),
            std::string::npos);
  EXPECT_NE(error(R"({"namespacedFilterPolicies":[{"namespaces":["{a,b}"],"resourceFilters":[{"kinds":["Pod"]}]}]})")
                .find("invalid glob pattern"),
            std::string::npos);
  EXPECT_NE(error(R"({"clusterScopedFilterPolicy":{"resourceFilters":[{"kinds":["*"]}]}})")
                .find("catch-all is not supported"),
            std::string::npos);
  EXPECT_NE(error(R"({"namespacedFilterPolicies":[{"namespaces":["a"],"resourceFilters":[{"kind":["Pod"]}]}]})")
                .find("field kind not found"),
            std::string::npos);
}

}  // namespace
}  // namespace arca
