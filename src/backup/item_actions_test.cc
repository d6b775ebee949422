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

// Velero's internal/hook/item_hook_handler.go: annotation hooks replace spec hooks for their phase (pre also reads
// the legacy unphased keys); spec hooks match by namespace and labels, in order; ended pods have none.
TEST(PodHooks, AnnotationsWinPerPhaseAndSpecHooksMatchByNamespaceAndLabels) {
  json pod = json::parse(R"({"metadata": {"namespace": "ns", "labels": {"app": "db"},
    "annotations": {"pre.hook.backup.velero.io/command": "[\"sync\", \"-f\"]",
                    "pre.hook.backup.velero.io/container": "db", "pre.hook.backup.velero.io/on-error": "Continue",
                    "pre.hook.backup.velero.io/timeout": "2m"}}, "status": {"phase": "Running"}})");
  api::BackupHooks hooks;
  api::BackupResourceHookSpec spec;
  spec.name = "freeze";
  spec.included_namespaces = {"ns"};
  spec.label_selector = parse_label_selector("app=db");
  spec.pre.resize(2);
  spec.pre[0].exec = api::ExecHook{"db", {"fsfreeze", "-f", "/data"}, api::HookErrorMode::Fail, std::chrono::seconds(5), {}};
  spec.pre[1].exec = api::ExecHook{"", {"true"}, api::HookErrorMode::unset, std::nullopt, {}};
  spec.post.resize(1);
  spec.post[0].exec = api::ExecHook{"db", {"fsfreeze", "-u", "/data"}, api::HookErrorMode::Continue, std::nullopt, {}};
  hooks.resources.push_back(spec);
  std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> resolved = {{{"pods"}, {}}};
  auto pre = pod_hooks(pod, hooks, resolved, "pre");
  ASSERT_EQ(pre.size(), 1u);  // the annotation's hook replaces both spec pre hooks
  EXPECT_EQ(pre[0].source, "annotation");
  EXPECT_EQ(pre[0].exec.name, "<from-annotation>");
  EXPECT_EQ(pre[0].exec.container, "db");
  EXPECT_EQ(pre[0].exec.command, (std::vector<std::string>{"sync", "-f"}));
  EXPECT_EQ(pre[0].exec.on_error, api::HookErrorMode::Continue);
  EXPECT_EQ(pre[0].exec.timeout, std::chrono::minutes(2));
  auto post = pod_hooks(pod, hooks, resolved, "post");
  ASSERT_EQ(post.size(), 1u);
  EXPECT_EQ(post[0].source, "spec");
  EXPECT_EQ(post[0].exec.name, "freeze");
  EXPECT_EQ(post[0].exec.command, (std::vector<std::string>{"fsfreeze", "-u", "/data"}));

  // The legacy keys (no phase) are pre hooks; a timeout that does not parse keeps the default, with a warning.
  pod["metadata"]["annotations"] = {{"hook.backup.velero.io/command", "echo legacy"}, {"hook.backup.velero.io/timeout", "soon"}};
  pre = pod_hooks(pod, hooks, resolved, "pre");
  ASSERT_EQ(pre.size(), 1u);
  EXPECT_EQ(pre[0].exec.command, std::vector<std::string>{"echo legacy"});
  EXPECT_EQ(pre[0].exec.timeout.count(), 0);
  EXPECT_NE(pre[0].warning.find("Unable to parse provided timeout soon"), std::string::npos);

  pod["metadata"].erase("annotations");
  pre = pod_hooks(pod, hooks, resolved, "pre");
  ASSERT_EQ(pre.size(), 2u);  // both spec hooks, in order
  EXPECT_EQ(pre[0].exec.timeout, std::chrono::seconds(5));
  EXPECT_EQ(pre[1].exec.command, std::vector<std::string>{"true"});
  pod["metadata"]["labels"]["app"] = "web";
  EXPECT_TRUE(pod_hooks(pod, hooks, resolved, "pre").empty());
  pod["metadata"]["labels"]["app"] = "db";
  pod["metadata"]["namespace"] = "other";
  EXPECT_TRUE(pod_hooks(pod, hooks, resolved, "pre").empty());
  pod["metadata"]["namespace"] = "ns";
  pod["status"]["phase"] = "Succeeded";
  EXPECT_TRUE(pod_hooks(pod, hooks, resolved, "post").empty());
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
