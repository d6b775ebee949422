// Pure parts of the restore: priorities, the metadata reset, item actions, modifiers, results and the dry-run diff,
// with Velero's documented examples where they apply.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "kube/discovery.h"
#include "restore/diff.h"
#include "restore/engine.h"
#include "restore/hooks.h"
#include "restore/item_actions.h"
#include "restore/modifiers.h"
#include "restore/priorities.h"
#include "restore/results.h"

namespace arca::restore {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;

TEST(Priorities, BackupResourcesSortBetweenHighAndLow) {
  auto order = order_resources(default_priorities(),
                               {"pods", "configmaps", "foo.example.com", "aaa.x", "services", "clusters.cluster.x-k8s.io",
                                "apps.kappctrl.k14s.io", "namespaces"},
                               nullptr);
  EXPECT_THAT(order, ElementsAre("namespaces", "configmaps", "pods", "services", "aaa.x", "foo.example.com",
                                 "clusters.cluster.x-k8s.io", "apps.kappctrl.k14s.io"));
}

TEST(Priorities, FlagReplacesOnlyTheSidesGiven) {
  auto defaults = default_priorities();
  auto high_only = parse_priorities("a,b");
  EXPECT_THAT(high_only.high, ElementsAre("a", "b"));
  EXPECT_EQ(high_only.low, defaults.low);
  auto low_only = parse_priorities("-,x");
  EXPECT_EQ(low_only.high, defaults.high);
  EXPECT_THAT(low_only.low, ElementsAre("x"));
  auto trailing = parse_priorities("a,-");
  EXPECT_THAT(trailing.high, ElementsAre("a"));
  EXPECT_EQ(trailing.low, defaults.low);
  EXPECT_EQ(parse_priorities("-").high, defaults.high);
  EXPECT_THROW(parse_priorities("a,-,b,-"), InvalidPriorities);
}

TEST(Priorities, EntriesResolveThroughDiscovery) {
  kube::DiscoveryData data;
  kube::ApiResource deployments;
  deployments.group = "apps";
  deployments.version = "v1";
  deployments.resource = "deployments";
  deployments.kind = "Deployment";
  deployments.short_names = {"deploy"};
  data.groups.push_back({"apps", {"v1"}});
  data.resources.push_back(deployments);
  auto order = order_resources(parse_priorities("deploy,-"), {"configmaps", "deployments.apps"}, &data);
  EXPECT_THAT(order, ElementsAre("deployments.apps", "configmaps"));
}

TEST(ItemActions, MetadataResetKeepsNameFinalizersAndAddsLabels) {
  json item = json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"n","uid":"u",
    "resourceVersion":"1","ownerReferences":[{"name":"o"}],"finalizers":["f"],"creationTimestamp":"t",
    "generateName":"g","selfLink":"s","generation":3},"status":{"x":1},"data":{"a":"b"}})");
  reset_metadata_and_status(item);
  add_restore_labels(item, "b1", "r1");
  EXPECT_EQ(item["metadata"], json::parse(R"({"name":"n","finalizers":["f"],
    "labels":{"velero.io/backup-name":"b1","velero.io/restore-name":"r1"}})"));
  EXPECT_FALSE(item.contains("status"));
  json no_metadata = {{"kind", "X"}};
  EXPECT_THROW(reset_metadata_and_status(no_metadata), std::invalid_argument);
}

TEST(ItemActions, LongRestoreNamesAreShortenedInLabels) {
  json item = {{"metadata", {{"name", "x"}}}};
  std::string name(70, 'r');
  add_restore_labels(item, "b", name);
  std::string value = item["metadata"]["labels"]["velero.io/restore-name"];
  EXPECT_EQ(value.size(), 63u);
  EXPECT_EQ(value.substr(0, 57), name.substr(0, 57));
}

