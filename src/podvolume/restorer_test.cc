// The restore-wait init container as Velero's pod_volume_restore_action.go builds it, and its place among the
// init containers next to init-restore hooks (src/restore/hooks.cc keeps a leading restore-wait first).
#include "podvolume/restorer.h"

#include <gtest/gtest.h>

#include "restore/hooks.h"

namespace arca::podvolume {
namespace {

TEST(RestoreWait, VelerosContainerWithDefaults) {
  json c = restore_wait_container({"data", "cache"}, "uid-1", {}, "arca/arca:v9");
  EXPECT_EQ(c["name"], "restore-wait");
  EXPECT_EQ(c["image"], "arca/arca:v9");
  EXPECT_EQ(c["command"], json::array({"/velero-restore-helper"}));
  EXPECT_EQ(c["args"], json::array({"uid-1"}));
  EXPECT_EQ(c["env"][1], json::parse(R"({"name":"POD_NAME","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}})"));
  EXPECT_EQ(c["resources"], json::parse(R"({"requests":{"cpu":"100m","memory":"128Mi"},
                                             "limits":{"cpu":"100m","memory":"128Mi"}})"));
  EXPECT_EQ(c["volumeMounts"], json::parse(R"([{"name":"cache","mountPath":"/restores/cache"},
                                                {"name":"data","mountPath":"/restores/data"}])"));
  EXPECT_EQ(c["securityContext"], json::object());
}

TEST(RestoreWait, ConfigMapOverridesAndItsMistakes) {
  RestoreHelperConfig config;
  config.data = {{"image", "registry.local/helper"}, {"command", "/opt/arca/arca-restore-helper"},
                 {"memRequest", "64Mi"}, {"memLimit", "0"}, {"secCtxRunAsUser", "1000"},
                 {"secCtxAllowPrivilegeEscalation", "false"}, {"secCtx", "capabilities:\n  drop: [ALL]\n"}};
  std::vector<std::string> warnings;
  json c = restore_wait_container({"data"}, "u", config, "arca/arca:v9", &warnings);
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  EXPECT_EQ(c["image"].get<std::string>().rfind("registry.local/helper:v", 0), 0u);  // tag-less: this version's tag
  EXPECT_EQ(c["command"], json::array({"/opt/arca/arca-restore-helper"}));
  EXPECT_EQ(c["resources"]["requests"]["memory"], "64Mi");
  EXPECT_FALSE(c["resources"]["limits"].contains("memory"));  // "0": unbounded
  EXPECT_EQ(c["securityContext"], json::parse(R"({"capabilities":{"drop":["ALL"]},"runAsUser":1000,
                                                   "allowPrivilegeEscalation":false})"));
  // Velero's getImage: no registry part → the default image; a tag is kept.
  EXPECT_EQ(restore_helper_image({{{"image", "helper"}}}, "arca/arca:v9"), "arca/arca:v9");
  EXPECT_EQ(restore_helper_image({{{"image", "r.io/helper:1.2"}}}, "arca/arca:v9"), "r.io/helper:1.2");
  // A request above its limit or a non-quantity: Velero's defaults, with a warning.
  config.data = {{"cpuRequest", "2"}, {"cpuLimit", "1"}};
  warnings.clear();
  c = restore_wait_container({"data"}, "u", config, "i", &warnings);
  EXPECT_EQ(c["resources"]["requests"]["cpu"], "100m");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("Using default resource values"), std::string::npos);
  config.data = {{"secCtxRunAsUser", "root"}};
  warnings.clear();
  c = restore_wait_container({"data"}, "u", config, "i", &warnings);
  EXPECT_EQ(c["securityContext"], json::object());
  EXPECT_EQ(warnings.size(), 1u);
}

TEST(RestoreWait, GoesFirstReplacingAStaleOneAndAheadOfInitHooks) {
  json pod = json::parse(R"({"metadata": {"name": "p", "namespace": "app",
      "annotations": {"init.hook.restore.velero.io/container-image": "busybox",
                      "init.hook.restore.velero.io/container-name": "hook",
                      "init.hook.restore.velero.io/command": "[\"true\"]"}},
      "spec": {"initContainers": [{"name": "restic-wait", "image": "old"}, {"name": "own", "image": "x"}],
               "containers": [{"name": "app", "image": "x"}]}})");
  // The engine runs the item actions (init hooks) first, then adds restore-wait.
  ASSERT_EQ(restore::apply_init_hooks(pod, "app", {}), "");
  add_restore_wait(pod, restore_wait_container({"data"}, "u", {}, "i"));
  std::vector<std::string> names;
  for (const auto& c : pod["spec"]["initContainers"]) names.push_back(c["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"restore-wait", "hook", "restic-wait", "own"}));
  // A pod backed up with a restore-wait of an earlier restore: replaced, not doubled.
  json again = json::parse(R"({"spec": {"initContainers": [{"name": "restore-wait", "args": ["old"]}]}})");
  add_restore_wait(again, restore_wait_container({"data"}, "new", {}, "i"));
  ASSERT_EQ(again["spec"]["initContainers"].size(), 1u);
  EXPECT_EQ(again["spec"]["initContainers"][0]["args"], json::array({"new"}));
}

}  // namespace
}  // namespace arca::podvolume
