#include <gtest/gtest.h>

#include "kubelite/semantics/patch.h"

namespace kubelite {
namespace {

json j(const char* text) { return json::parse(text); }
const char* kT0 = "2026-01-01T00:00:00Z";
const char* kT1 = "2026-01-01T00:00:01Z";

const char* kAppliedDeployment = R"({
  "apiVersion":"apps/v1","kind":"Deployment",
  "metadata":{"name":"web","namespace":"t","labels":{"app":"web"}},
  "spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
    "template":{"metadata":{"labels":{"app":"web"}},
      "spec":{"containers":[{"name":"nginx","image":"nginx:1","ports":[{"containerPort":80}]}]}}}})";

const json& entry(const json& obj, size_t i) { return obj["metadata"]["managedFields"].at(i); }

TEST(ServerSideApply, CreateRecordsApplyEntryInFieldsV1) {
  json out = server_side_apply(nullptr, j(kAppliedDeployment), "kubectl", false, "apps/v1", kT0);
  EXPECT_EQ(out["spec"]["replicas"], 2);
  ASSERT_EQ(out["metadata"]["managedFields"].size(), 1u);
  const json& e = entry(out, 0);
  EXPECT_EQ(e["manager"], "kubectl");
  EXPECT_EQ(e["operation"], "Apply");
  EXPECT_EQ(e["apiVersion"], "apps/v1");
  EXPECT_EQ(e["time"], kT0);
  EXPECT_EQ(e["fieldsType"], "FieldsV1");
  EXPECT_EQ(e["fieldsV1"], j(R"({
    "f:metadata":{"f:labels":{"f:app":{}}},
    "f:spec":{"f:replicas":{},"f:selector":{},
      "f:template":{"f:metadata":{"f:labels":{"f:app":{}}},
        "f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{},
          "f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}})"));
}

TEST(ServerSideApply, MissingFieldManagerIs422PatchOptions) {
  try {
    server_side_apply(nullptr, j(kAppliedDeployment), "", false, "apps/v1", kT0);
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code, 422);
    EXPECT_EQ(e.reason, "Invalid");
    EXPECT_EQ(e.details["kind"], "PatchOptions");
    EXPECT_EQ(e.details["group"], "meta.k8s.io");
    EXPECT_EQ(e.details["causes"][0]["reason"], "FieldValueRequired");
    EXPECT_EQ(e.details["causes"][0]["field"], "fieldManager");
  }
}

TEST(ServerSideApply, ConflictWithAnotherManagerUnlessForced) {
  json live = server_side_apply(nullptr, j(kAppliedDeployment), "first", false, "apps/v1", kT0);
  json second = j(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":5}})");
  try {
    server_side_apply(live, second, "second", false, "apps/v1", kT1);
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code, 409);
    EXPECT_EQ(e.reason, "Conflict");
    EXPECT_STREQ(e.what(), "Apply failed with 1 conflict: conflict with \"first\": .spec.replicas");
    ASSERT_EQ(e.details["causes"].size(), 1u);
    EXPECT_EQ(e.details["causes"][0]["reason"], "FieldManagerConflict");
    EXPECT_EQ(e.details["causes"][0]["field"], ".spec.replicas");
  }
  json forced = server_side_apply(live, second, "second", true, "apps/v1", kT1);
  EXPECT_EQ(forced["spec"]["replicas"], 5);
  EXPECT_EQ(forced["spec"]["template"], live["spec"]["template"]);
  ASSERT_EQ(forced["metadata"]["managedFields"].size(), 2u);
  EXPECT_EQ(entry(forced, 0)["manager"], "first");
  EXPECT_FALSE(entry(forced, 0)["fieldsV1"]["f:spec"].contains("f:replicas"));
  EXPECT_EQ(entry(forced, 1)["manager"], "second");
  EXPECT_EQ(entry(forced, 1)["fieldsV1"], j(R"({"f:spec":{"f:replicas":{}}})"));
}

TEST(ServerSideApply, SameValueIsSharedOwnershipNotAConflict) {
  json live = server_side_apply(nullptr, j(kAppliedDeployment), "first", false, "apps/v1", kT0);
  json same = j(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":2}})");
  json out = server_side_apply(live, same, "second", false, "apps/v1", kT1);
  EXPECT_EQ(out["metadata"]["managedFields"].size(), 2u);
}