TEST(ItemActions, CompletedPodsAndJobsAreNotRestored) {
  EXPECT_TRUE(is_completed("pods", json::parse(R"({"status":{"phase":"Succeeded"}})")));
  EXPECT_TRUE(is_completed("pods", json::parse(R"({"status":{"phase":"Failed"}})")));
  EXPECT_FALSE(is_completed("pods", json::parse(R"({"status":{"phase":"Running"}})")));
  EXPECT_TRUE(is_completed("jobs.batch", json::parse(R"({"status":{"completionTime":"2024-01-01T00:00:00Z"}})")));
  EXPECT_FALSE(is_completed("jobs.batch", json::parse(R"({"status":{}})")));
}

api::RestoreSpec spec_with_mapping() {
  api::RestoreSpec spec;
  spec.namespace_mapping = {{"a", "b"}};
  return spec;
}

TEST(ItemActions, ServiceLosesClusterIpAndAllocatedNodePorts) {
  api::RestoreSpec spec;
  ActionContext context;
  context.spec = &spec;
  json service = json::parse(R"({"metadata":{"name":"s"},"spec":{"type":"NodePort","clusterIP":"10.0.0.1",
    "clusterIPs":["10.0.0.1"],"ports":[{"port":80,"protocol":"TCP","nodePort":30080}]}})");
  json kept = service;
  run_item_actions("services", service, "ns", context);
  EXPECT_FALSE(service["spec"].contains("clusterIP"));
  EXPECT_FALSE(service["spec"].contains("clusterIPs"));
  EXPECT_FALSE(service["spec"]["ports"][0].contains("nodePort"));

  spec.preserve_node_ports = true;
  run_item_actions("services", kept, "ns", context);
  EXPECT_EQ(kept["spec"]["ports"][0]["nodePort"], 30080);

  spec.preserve_node_ports.reset();
  json applied = json::parse(R"({"metadata":{"name":"s","annotations":{"kubectl.kubernetes.io/last-applied-configuration":
    "{\"spec\":{\"ports\":[{\"port\":80,\"nodePort\":30080}]}}"}},"spec":{"type":"NodePort","clusterIP":"None",
    "ports":[{"port":80,"nodePort":30080}]}})");
  run_item_actions("services", applied, "ns", context);
  EXPECT_EQ(applied["spec"]["ports"][0]["nodePort"], 30080);
  EXPECT_EQ(applied["spec"]["clusterIP"], "None");
}

// A LoadBalancer applied with kubectl (client-side): its allocated nodePort shows in the applier's managedFields,
// but the last-applied configuration, which names no nodePort, decides (Velero's service_action.go), so
// --preserve-nodeports=false drops it.
TEST(ItemActions, LoadBalancerNodePortDroppedWhenLastAppliedHasNone) {
  api::RestoreSpec spec;
  spec.preserve_node_ports = false;
  ActionContext context;
  context.spec = &spec;
  json service = json::parse(R"({"metadata":{"name":"lb","annotations":{"kubectl.kubernetes.io/last-applied-configuration":
    "{\"spec\":{\"type\":\"LoadBalancer\",\"ports\":[{\"name\":\"http\",\"port\":80}]}}"},
    "managedFields":[{"manager":"kubectl-client-side-apply","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:ports":{
      "k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:name":{},"f:nodePort":{},"f:port":{}}}}}}]},
    "spec":{"type":"LoadBalancer","clusterIP":"10.0.0.9","ports":[{"name":"http","port":80,"protocol":"TCP","nodePort":31234}]}})");
  json unnamed = service;
  run_item_actions("services", service, "ns", context);
  EXPECT_FALSE(service["spec"]["ports"][0].contains("nodePort")) << service.dump();
  // The same port named in the annotation with its nodePort is kept; an unnamed one is matched by value.
  unnamed["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] =
      R"({"spec":{"ports":[{"port":80,"nodePort":31234}]}})";
  unnamed["spec"]["ports"][0].erase("name");
  run_item_actions("services", unnamed, "ns", context);
  EXPECT_EQ(unnamed["spec"]["ports"][0]["nodePort"], 31234);
}

