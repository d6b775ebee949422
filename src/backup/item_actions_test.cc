#include "backup/item_actions.h"

#include <gtest/gtest.h>

#include "backup/backup_log.h"

using namespace arca;
using namespace arca::backup;
using nlohmann::json;

// velero.io/pv (Velero's pkg/backup/actions): what a Bound PVC loses in the tarball copy.
TEST(PvcAction, BoundClaimLosesDataSourceSelectorAndVeleroLabels) {
  json pvc = json::parse(R"({
    "metadata": {"name": "c", "namespace": "ns", "labels": {"app": "x", "velero.io/restore-name": "r",
      "velero.io/backup-name": "other", "velero.io/volume-snapshot-name": "s"}},
    "spec": {"volumeName": "pv1", "storageClassName": "fast", "dataSource": {"kind": "X"},
             "dataSourceRef": {"kind": "X"}, "selector": {"matchLabels": {"a": "b"}}},
    "status": {"phase": "Bound"}})");
  std::string pv;
  EXPECT_TRUE(apply_pvc_action(pvc, "mine", pv));
  EXPECT_EQ(pv, "pv1");
  EXPECT_FALSE(pvc["spec"].contains("dataSource"));
  EXPECT_FALSE(pvc["spec"].contains("dataSourceRef"));
  EXPECT_FALSE(pvc["spec"].contains("selector"));
  EXPECT_EQ(pvc["metadata"]["labels"], json({{"app", "x"}}));
}

TEST(PvcAction, StaticBindingKeepsSelectorButDropsVeleroKeys) {
  json pvc = json::parse(R"({"metadata": {"labels": {"velero.io/backup-name": "mine"}},
    "spec": {"volumeName": "pv1", "storageClassName": "", "selector": {"matchLabels": {"a": "b", "velero.io/x": "y"}}},
    "status": {"phase": "Bound"}})");
  std::string pv;
  EXPECT_TRUE(apply_pvc_action(pvc, "mine", pv));
  EXPECT_EQ(pvc["spec"]["selector"]["matchLabels"], json({{"a", "b"}}));
  EXPECT_EQ(pvc["metadata"]["labels"]["velero.io/backup-name"], "mine");
}

TEST(PvcAction, PendingClaimIsLeftAlone) {
  json pvc = json::parse(R"({"spec": {"dataSource": {"kind": "X"}}, "status": {"phase": "Pending"}})");
  std::string pv;
  EXPECT_FALSE(apply_pvc_action(pvc, "mine", pv));
  EXPECT_TRUE(pv.empty());
  EXPECT_TRUE(pvc["spec"].contains("dataSource"));
}

TEST(PodAction, PriorityClassAndClaims) {
  json pod = json::parse(R"({"metadata": {"namespace": "ns"}, "spec": {"priorityClassName": "high",
    "volumes": [{"name": "a", "persistentVolumeClaim": {"claimName": "c1"}}, {"name": "b", "emptyDir": {}}]}})");
  auto items = pod_related_items(pod);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].resource, "priorityclasses");
  EXPECT_EQ(items[0].name, "high");
  EXPECT_EQ(items[1].resource, "persistentvolumeclaims");
  EXPECT_EQ(items[1].namespace_name, "ns");
  EXPECT_EQ(items[1].name, "c1");
}

// Velero's internal/hook/item_hook_handler.go: annotation hooks replace spec hooks for their phase; ended pods have none.
TEST(PodHooks, AnnotationsWinPerPhaseAndSpecHooksMatchByNamespaceAndLabels) {
  json pod = json::parse(R"({"metadata": {"namespace": "ns", "labels": {"app": "db"},
    "annotations": {"pre.hook.backup.velero.io/command": "[\"sync\"]"}}, "status": {"phase": "Running"}})");
  api::BackupHooks hooks;
  api::BackupResourceHookSpec spec;
  spec.name = "freeze";
  spec.included_namespaces = {"ns"};
  spec.label_selector = parse_label_selector("app=db");
  spec.pre.resize(2);
  spec.post.resize(1);
  hooks.resources.push_back(spec);
  std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> resolved = {{{"pods"}, {}}};
  auto found = pod_hooks(pod, hooks, resolved);
  ASSERT_EQ(found.size(), 2u);  // the annotation's pre hook, the spec's post hook
  EXPECT_EQ(found[0].phase, "pre");
  EXPECT_EQ(found[0].name, "<pod annotation>");
  EXPECT_EQ(found[1].phase, "post");
  EXPECT_EQ(found[1].name, "freeze");
  pod["metadata"]["labels"]["app"] = "web";
  EXPECT_EQ(pod_hooks(pod, hooks, resolved).size(), 1u);
  pod["status"]["phase"] = "Succeeded";
  EXPECT_TRUE(pod_hooks(pod, hooks, resolved).empty());
}

// Velero's pkg/persistence/object_store_layout.go: warnings/errors counted and bucketed by namespace, cluster or velero.
TEST(BackupLog, CountsAndResults) {
  BackupLog log("velero/b");
  log.info("hello");
  log.warning("w1", {"pods", "ns1", "p", true});
  log.error("e1", {"persistentvolumes", "", "pv", true}, "boom");
  log.error("e2");
  EXPECT_EQ(log.warnings(), 1);
  EXPECT_EQ(log.errors(), 2);
  auto r = log.results();
  EXPECT_EQ(r["warnings"]["namespaces"]["ns1"][0], " resource: /pods name: /p message: /w1");
  EXPECT_EQ(r["errors"]["cluster"][0], " resource: /persistentvolumes name: /pv message: /e1 error: /boom");
  EXPECT_EQ(r["errors"]["velero"][0], " message: /e2");
  EXPECT_NE(log.text().find("level=warning msg=w1 backup=velero/b"), std::string::npos) << log.text();
}
