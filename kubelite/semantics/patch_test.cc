#include "kubelite/semantics/patch.h"

#include <gtest/gtest.h>

namespace kubelite {
namespace {

json j(const char* text) { return json::parse(text); }

template <typename F>
ApiError error_of(F&& f) {
  try {
    f();
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "no ApiError";
  return ApiError(0, "", "");
}

// ---- RFC 7386

TEST(MergePatch, Rfc7386Examples) {
  // The examples table of RFC 7386 §3 (a representative subset).
  EXPECT_EQ(apply_merge_patch(j(R"({"a":"b"})"), j(R"({"a":"c"})")), j(R"({"a":"c"})"));
  EXPECT_EQ(apply_merge_patch(j(R"({"a":"b"})"), j(R"({"b":"c"})")), j(R"({"a":"b","b":"c"})"));
  EXPECT_EQ(apply_merge_patch(j(R"({"a":"b","b":"c"})"), j(R"({"a":null})")), j(R"({"b":"c"})"));
  EXPECT_EQ(apply_merge_patch(j(R"({"a":["b"]})"), j(R"({"a":"c"})")), j(R"({"a":"c"})"));
  EXPECT_EQ(apply_merge_patch(j(R"({"a":{"b":"c"}})"), j(R"({"a":{"b":"d","c":null}})")), j(R"({"a":{"b":"d"}})"));
  EXPECT_EQ(apply_merge_patch(j(R"({"a":[{"b":"c"}]})"), j(R"({"a":[1]})")), j(R"({"a":[1]})"));
  EXPECT_EQ(apply_merge_patch(j(R"({"e":null})"), j(R"({"a":1})")), j(R"({"e":null,"a":1})"));
  EXPECT_EQ(apply_merge_patch(j(R"([1,2])"), j(R"({"a":"b","c":null})")), j(R"({"a":"b"})"));
  EXPECT_EQ(apply_merge_patch(j(R"({})"), j(R"({"a":{"bb":{"ccc":null}}})")), j(R"({"a":{"bb":{}}})"));
}

TEST(MergePatch, RemovesOneLabelAndKeepsTheOthers) {
  json cm = j(R"({"metadata":{"name":"x","labels":{"a":"1","b":"2"}},"data":{"k":"v"}})");
  json out = apply_merge_patch(cm, j(R"({"metadata":{"labels":{"a":null}}})"));
  EXPECT_EQ(out["metadata"]["labels"], j(R"({"b":"2"})"));
  EXPECT_EQ(out["data"], cm["data"]);
}

// ---- RFC 6902

TEST(JsonPatch, AllOperations) {
  json doc = j(R"({"a":{"b":[1,2,3]},"c":"x"})");
  json out = apply_json_patch(doc, j(R"([
    {"op":"add","path":"/a/b/1","value":9},
    {"op":"add","path":"/a/b/-","value":4},
    {"op":"remove","path":"/a/b/0"},
    {"op":"replace","path":"/c","value":"y"},
    {"op":"copy","from":"/c","path":"/d"},
    {"op":"move","from":"/d","path":"/e"},
    {"op":"test","path":"/e","value":"y"}])"));
  EXPECT_EQ(out, j(R"({"a":{"b":[9,2,3,4]},"c":"y","e":"y"})"));
  EXPECT_EQ(doc, j(R"({"a":{"b":[1,2,3]},"c":"x"})"));  // input untouched
}

TEST(JsonPatch, PointerEscapes) {
  json doc = j(R"({"metadata":{"annotations":{"a/b":"1","c~d":"2"}}})");
  json out = apply_json_patch(doc, j(R"([
    {"op":"replace","path":"/metadata/annotations/a~1b","value":"x"},
    {"op":"remove","path":"/metadata/annotations/c~0d"}])"));
  EXPECT_EQ(out["metadata"]["annotations"], j(R"({"a/b":"x"})"));
}

TEST(JsonPatch, ReplaceDataKeyAndWholeDocument) {
  EXPECT_EQ(apply_json_patch(j(R"({"data":{"k":"v"}})"), j(R"([{"op":"replace","path":"/data/k","value":"v2"}])")),
            j(R"({"data":{"k":"v2"}})"));
  EXPECT_EQ(apply_json_patch(j(R"({"a":1})"), j(R"([{"op":"add","path":"","value":{"b":2}}])")), j(R"({"b":2})"));
}

TEST(JsonPatch, OperationsThatDoNotApplyAre422Invalid) {
  const json doc = j(R"({"data":{"k":"v"},"l":[1]})");
  for (const char* patch : {R"([{"op":"replace","path":"/data/missing","value":"x"}])",
                            R"([{"op":"remove","path":"/nope"}])",
                            R"([{"op":"add","path":"/no/such/parent","value":1}])",
                            R"([{"op":"add","path":"/l/5","value":1}])",
                            R"([{"op":"remove","path":"/l/01"}])",
                            R"([{"op":"test","path":"/data/k","value":"other"}])",
                            R"([{"op":"move","from":"/x","path":"/y"}])",
                            R"([{"op":"copy","from":"/x","path":"/y"}])",
                            R"([{"op":"frobnicate","path":"/data"}])"}) {
    ApiError e = error_of([&] { apply_json_patch(doc, j(patch)); });
    EXPECT_EQ(e.code, 422) << patch;
    EXPECT_EQ(e.reason, "Invalid") << patch;
    EXPECT_STREQ(e.what(), "the server rejected our request due to an error in our request");
  }
}

TEST(JsonPatch, MalformedPatchesAre400) {
  for (const char* patch : {R"({"op":"add"})", R"([1])", R"([{"path":"/a"}])", R"([{"op":"add","path":"/a"}])"}) {
    ApiError e = error_of([&] { apply_json_patch(j("{}"), j(patch)); });
    EXPECT_EQ(e.code, 400) << patch;
    EXPECT_EQ(e.reason, "BadRequest") << patch;
  }
}

TEST(JsonPatch, FailedPatchChangesNothing) {
  const json doc = j(R"({"a":1})");
  EXPECT_THROW(apply_json_patch(doc, j(R"([{"op":"add","path":"/b","value":2},{"op":"remove","path":"/zz"}])")),
               ApiError);
  EXPECT_EQ(doc, j(R"({"a":1})"));
}

// ---- strategic merge patch

const char* kDeployment = R"({
  "apiVersion":"apps/v1","kind":"Deployment",
  "metadata":{"name":"web","labels":{"app":"web"},"finalizers":["a/b"]},
  "spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},
    "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":"25%"}},
    "template":{"metadata":{"labels":{"app":"web"}},"spec":{
      "containers":[{"name":"nginx","image":"nginx:1","ports":[{"containerPort":80}],
                     "env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],
                     "args":["x","y"]}],
      "volumes":[{"name":"data","emptyDir":{}}],
      "tolerations":[{"key":"k","operator":"Exists"}]}}}})";