TEST(ItemActions, PodsJobsServiceAccountsRoleBindings) {
  api::RestoreSpec spec = spec_with_mapping();
  ActionContext context;
  context.spec = &spec;
  json pod = json::parse(R"({"metadata":{"name":"p"},"spec":{"nodeName":"n1","priority":5,"serviceAccountName":"sa",
    "volumes":[{"name":"sa-token-abc"},{"name":"data"}],
    "containers":[{"name":"c","volumeMounts":[{"name":"sa-token-abc"},{"name":"data"}]}]}})");
  run_item_actions("pods", pod, "b", context);
  EXPECT_FALSE(pod["spec"].contains("nodeName"));
  EXPECT_FALSE(pod["spec"].contains("priority"));
  EXPECT_EQ(pod["spec"]["volumes"], json::parse(R"([{"name":"data"}])"));
  EXPECT_EQ(pod["spec"]["containers"][0]["volumeMounts"], json::parse(R"([{"name":"data"}])"));

  json job = json::parse(R"({"metadata":{"name":"j"},"spec":{"selector":{"matchLabels":{"controller-uid":"x","a":"b"}},
    "template":{"metadata":{"labels":{"batch.kubernetes.io/controller-uid":"x","controller-uid":"x","a":"b"}}}}})");
  run_item_actions("jobs.batch", job, "b", context);
  EXPECT_EQ(job["spec"]["selector"]["matchLabels"], json::parse(R"({"a":"b"})"));
  EXPECT_EQ(job["spec"]["template"]["metadata"]["labels"], json::parse(R"({"a":"b"})"));
  json generated = json::parse(R"({"metadata":{"name":"j"},"spec":{"selector":{"matchLabels":{"controller-uid":"x"}}}})");
  run_item_actions("jobs.batch", generated, "b", context);
  EXPECT_FALSE(generated["spec"].contains("selector"));  // the server generates a new one

  json sa = json::parse(R"({"metadata":{"name":"sa"},"secrets":[{"name":"sa-token-1"},{"name":"other"},{"name":"sa-token-2"}]})");
  run_item_actions("serviceaccounts", sa, "b", context);
  EXPECT_EQ(sa["secrets"], json::parse(R"([{"name":"sa-token-1"},{"name":"other"}])"));

  json binding = json::parse(R"({"metadata":{"name":"rb"},"subjects":[{"kind":"ServiceAccount","name":"x","namespace":"a"},
    {"kind":"ServiceAccount","name":"y","namespace":"c"}]})");
  run_item_actions("rolebindings.rbac.authorization.k8s.io", binding, "b", context);
  EXPECT_EQ(binding["subjects"][0]["namespace"], "b");
  EXPECT_EQ(binding["subjects"][1]["namespace"], "c");
}

TEST(ItemActions, TokenSecretsOfExistingServiceAccountsAreSkipped) {
  api::RestoreSpec spec;
  ActionContext context;
  context.spec = &spec;
  context.service_accounts = [](const std::string&) { return std::vector<std::string>{"builder"}; };
  json token = json::parse(R"({"type":"kubernetes.io/service-account-token","metadata":{"name":"builder-token-x"},
    "data":{"token":"dA==","ca.crt":"Yw==","namespace":"bg=="}})");
  EXPECT_TRUE(run_item_actions("secrets", token, "ns", context).skip);
  json orphan = json::parse(R"({"type":"kubernetes.io/service-account-token","metadata":{"name":"gone-token-x",
    "annotations":{"kubernetes.io/service-account.uid":"u"}},"data":{"token":"dA==","ca.crt":"Yw==","namespace":"bg=="}})");
  EXPECT_FALSE(run_item_actions("secrets", orphan, "ns", context).skip);
  EXPECT_EQ(orphan["data"], json::parse(R"({"namespace":"bg=="})"));
  EXPECT_TRUE(orphan["metadata"]["annotations"].empty());
}