TEST(ServerSideApply, ConflictWithUpdateManagerNamesItsApiVersion) {
  json live = j(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":1,"paused":false}})");
  update_managed_fields(live, nullptr, "kubectl-client-side-apply", "apps/v1", kT0);
  json applied = j(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":3,"paused":true}})");
  try {
    server_side_apply(live, applied, "kubectl", false, "apps/v1", kT1);
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code, 409);
    EXPECT_STREQ(e.what(),
                 "Apply failed with 2 conflicts: conflicts with \"kubectl-client-side-apply\" using apps/v1:\n"
                 "- .spec.paused\n- .spec.replicas");
    EXPECT_EQ(e.details["causes"].size(), 2u);
    EXPECT_EQ(e.details["causes"][0]["message"], "conflict with \"kubectl-client-side-apply\" using apps/v1");
  }
}

TEST(ServerSideApply, OmittedFieldsAreRemovedUnlessOwnedByOthers) {
  json applied = j(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labels":{"a":"1","b":"2"}},"data":{"x":"1","y":"2"}})");
  json live = server_side_apply(nullptr, applied, "m", false, "v1", kT0);
  // Another manager takes over label b by updating it.
  json old = live;
  live["metadata"]["labels"]["b"] = "3";
  update_managed_fields(live, old, "editor", "v1", kT1);
  json again = j(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"x":"1"}})");
  json out = server_side_apply(live, again, "m", false, "v1", kT1);
  EXPECT_EQ(out["data"], j(R"({"x":"1"})"));
  EXPECT_EQ(out["metadata"]["labels"], j(R"({"b":"3"})"));
}

TEST(ServerSideApply, AssociativeListsMergeByKeyAndSetsUnion) {
  json live = server_side_apply(nullptr, j(kAppliedDeployment), "a", false, "apps/v1", kT0);
  json sidecar = j(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","finalizers":["x/y"]},
    "spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox"}]}}}})");
  json out = server_side_apply(live, sidecar, "b", false, "apps/v1", kT1);
  auto& containers = out["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(containers.size(), 2u);
  EXPECT_EQ(containers[0]["name"], "nginx");  // live items keep their place, new ones are appended
  EXPECT_EQ(containers[1]["name"], "sidecar");
  EXPECT_EQ(out["metadata"]["finalizers"], j(R"(["x/y"])"));
  EXPECT_TRUE(entry(out, 1)["fieldsV1"]["f:metadata"]["f:finalizers"].contains("v:\"x/y\""));
}

TEST(ServerSideApply, AtomicSelectorIsOneFieldAndReplacedWhole) {
  json live = server_side_apply(nullptr, j(kAppliedDeployment), "a", false, "apps/v1", kT0);
  json applied = j(kAppliedDeployment);
  applied["spec"]["selector"] = j(R"({"matchLabels":{"tier":"x"}})");
  json out = server_side_apply(live, applied, "a", false, "apps/v1", kT1);
  EXPECT_EQ(out["spec"]["selector"], j(R"({"matchLabels":{"tier":"x"}})"));
  EXPECT_EQ(entry(out, 0)["fieldsV1"]["f:spec"]["f:selector"], json::object());
}

TEST(ServerSideApply, ListOrderFollowsStructuredMergeDiff) {
  auto deployment_with = [](const char* containers) {
    json d = j(kAppliedDeployment);
    d["spec"]["template"]["spec"]["containers"] = j(containers);
    return d;
  };
  auto names = [](const json& d) {
    std::vector<std::string> n;
    for (const auto& c : d["spec"]["template"]["spec"]["containers"]) n.push_back(c["name"]);
    return n;
  };
  json live = server_side_apply(nullptr, deployment_with(R"([{"name":"a"},{"name":"b"},{"name":"c"}])"), "m",
                                false, "apps/v1", kT0);
  // The same manager reorders and inserts: the applied order wins.
  json out = server_side_apply(live, deployment_with(R"([{"name":"c"},{"name":"x"},{"name":"a"},{"name":"b"}])"),
                               "m", false, "apps/v1", kT1);
  EXPECT_EQ(names(out), (std::vector<std::string>{"c", "x", "a", "b"}));
  // Another manager's partial list: live items are emitted as the walk meets them, so the new item follows c.
  out = server_side_apply(live, deployment_with(R"([{"name":"b"},{"name":"y"}])"), "other", false, "apps/v1", kT1);
  EXPECT_EQ(names(out), (std::vector<std::string>{"a", "b", "c", "y"}));
  // A new item applied in front of a shared one goes before it.
  out = server_side_apply(live, deployment_with(R"([{"name":"y"},{"name":"b"}])"), "other", false, "apps/v1", kT1);
  EXPECT_EQ(names(out), (std::vector<std::string>{"a", "y", "b", "c"}));
}