json smp(const json& target, const char* patch, const std::string& group = "apps",
         const std::string& kind = "Deployment") {
  return apply_strategic_merge_patch(target, j(patch), group, kind);
}

TEST(StrategicMergePatch, ContainersMergeByName) {
  json out = smp(j(kDeployment), R"({"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox"}]}}}})");
  auto& containers = out["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(containers.size(), 2u);
  EXPECT_EQ(containers[0]["name"], "nginx");
  EXPECT_EQ(containers[0]["image"], "nginx:1");
  EXPECT_EQ(containers[1]["name"], "sidecar");

  out = smp(j(kDeployment), R"({"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:2"}]}}}})");
  EXPECT_EQ(out["spec"]["template"]["spec"]["containers"].size(), 1u);
  EXPECT_EQ(out["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:2");
  EXPECT_EQ(out["spec"]["template"]["spec"]["containers"][0]["ports"], j(R"([{"containerPort":80}])"));
}

TEST(StrategicMergePatch, NestedKeyedListsAndAtomicLists) {
  json out = smp(j(kDeployment), R"({"spec":{"template":{"spec":{"containers":[{"name":"nginx",
      "env":[{"name":"B","value":"3"},{"name":"C","value":"4"}],
      "ports":[{"containerPort":443}],
      "args":["z"]}],
      "tolerations":[{"key":"other","operator":"Exists"}]}}}})");
  auto& c = out["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(c["env"], j(R"([{"name":"A","value":"1"},{"name":"B","value":"3"},{"name":"C","value":"4"}])"));
  EXPECT_EQ(c["ports"], j(R"([{"containerPort":80},{"containerPort":443}])"));
  EXPECT_EQ(c["args"], j(R"(["z"])"));  // no patch strategy: replaced
  // PodSpec.tolerations has no patchStrategy in k8s.io/api: replaced, not merged.
  EXPECT_EQ(out["spec"]["template"]["spec"]["tolerations"], j(R"([{"key":"other","operator":"Exists"}])"));
}