TEST(ItemActions, ChangeStorageClassNeedsTheNewClass) {
  api::RestoreSpec spec;
  ActionContext context;
  context.spec = &spec;
  context.storage_class_mapping = {{"old", "new"}, {"gone", "missing"}};
  context.storage_class_error = [](const std::string& name) -> std::string {
    if (name == "new") return "";
    if (name == "missing") return "storageclasses.storage.k8s.io \"missing\" not found";
    return "the server is currently unable to handle the request (get storageclasses.storage.k8s.io " + name + ")";
  };
  json pvc = json::parse(R"({"metadata":{"name":"c","annotations":{"pv.kubernetes.io/bind-completed":"yes","keep":"1"}},
    "spec":{"storageClassName":"old"}})");
  EXPECT_TRUE(run_item_actions("persistentvolumeclaims", pvc, "ns", context).error.empty());
  EXPECT_EQ(pvc["spec"]["storageClassName"], "new");
  EXPECT_EQ(pvc["metadata"]["annotations"], json::parse(R"({"keep":"1"})"));
  json sts = json::parse(R"({"metadata":{"name":"s"},"spec":{"volumeClaimTemplates":[{"spec":{"storageClassName":"gone"}}]}})");
  EXPECT_EQ(run_item_actions("statefulsets.apps", sts, "ns", context).error,
            "error getting storage class missing from API: storageclasses.storage.k8s.io \"missing\" not found");
  // An API failure other than NotFound is reported as what it was, not as "not found".
  context.storage_class_mapping = {{"old", "flaky"}};
  json claim = json::parse(R"({"metadata":{"name":"c"},"spec":{"storageClassName":"old"}})");
  auto error = run_item_actions("persistentvolumeclaims", claim, "ns", context).error;
  EXPECT_THAT(error, ::testing::HasSubstr("unable to handle the request"));
  EXPECT_THAT(error, ::testing::Not(::testing::HasSubstr("not found")));
  EXPECT_EQ(claim["spec"]["storageClassName"], "old");
}

TEST(ItemActions, LiveObjectsCompareAfterNormalisation) {
  json desired = json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"n",
    "labels":{"velero.io/backup-name":"b","velero.io/restore-name":"r"}},"data":{"a":"1"}})");
  json live = json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"n","uid":"u",
    "resourceVersion":"7","creationTimestamp":"2024-01-01T00:00:00Z"},"data":{"a":"1"}})");
  EXPECT_EQ(normalized_live(live, desired), desired);
  live["data"]["a"] = "2";
  EXPECT_NE(normalized_live(live, desired), desired);
  EXPECT_EQ(merge_patch_between(json::parse(R"({"a":1,"b":{"c":1,"d":2}})"), json::parse(R"({"b":{"c":1,"d":3},"e":[1]})")),
            json::parse(R"({"a":null,"b":{"d":3},"e":[1]})"));
}

TEST(Modifiers, JsonPatchValuesAreTypedAsVeleroDoes) {
  EXPECT_EQ(json_patch_value("\"true\""), json("true"));
  EXPECT_EQ(json_patch_value("true"), json(true));
  EXPECT_EQ(json_patch_value("TRUE"), json(true));
  EXPECT_EQ(json_patch_value("42"), json(42));
  EXPECT_EQ(json_patch_value("abc"), json("abc"));
  EXPECT_EQ(json_patch_value(""), json(""));
  EXPECT_EQ(json_patch_value("null"), json(nullptr));
  EXPECT_EQ(json_patch_value("{\"a\":1}"), json::parse(R"({"a":1})"));
}

TEST(Modifiers, GroupResourceGlobsStayInsideSegments) {
  EXPECT_FALSE(group_resource_matches("*", "deployments.apps"));
  EXPECT_TRUE(group_resource_matches("*", "pods"));
  EXPECT_TRUE(group_resource_matches("*.*", "deployments.apps"));
  EXPECT_TRUE(group_resource_matches("*.apps", "deployments.apps"));
  EXPECT_FALSE(group_resource_matches("*.apps", "jobs.batch"));
  EXPECT_TRUE(group_resource_matches("deployments.apps", "deployments.apps"));
}

constexpr const char* kRules = R"(version: v1
resourceModifierRules:
- conditions:
    groupResource: deployments.apps
    resourceNameRegex: "^web-.*$"
    namespaces: [shop]
    matches:
    - path: /spec/replicas
      value: "3"
  patches:
  - operation: replace
    path: /spec/replicas
    value: "1"
- conditions:
    groupResource: deployments.apps
    labelSelector: {matchLabels: {tier: front}}
  mergePatches:
  - patchData: |
      metadata:
        annotations:
          patched: "yes"