TEST(ServerSideApply, ManagedFieldsInTheBodyAreRejected) {
  json applied = j(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","managedFields":[{}]}})");
  try {
    server_side_apply(nullptr, applied, "m", false, "v1", kT0);
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code, 400);
  }
}

TEST(UpdateManagedFields, CreateRecordsUpdateOperationWithDotForNewMaps) {
  json cm = j(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"t","uid":"u",
                 "labels":{"a":"1"}},"data":{"k":"v"}})");
  update_managed_fields(cm, nullptr, "kubectl-create", "v1", kT0);
  ASSERT_EQ(cm["metadata"]["managedFields"].size(), 1u);
  const json& e = entry(cm, 0);
  EXPECT_EQ(e["operation"], "Update");
  EXPECT_EQ(e["manager"], "kubectl-create");
  EXPECT_EQ(e["fieldsType"], "FieldsV1");
  EXPECT_EQ(e["time"], kT0);
  EXPECT_FALSE(e.contains("subresource"));
  EXPECT_EQ(e["fieldsV1"], j(R"({"f:data":{".":{},"f:k":{}},"f:metadata":{"f:labels":{".":{},"f:a":{}}}})"));
}

TEST(UpdateManagedFields, DeploymentCreateLooksLikeTheRealServers) {
  json d = j(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"app":"web"}},
    "spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},
      "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%"}},
      "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"nginx","image":"nginx",
        "resources":{}}]}}}})");
  update_managed_fields(d, nullptr, "kubectl-create", "apps/v1", kT0);
  EXPECT_EQ(entry(d, 0)["fieldsV1"], j(R"({
    "f:metadata":{"f:labels":{".":{},"f:app":{}}},
    "f:spec":{"f:replicas":{},"f:selector":{},
      "f:strategy":{"f:rollingUpdate":{".":{},"f:maxSurge":{}},"f:type":{}},
      "f:template":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},
        "f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{},"f:resources":{}}}}}}})"));
}

TEST(UpdateManagedFields, ChangedFieldsMoveToTheWriterAndEmptyManagersDisappear) {
  json cm = j(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"k":"v"}})");
  update_managed_fields(cm, nullptr, "creator", "v1", kT0);
  json old = cm;
  cm["data"]["k"] = "v2";
  cm["data"]["n"] = "new";
  update_managed_fields(cm, old, "patcher", "v1", kT1);
  ASSERT_EQ(cm["metadata"]["managedFields"].size(), 2u);
  EXPECT_EQ(entry(cm, 0)["manager"], "creator");
  EXPECT_EQ(entry(cm, 0)["fieldsV1"], j(R"({"f:data":{}})"));  // keeps ownership of the map itself
  EXPECT_EQ(entry(cm, 1)["manager"], "patcher");
  EXPECT_EQ(entry(cm, 1)["fieldsV1"], j(R"({"f:data":{"f:k":{},"f:n":{}}})"));

  // Deleting every field "creator" owned leaves it owning nothing: its entry goes away.
  old = cm;
  cm.erase("data");
  update_managed_fields(cm, old, "patcher", "v1", kT1);
  EXPECT_FALSE(cm["metadata"].contains("managedFields"));
}

TEST(UpdateManagedFields, NoChangeAddsNoEntryAndSubresourceIsRecorded) {
  json cm = j(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":1}})");
  update_managed_fields(cm, nullptr, "creator", "apps/v1", kT0);
  json old = cm;
  update_managed_fields(cm, old, "noop", "apps/v1", kT1);
  EXPECT_EQ(cm["metadata"]["managedFields"].size(), 1u);
  cm["status"] = {{"replicas", 1}};
  update_managed_fields(cm, old, "controller", "apps/v1", kT1, "status");
  ASSERT_EQ(cm["metadata"]["managedFields"].size(), 2u);
  EXPECT_EQ(entry(cm, 1)["subresource"], "status");
  EXPECT_EQ(entry(cm, 1)["fieldsV1"], j(R"({"f:status":{"f:replicas":{}}})"));
}