TEST(StrategicMergePatch, DeleteDirectiveInListAndMap) {
  json out = smp(j(kDeployment), R"({"spec":{"template":{"spec":{"containers":[{"name":"nginx",
      "env":[{"name":"A","$patch":"delete"}]}]}},
      "strategy":{"rollingUpdate":{"$patch":"delete"}}}})");
  EXPECT_EQ(out["spec"]["template"]["spec"]["containers"][0]["env"], j(R"([{"name":"B","value":"2"}])"));
  EXPECT_FALSE(out["spec"]["strategy"].contains("rollingUpdate"));
  EXPECT_EQ(out["spec"]["strategy"]["type"], "RollingUpdate");
}

TEST(StrategicMergePatch, ReplaceDirectives) {
  json out = smp(j(kDeployment), R"({"spec":{"template":{"spec":{"containers":[
      {"name":"only","image":"x"},{"$patch":"replace"}]}}}})");
  EXPECT_EQ(out["spec"]["template"]["spec"]["containers"], j(R"([{"name":"only","image":"x"}])"));
  out = smp(j(kDeployment), R"({"metadata":{"labels":{"$patch":"replace","new":"1"}}})");
  EXPECT_EQ(out["metadata"]["labels"], j(R"({"new":"1"})"));
}

TEST(StrategicMergePatch, RetainKeysOnDeploymentStrategy) {
  json out = smp(j(kDeployment), R"({"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate","rollingUpdate":null}}})");
  EXPECT_EQ(out["spec"]["strategy"], j(R"({"type":"Recreate"})"));
  ApiError e = error_of([&] { smp(j(kDeployment), R"({"spec":{"strategy":{"$retainKeys":["type"],"other":1}}})"); });
  EXPECT_EQ(e.code, 422);
}

TEST(StrategicMergePatch, PrimitiveSetsAndDeleteFromPrimitiveList) {
  json out = smp(j(kDeployment), R"({"metadata":{"finalizers":["c/d","a/b"]}})");
  EXPECT_EQ(out["metadata"]["finalizers"], j(R"(["a/b","c/d"])"));
  out = smp(out, R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["a/b"]}})");
  EXPECT_EQ(out["metadata"]["finalizers"], j(R"(["c/d"])"));
}

TEST(StrategicMergePatch, SetElementOrder) {
  json pod = j(R"({"spec":{"containers":[{"name":"a","image":"1"},{"name":"b","image":"2"},{"name":"c","image":"3"}]}})");
  json out = smp(pod, R"({"spec":{"$setElementOrder/containers":[{"name":"c"},{"name":"a"}],
      "containers":[{"name":"c","image":"9"}]}})", "", "Pod");
  auto names = json::array();
  for (auto& c : out["spec"]["containers"]) names.push_back(c["name"]);
  // strategicpatch.mergeSortedSlice: server-only b is inserted before the first patch item that follows it in
  // the live list (c), so the patch's order c,a is kept and b lands in front.
  EXPECT_EQ(names, j(R"(["b","c","a"])"));
  EXPECT_EQ(out["spec"]["containers"][1]["image"], "9");
}