- conditions:
    groupResource: deployments.apps
  strategicPatches:
  - patchData: |
      {"spec":{"template":{"spec":{"containers":[{"name":"app","image":"app:2"}]}}}}
)";

TEST(Modifiers, RulesApplyInOrderAndMatchTheOriginal) {
  auto modifiers = parse_modifiers(kRules);
  ASSERT_EQ(modifiers.rules.size(), 3u);
  json deployment = json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web-1",
    "labels":{"tier":"front"}},"spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"app","image":"app:1"},
    {"name":"side","image":"side:1"}]}}}})");
  json item = deployment;
  EXPECT_TRUE(apply_modifiers(modifiers, "deployments.apps", deployment, "shop", item).empty());
  EXPECT_EQ(item["spec"]["replicas"], 1);
  EXPECT_EQ(item["metadata"]["annotations"]["patched"], "yes");
  EXPECT_EQ(item["spec"]["template"]["spec"]["containers"][0]["image"], "app:2");
  EXPECT_EQ(item["spec"]["template"]["spec"]["containers"][1]["image"], "side:1");

  json elsewhere = deployment;
  apply_modifiers(modifiers, "deployments.apps", deployment, "other", elsewhere);
  EXPECT_EQ(elsewhere["spec"]["replicas"], 3);  // namespace condition
  json two = deployment;
  two["spec"]["replicas"] = 2;
  json item_two = two;
  apply_modifiers(modifiers, "deployments.apps", two, "shop", item_two);
  EXPECT_EQ(item_two["spec"]["replicas"], 2);  // matches condition failed
}

TEST(Modifiers, InvalidConfigurationsAreRejectedWithOneLine) {
  EXPECT_THROW(parse_modifiers("version: v2\nresourceModifierRules: [{conditions: {groupResource: pods}, "
                               "patches: [{operation: remove, path: /a}]}]"),
               InvalidModifiers);
  EXPECT_THROW(parse_modifiers("version: v1\nresourceModifierRules: []"), InvalidModifiers);
  EXPECT_THROW(parse_modifiers("version: v1\nresourceModifierRules: [{conditions: {groupResource: pods}}]"),
               InvalidModifiers);
  EXPECT_THROW(parse_modifiers("version: v1\nresourceModifierRules: [{conditions: {groupResource: pods}, "
                               "patches: [{operation: explode, path: /a}]}]"),
               InvalidModifiers);
  EXPECT_THROW(parse_modifiers("version: v1\nresourceModifierRules: [{conditions: {groupResource: pods, bogus: 1}, "
                               "patches: [{operation: remove, path: /a}]}]"),
               InvalidModifiers);
  EXPECT_THROW(parse_modifiers("version: v1\nresourceModifierRules: [{conditions: {groupResource: pods}, "
                               "patches: [{operation: remove, path: /a}], mergePatches: [{patchData: '{}'}]}]"),
               InvalidModifiers);
  json two_keys = {{"metadata", {{"name", "m"}}}, {"data", {{"a", "x"}, {"b", "y"}}}};
  try {
    parse_modifiers_configmap(two_keys);
    FAIL();
  } catch (const InvalidModifiers& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("exactly one data key"));
  }
}

TEST(Modifiers, FailedTestOperationLeavesTheObjectUnchanged) {
  auto modifiers = parse_modifiers(R"(version: v1
resourceModifierRules:
- conditions: {groupResource: configmaps}
  patches:
  - {operation: test, path: /data/a, value: "2"}
  - {operation: replace, path: /data/a, value: "3"}
)");
  json cm = json::parse(R"({"metadata":{"name":"c"},"data":{"a":"1"}})");
  json item = cm;
  EXPECT_TRUE(apply_modifiers(modifiers, "configmaps", cm, "ns", item).empty());
  EXPECT_EQ(item, cm);
}