TEST(UpdateManagedFields, MalformedInputIsNotAnInternalError) {
  json cm = j(R"({"apiVersion":5,"kind":["x"],"metadata":{"name":"c","managedFields":[{"manager":7,"fieldsV1":"x"}]},
                 "data":{"k":"v"}})");
  EXPECT_NO_THROW(update_managed_fields(cm, nullptr, "m", "v1", kT0));
  json applied = j(R"({"apiVersion":true,"kind":1,"metadata":"odd","data":{"k":"v"}})");
  EXPECT_NO_THROW(server_side_apply(nullptr, applied, "m", false, "v1", kT0));
}

TEST(UpdateManagedFields, ApplyEntriesSortBeforeUpdateEntries) {
  json live = server_side_apply(nullptr, j(kAppliedDeployment), "z-applier", false, "apps/v1", kT1);
  json old = live;
  live["spec"]["paused"] = true;
  update_managed_fields(live, old, "a-updater", "apps/v1", kT0);
  EXPECT_EQ(entry(live, 0)["operation"], "Apply");
  EXPECT_EQ(entry(live, 1)["operation"], "Update");
}

TEST(ManagedFieldsToStore, ValidEntriesAreReencodedSortedAndOwnersOfNothingDropped) {
  json given = j(R"([
    {"manager":"velero","operation":"Update","apiVersion":"v1","time":"2026-01-02T00:00:00Z","fieldsType":"FieldsV1",
     "fieldsV1":{"f:data":{".":{},"f:k":{".":{}}}}},
    {"manager":"kubectl","operation":"Update","apiVersion":"v1","time":"2026-01-01T00:00:00Z","fieldsType":"FieldsV1",
     "fieldsV1":{"f:metadata":{"f:labels":{"k:{\"a\":1}":{},"v:\"x\"":{},"i:0":{}}}}},
    {"manager":"idle","operation":"Update","apiVersion":"v1","time":"2026-01-01T00:00:00Z","fieldsType":"FieldsV1",
     "fieldsV1":{}},
    {"manager":"applier","operation":"Apply","apiVersion":"v1","time":"2026-01-03T00:00:00Z","fieldsType":"FieldsV1",
     "fieldsV1":{"f:data":{"f:a":{}}},"subresource":"status"}])");
  json stored = managed_fields_to_store(given);
  ASSERT_EQ(stored.size(), 3u) << stored.dump();
  EXPECT_EQ(stored[0]["manager"], "applier");
  EXPECT_EQ(stored[0]["subresource"], "status");
  EXPECT_EQ(stored[1]["manager"], "kubectl");
  EXPECT_EQ(stored[2]["manager"], "velero");
  // A member without children is written "{}", one with children keeps its ".".
  EXPECT_EQ(stored[2]["fieldsV1"], j(R"({"f:data":{".":{},"f:k":{}}})"));
  EXPECT_EQ(stored[2]["time"], "2026-01-02T00:00:00Z");
  EXPECT_EQ(stored[2]["fieldsType"], "FieldsV1");
  // Stored ones come back unchanged.
  EXPECT_EQ(managed_fields_to_store(stored), stored);
}

TEST(ManagedFieldsToStore, EmptyOrInvalidListsKeepTheStoredOnesAndOneEmptyEntryClearsThem) {
  const char* valid = R"({"manager":"m","operation":"Update","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":{"f:a":{}}})";
  EXPECT_TRUE(managed_fields_to_store(nullptr).is_null());
  EXPECT_TRUE(managed_fields_to_store(json::array()).is_null());
  EXPECT_TRUE(managed_fields_to_store(j("{}")).is_null());
  EXPECT_EQ(managed_fields_to_store(j("[{}]")), json::array());
  for (const char* change : {R"({"operation":"Patch"})", R"({"operation":null})", R"({"apiVersion":""})",
                             R"({"fieldsType":"FieldsV2"})", R"({"fieldsV1":{"x:a":{}}})", R"({"fieldsV1":{"f:a":1}})",
                             R"({"fieldsV1":{"k:[1]":{}}})", R"({"fieldsV1":{"i:x":{}}})", R"({"fieldsV1":[]})",
                             R"({"time":5})", R"({"manager":["m"]})"}) {
    json entry = j(valid);
    entry.update(j(change));
    EXPECT_TRUE(managed_fields_to_store(json::array({j(valid), entry})).is_null()) << change;
  }
  EXPECT_EQ(managed_fields_to_store(json::array({j(valid)})).size(), 1u);
}