TEST(StrategicMergePatch, ServicePortsMergeByPortAndOwnerReferencesByUid) {
  json svc = j(R"({"metadata":{"ownerReferences":[{"uid":"1","name":"a"}]},"spec":{"ports":[{"port":80,"name":"http"}]}})");
  json out = smp(svc, R"({"metadata":{"ownerReferences":[{"uid":"2","name":"b"}]},"spec":{"ports":[{"port":443,"name":"https"},{"port":80,"targetPort":8080}]}})",
                 "", "Service");
  EXPECT_EQ(out["spec"]["ports"], j(R"([{"port":80,"name":"http","targetPort":8080},{"port":443,"name":"https"}])"));
  EXPECT_EQ(out["metadata"]["ownerReferences"].size(), 2u);
}

TEST(StrategicMergePatch, NullDeletesAndNewFieldsKeepNoDirectives) {
  json out = smp(j(kDeployment), R"({"spec":{"replicas":null,"paused":true},
      "metadata":{"annotations":{"$patch":"replace","x":"y"}}})");
  EXPECT_FALSE(out["spec"].contains("replicas"));
  EXPECT_EQ(out["spec"]["paused"], true);
  EXPECT_EQ(out["metadata"]["annotations"], j(R"({"x":"y"})"));
}

TEST(StrategicMergePatch, CronJobAndPodTemplatesReachThePodSpec) {
  json cj = j(R"({"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"a"}]}}}}}})");
  json out = smp(cj, R"({"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"b"}]}}}}}})", "batch", "CronJob");
  EXPECT_EQ(out["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"].size(), 2u);
}

TEST(StrategicMergePatch, ErrorsAndCustomResources) {
  ApiError e = error_of([&] { smp(j(kDeployment), R"({"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}})"); });
  EXPECT_EQ(e.code, 400);
  EXPECT_EQ(e.reason, "BadRequest");
  e = error_of([&] { smp(j("{}"), R"({"spec":{}})", "stable.example.com", "Shirt"); });
  EXPECT_EQ(e.code, 415);
  EXPECT_EQ(e.reason, "UnsupportedMediaType");
  EXPECT_TRUE(supports_strategic_merge("", "ConfigMap"));
  EXPECT_TRUE(supports_strategic_merge("networking.k8s.io", "Ingress"));
  EXPECT_FALSE(supports_strategic_merge("gateway.networking.k8s.io", "Gateway"));
  EXPECT_FALSE(supports_strategic_merge("stable.example.com", "Shirt"));
}

TEST(StrategicMergePatch, SelectorMapsMergeEvenThoughApplyTreatsThemAsAtomic) {
  json out = smp(j(kDeployment), R"({"spec":{"selector":{"matchLabels":{"tier":"front"}}}})");
  EXPECT_EQ(out["spec"]["selector"]["matchLabels"], j(R"({"app":"web","tier":"front"})"));
  json sa = smp(j(R"({"secrets":[{"name":"a"}]})"), R"({"secrets":[{"name":"b"}]})", "", "ServiceAccount");
  EXPECT_EQ(sa["secrets"], j(R"([{"name":"a"},{"name":"b"}])"));
}

TEST(StrategicMergePatch, OddDirectiveValuesAreBadRequests) {
  ApiError e = error_of([&] { smp(j(kDeployment), R"({"spec":{"template":{"spec":{"containers":[{"name":"nginx","$patch":5}]}}}})"); });
  EXPECT_EQ(e.code, 400);
  e = error_of([&] { smp(j(kDeployment), R"({"metadata":{"$setElementOrder/finalizers":"x"}})"); });
  EXPECT_EQ(e.code, 400);
}

TEST(StrategicMergePatch, ConfigMapDataMergesLikeAMap) {
  json out = smp(j(R"({"data":{"a":"1","b":"2"}})"), R"({"data":{"b":null,"c":"3"}})", "", "ConfigMap");
  EXPECT_EQ(out["data"], j(R"({"a":"1","c":"3"})"));
}

}  // namespace
}  // namespace kubelite