TEST(Results, GroupedAndEncodedAsGoDoes) {
  Result errors, warnings;
  errors.add("x", "boom");
  EXPECT_EQ(results_json(errors, warnings), "{\"errors\":{\"namespaces\":{\"x\":[\"boom\"]}},\"warnings\":{}}\n");
  EXPECT_EQ(errors.count(), 1u);
  ResourceList list;
  list.record("v1/ConfigMap", "ns", "b", ItemAction::created);
  list.record("v1/ConfigMap", "ns", "a", ItemAction::skipped);
  list.record("v1/Namespace", "", "ns", ItemAction::created);
  EXPECT_EQ(list.json(), R"j({"v1/ConfigMap":["ns/a(skipped)","ns/b(created)"],"v1/Namespace":["ns(created)"]})j");
  EXPECT_EQ(ResourceList().json(), "{}");
}

TEST(Diff, UnifiedHunksWithContext) {
  json live = json::parse(R"({"data":{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6","g":"7","h":"8"}})");
  json desired = live;
  desired["data"]["b"] = "two";
  desired["data"]["h"] = "eight";
  std::string diff = unified_json_diff(live, desired);
  EXPECT_EQ(diff,
            "--- in cluster\n+++ from backup\n"
            "@@ -1,12 +1,12 @@\n"
            " {\n   \"data\": {\n     \"a\": \"1\",\n-    \"b\": \"2\",\n+    \"b\": \"two\",\n"
            "     \"c\": \"3\",\n     \"d\": \"4\",\n     \"e\": \"5\",\n     \"f\": \"6\",\n     \"g\": \"7\",\n"
            "-    \"h\": \"8\"\n+    \"h\": \"eight\"\n   }\n }\n");
  EXPECT_EQ(unified_json_diff(live, live), "");
}

// A dry run's diff never shows Secret values, live or backed up (kubectl diff masks them the same way).
TEST(Diff, SecretValuesAreMaskedOnBothSides) {
  json live = json::parse(R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},
    "data":{"password":"VE9QU0VDUkVULUNIQU5HRUQ=","user":"YWRtaW4=","extra":"bGl2ZQ=="}})");
  json desired = json::parse(R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},
    "data":{"password":"VE9QU0VDUkVULXB3","user":"YWRtaW4="},"stringData":{"apikey":"TOPSECRET-apikey"}})");
  std::string diff = unified_json_diff(live, desired);
  for (const char* secret : {"VE9QU0VDUkVU", "YWRtaW4", "bGl2ZQ", "TOPSECRET"})
    EXPECT_EQ(diff.find(secret), std::string::npos) << secret << " in\n" << diff;
  EXPECT_NE(diff.find("-    \"password\": \"*** (before)\""), std::string::npos) << diff;
  EXPECT_NE(diff.find("+    \"password\": \"*** (after)\""), std::string::npos) << diff;
  EXPECT_NE(diff.find("-    \"extra\": \"***\""), std::string::npos) << diff;  // which keys differ stays visible
  EXPECT_NE(diff.find("+    \"apikey\": \"***\""), std::string::npos) << diff;
  EXPECT_NE(diff.find("     \"user\": \"***\""), std::string::npos) << diff;  // equal values: unchanged line
  // Other kinds keep their values: a ConfigMap's data is not secret.
  json cm = live;
  cm["kind"] = "ConfigMap";
  json cm2 = desired;
  cm2["kind"] = "ConfigMap";
  EXPECT_NE(unified_json_diff(cm, cm2).find("VE9QU0VDUkVULXB3"), std::string::npos);
}

// The drills' F8c: an unmodified Service was reported as different over the clusterIP the cluster allocated.
TEST(ExistingObjects, AServiceDiffersNotByWhatTheClusterAllocated) {
  json backed_up = json::parse(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"redis","namespace":"nd"},
    "spec":{"type":"NodePort","clusterIP":"10.96.0.2","clusterIPs":["10.96.0.2"],"selector":{"app":"redis"},
            "ports":[{"port":6379,"protocol":"TCP","nodePort":30123}]}})");
  json desired = backed_up;  // as the service action leaves it
  desired["spec"].erase("clusterIP");
  desired["spec"].erase("clusterIPs");
  desired["spec"]["ports"][0].erase("nodePort");
  json live = backed_up;
  live["spec"]["clusterIP"] = "10.96.0.7";  // allocated again by the target cluster
  live["spec"]["clusterIPs"] = {"10.96.0.7"};
  live["spec"]["ports"][0]["nodePort"] = 31000;
  EXPECT_EQ(normalized_live(live, desired), desired);
  live["spec"]["selector"]["app"] = "other";  // a real difference still shows
  EXPECT_NE(normalized_live(live, desired), desired);
}