TEST(UpdateManagedFields, InvalidManagedFieldsInTheBodyLeaveTheStoredOnes) {
  json cm = j(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"k":"v"}})");
  update_managed_fields(cm, nullptr, "creator", "v1", kT0);
  json old = cm;
  cm["metadata"]["managedFields"] = j(R"([{"manager":"x","operation":"Steal","apiVersion":"v1","fieldsType":"FieldsV1"}])");
  cm["data"]["n"] = "new";
  update_managed_fields(cm, old, "patcher", "v1", kT1);
  ASSERT_EQ(cm["metadata"]["managedFields"].size(), 2u);
  EXPECT_EQ(entry(cm, 0)["manager"], "creator");
  EXPECT_EQ(entry(cm, 1)["manager"], "patcher");
}

// A create's entry is built by a direct walk; an update from an empty object goes through the sets of paths and
// checks that each field exists. Both must write the same bytes.
TEST(UpdateManagedFields, CreateEntryIsTheSameAsAnUpdateFromNothing) {
  const char* objects[] = {
      kAppliedDeployment,
      R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"s","namespace":"n","labels":{"a":"1"},
          "annotations":{},"finalizers":["x","y","x"],"uid":"u","resourceVersion":"1"},
          "spec":{"type":"NodePort","selector":{"app":"web"},"ports":[{"port":80,"targetPort":8080,"nodePort":30001},
          {"port":53,"protocol":"UDP","name":"dns"}],"clusterIPs":["10.0.0.1"],"ipFamilies":[],"externalName":null}})",
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","generateName":"p-","ownerReferences":[{"uid":"1",
          "kind":"ReplicaSet","name":"r","apiVersion":"apps/v1"}]},"spec":{"containers":[{"name":"c","image":"i",
          "env":[{"name":"A","value":"1"},{"name":"B","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}],
          "ports":[{"containerPort":80},{"containerPort":80,"protocol":"UDP"}],"args":["a","b"],
          "volumeMounts":[{"name":"v","mountPath":"/v"}],"resources":{"limits":{"cpu":"1"}}}],
          "volumes":[{"name":"v","emptyDir":{}}],"tolerations":[{"key":"k","operator":"Exists"}],
          "nodeSelector":{"disk":"ssd"},"securityContext":{}}})",
      R"({"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db"},"spec":{"replicas":3,
          "selector":{"matchLabels":{"app":"db"},"matchExpressions":[{"key":"k","operator":"In","values":["a"]}]},
          "serviceName":"db","template":{"metadata":{"labels":{"app":"db"}},"spec":{"containers":[{"name":"db",
          "image":"pg"}]}},"volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],
          "resources":{"requests":{"storage":"1Gi"}}}}],"updateStrategy":{"type":"RollingUpdate",
          "rollingUpdate":{"partition":0}}}})",
      R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labels":{"a":null}},"data":{"k":"v","e":""},
          "binaryData":{}})",
      R"({"apiVersion":"stable.example.com/v1","kind":"Shirt","metadata":{"name":"s"},"spec":{"color":"red",
          "sizes":[{"n":1},{"n":1}],"nested":{"deep":{"x":[1,2]}}}})",
      R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"only-server-owned-fields"}})",
  };
  for (const char* text : objects) {
    json created = j(text), updated = j(text);
    const std::string api_version = created["apiVersion"];
    update_managed_fields(created, nullptr, "creator", api_version, kT0);
    update_managed_fields(updated, json::object(), "creator", api_version, kT0);
    EXPECT_EQ(created.dump(), updated.dump()) << text;
  }
}

}  // namespace
}  // namespace kubelite