// The drills' F6: spools of killed restores filled the server's TMPDIR. A starting server removes those of
// processes that are gone, and leaves another live server's alone.
TEST(Spool, AbandonedSpoolsOfGoneProcessesAreRemoved) {
  std::string dir = std::filesystem::temp_directory_path().string() + "/arca-spool-test-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  std::string abandoned = dir + "/" + std::string(kSpoolPrefix) + std::to_string(dead) + "-abc123";
  std::string live = dir + "/" + std::string(kSpoolPrefix) + std::to_string(::getpid()) + "-def456";
  std::string other = dir + "/unrelated-1-x";
  for (const auto& d : {abandoned, live, other}) std::filesystem::create_directories(d + "/sub");
  std::ofstream(abandoned + "/0") << "spooled items";
  EXPECT_EQ(remove_abandoned_spools(dir), 1);
  EXPECT_FALSE(std::filesystem::exists(abandoned));
  EXPECT_TRUE(std::filesystem::exists(live));
  EXPECT_TRUE(std::filesystem::exists(other));
  std::filesystem::remove_all(dir);
}

TEST(Hooks, CommandsParseAsVeleroDoes) {
  EXPECT_EQ(parse_hook_command(R"(["a","b","c"])"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(parse_hook_command("/bin/x a b"), (std::vector<std::string>{"/bin/x a b"}));
  EXPECT_EQ(parse_hook_command("[foobarbaz"), (std::vector<std::string>{"[foobarbaz"}));
}

TEST(Hooks, InitContainersFollowRestoreWaitAndPrecedeThePodsOwn) {
  json pod = json::parse(R"({"metadata":{"name":"p","labels":{"app":"db"}},
    "spec":{"initContainers":[{"name":"restore-wait","image":"velero"},{"name":"own","image":"busybox"}],
            "containers":[{"name":"db","image":"postgres"}]}})");
  api::RestoreHooks hooks;
  api::RestoreResourceHookSpec spec;
  spec.name = "h";
  spec.included_namespaces = {"prod-*"};
  api::RestoreResourceHook hook;
  hook.init = api::InitRestoreHook{{json::parse(R"({"name":"migrate","image":"flyway","command":["migrate"]})")}, {}, {}};
  spec.post_hooks = {hook};
  hooks.resources = {spec};

  json elsewhere = pod;
  EXPECT_EQ(apply_init_hooks(elsewhere, "dev", hooks), "");
  EXPECT_EQ(elsewhere, pod);  // the namespace selector does not match: unchanged

  EXPECT_EQ(apply_init_hooks(pod, "prod-eu", hooks), "");
  std::vector<std::string> names;
  for (const auto& c : pod["spec"]["initContainers"]) names.push_back(c["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"restore-wait", "migrate", "own"}));

  // An annotation hook without a name gets Velero's generated one and no command (the image's entrypoint).
  json annotated = json::parse(R"({"metadata":{"name":"q","annotations":{
    "init.hook.restore.velero.io/container-image":"busybox"}},"spec":{"containers":[{"name":"c","image":"i"}]}})");
  EXPECT_EQ(apply_init_hooks(annotated, "prod-eu", hooks), "");
  ASSERT_EQ(annotated["spec"]["initContainers"].size(), 1u);  // the spec hook is ignored for this pod
  EXPECT_THAT(annotated["spec"]["initContainers"][0]["name"].get<std::string>(),
              ::testing::MatchesRegex("velero-restore-init-[0-9a-f]{8}"));
  EXPECT_FALSE(annotated["spec"]["initContainers"][0].contains("command"));
}

TEST(Hooks, InvalidInitContainersAreValidationErrors) {  // Velero's restore_controller.go validateAndComplete step 6
  api::RestoreHooks hooks;
  api::RestoreResourceHookSpec spec;
  spec.name = "broken";
  api::RestoreResourceHook hook;
  hook.init = api::InitRestoreHook{{json::parse(R"({"name":"a","image":"i","command":["c"]})"),
                                    json::parse(R"({"name":"b","image":"i"})")},
                                   {}, {}};
  spec.post_hooks = {hook};
  hooks.resources = {spec};
  EXPECT_THAT(validate_restore_hooks(hooks),
              ElementsAre("invalid InitContainer in restore hook broken, it doesn't have Command, Name or Image field"));
  hooks.resources[0].post_hooks[0].init->init_containers.pop_back();
  EXPECT_TRUE(validate_restore_hooks(hooks).empty());
}

TEST(Hooks, ExecHooksFromAnnotationsWinOverTheSpec) {
  api::RestoreHooks hooks;
  api::RestoreResourceHookSpec spec;
  spec.name = "flush";
  spec.label_selector = parse_label_selector("app=db");
  api::RestoreResourceHook hook;
  hook.exec = api::ExecRestoreHook{"", {"/bin/flush"}, api::HookErrorMode::Continue, std::chrono::seconds(7),
                                   std::chrono::minutes(2), true, {}};
  spec.post_hooks = {hook};
  hooks.resources = {spec};
  json pod = json::parse(R"({"metadata":{"name":"p","labels":{"app":"db"}},
    "spec":{"containers":[{"name":"db","image":"postgres"},{"name":"side","image":"envoy"}]}})");
  auto from_spec = exec_hooks_for(pod, "ns", hooks);
  ASSERT_EQ(from_spec.size(), 1u);
  EXPECT_EQ(from_spec[0].hook, "flush");
  EXPECT_EQ(from_spec[0].container, "db");  // none named: the first container
  EXPECT_EQ(from_spec[0].on_error, api::HookErrorMode::Continue);
  EXPECT_EQ(from_spec[0].source, "spec");
  EXPECT_EQ(from_spec[0].exec_timeout, std::chrono::seconds(7));
  EXPECT_EQ(from_spec[0].wait_timeout, std::chrono::minutes(2));
  EXPECT_TRUE(from_spec[0].wait_for_ready);

  pod["metadata"]["annotations"] = {{"post.hook.restore.velero.io/command", "reload now"},
                                    {"post.hook.restore.velero.io/container", "side"},
                                    {"post.hook.restore.velero.io/on-error", "Sometimes"},
                                    {"post.hook.restore.velero.io/exec-timeout", "45s"},
                                    {"post.hook.restore.velero.io/wait-timeout", "later"},
                                    {"post.hook.restore.velero.io/wait-for-ready", "True"}};
  auto from_annotation = exec_hooks_for(pod, "ns", hooks);
  ASSERT_EQ(from_annotation.size(), 1u);
  EXPECT_EQ(from_annotation[0].source, "annotation");
  EXPECT_EQ(from_annotation[0].exec_timeout, std::chrono::seconds(45));
  EXPECT_EQ(from_annotation[0].wait_timeout.count(), 0);  // does not parse: ignored, with a warning
  ASSERT_EQ(from_annotation[0].warnings.size(), 1u);
  EXPECT_THAT(from_annotation[0].warnings[0], ::testing::HasSubstr("Unable to parse wait timeout later"));
  EXPECT_TRUE(from_annotation[0].wait_for_ready);
  EXPECT_EQ(from_annotation[0].hook, "<from-annotation>");
  EXPECT_EQ(from_annotation[0].container, "side");
  EXPECT_EQ(from_annotation[0].command, (std::vector<std::string>{"reload now"}));
  EXPECT_EQ(from_annotation[0].on_error, api::HookErrorMode::unset);  // neither Continue nor Fail

  pod["metadata"]["labels"]["app"] = "web";
  pod["metadata"].erase("annotations");
  EXPECT_TRUE(exec_hooks_for(pod, "ns", hooks).empty());
}

}  // namespace
}  // namespace arca::restore
