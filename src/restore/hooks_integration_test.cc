// Restore hooks against a real kubelite whose kubelet runs containers as processes (Velero's internal/hook):
// init-container hooks from the Restore's spec (with a volume mount) and from the pod's annotations run before the
// app container; post-restore exec hooks wait for their container to be ready, run once through arca's exec
// client, and a failing Fail hook is a restore error naming the hook.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "restore/restore_test_support.h"
#include "util/label_selector.h"

namespace arca::restore {
namespace {

using namespace std::chrono_literals;
using namespace testing;  // arca::restore::testing
using ::testing::HasSubstr;

class RestoreHooks : public ::testing::Test {
 protected:
  void SetUp() override { cluster_ = std::make_unique<testsupport::KubeCluster>(dir_); }
  testsupport::CommandResult kubectl(const std::vector<std::string>& args) {
    return testsupport::kubectl(cluster_->kubelite.kubeconfig, args, dir_);
  }
  bool running(const std::string& ns, const std::string& pod) {
    return testsupport::wait_for_pod_running(cluster_->kubelite.kubeconfig, ns, pod, dir_);
  }
  // Applies `manifest`, waits for `pods` of `ns` to run and backs the namespace up (backup "b").
  std::string back_up(const std::string& manifest, const std::string& ns, const std::vector<std::string>& pods) {
    std::ofstream(dir_.file("app.yaml")) << manifest;
    auto applied = kubectl({"apply", "-f", dir_.file("app.yaml")});
    EXPECT_EQ(applied.exit_code, 0) << applied.output;
    for (const auto& pod : pods) EXPECT_TRUE(running(ns, pod)) << pod;
    return make_backup(*cluster_, {ns});
  }
  std::string cat(const std::string& ns, const std::string& pod, const std::string& path) {
    return kubectl({"-n", ns, "exec", pod, "-c", "app", "--", "cat", path}).out;
  }

  testsupport::TempDir dir_;
  std::unique_ptr<testsupport::KubeCluster> cluster_;
};

TEST_F(RestoreHooks, InitAndExecHooksRunInTheRestoredPods) {
  // The backed-up namespace: pods as an application runs them (these hooks do not run at backup time).
  std::string backup = back_up(R"(apiVersion: v1
kind: Namespace
metadata: {name: rh}
---
apiVersion: v1
kind: Pod
metadata: {name: seeded, namespace: rh, labels: {app: seeded}}
spec:
  volumes: [{name: data, emptyDir: {}}]
  containers:
  - {name: app, image: busybox, command: [sh, -c, 'cat /data/seed > /data/app-saw 2>&1; exec sleep 1000'],
     volumeMounts: [{name: data, mountPath: /data}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: annotated
  namespace: rh
  labels: {app: annotated}
  annotations:
    init.hook.restore.velero.io/container-image: busybox
    init.hook.restore.velero.io/container-name: announce
    init.hook.restore.velero.io/command: '["sh", "-c", "echo init-from-annotation"]'
    post.hook.restore.velero.io/container: app
    post.hook.restore.velero.io/command: '["sh", "-c", "echo run >> /data/hook-runs; echo hook-said-hi"]'
    post.hook.restore.velero.io/wait-for-ready: "true"
    post.hook.restore.velero.io/exec-timeout: 20s
spec:
  volumes: [{name: data, emptyDir: {}}]
  initContainers:
  - {name: slow-start, image: busybox, command: [sh, -c, 'sleep 2']}
  containers:
  - {name: app, image: busybox, command: [sleep, '1000'], volumeMounts: [{name: data, mountPath: /data}]}
---
apiVersion: v1
kind: Pod
metadata: {name: failing, namespace: rh, labels: {app: failing}}
spec:
  containers:
  - {name: app, image: busybox, command: [sleep, '1000']}
)",
                             "rh", {"seeded", "annotated", "failing"});
  ASSERT_FALSE(HasFailure());

  auto restore = restore_named("r-hooks", "b");
  restore.spec.namespace_mapping = {{"rh", "rh-copy"}};
  // An init container with the pod's volume mounted: its effect is in the volume before the app starts.
  api::RestoreResourceHookSpec seed;
  seed.name = "seed";
  seed.label_selector = parse_label_selector("app=seeded");
  api::RestoreResourceHook init;
  init.init = api::InitRestoreHook{{nlohmann::json::parse(R"({"name": "seed", "image": "busybox",
      "command": ["sh", "-c", "echo seeded > /data/seed"], "volumeMounts": [{"name": "data", "mountPath": "/data"}]})")},
      {}, {}};
  seed.post_hooks = {init};
  restore.spec.hooks.resources = {seed};
  restore.spec.label_selector = parse_label_selector("app in (seeded,annotated)");

  auto run = [&](const api::Restore& r, RestoreOutcome& outcome) {
    RestoreLog log(dir_.file(r.metadata.name + ".log"), "velero/" + r.metadata.name);
    run_restore(r, source_of(backup), *cluster_->transport, *cluster_->discovery, log, EngineOptions{}, outcome);
    return log.text();
  };
  RestoreOutcome outcome;
  auto start = std::chrono::steady_clock::now();
  std::string text = run(restore, outcome);
  auto took = std::chrono::steady_clock::now() - start;

  // The post-restore exec hook waited for its container (behind a 2 s init container) and ran once; the restore
  // returned only after it (Velero waits for its hooks).
  EXPECT_GE(took, 2s);
  EXPECT_EQ(cat("rh-copy", "annotated", "/data/hook-runs"), "run\n");
  EXPECT_THAT(text, HasSubstr("stdout: hook-said-hi"));
  EXPECT_EQ(outcome.errors.count(), 0u) << results_json(outcome.errors, outcome.warnings) << text;
  EXPECT_TRUE(outcome.hooks_ran);
  EXPECT_EQ(outcome.hook_status.hooks_attempted, 1);
  EXPECT_EQ(outcome.hook_status.hooks_failed, 0);

  // The spec's init container ran first, with the volume: the app container read what it wrote.
  ASSERT_TRUE(running("rh-copy", "seeded"));
  EXPECT_EQ(cat("rh-copy", "seeded", "/data/seed"), "seeded\n");
  EXPECT_EQ(cat("rh-copy", "seeded", "/data/app-saw"), "seeded\n");
  // The annotation's init container (no mounts, as in Velero): its log and exit code.
  auto logs = kubectl({"-n", "rh-copy", "logs", "annotated", "-c", "announce"});
  EXPECT_EQ(logs.out, "init-from-annotation\n") << logs.output;
  auto code = kubectl({"-n", "rh-copy", "get", "pod", "annotated", "-o",
                       "jsonpath={.status.initContainerStatuses[?(@.name==\"announce\")].state.terminated.exitCode}"});
  EXPECT_EQ(code.out, "0") << code.output;
  auto order = kubectl({"-n", "rh-copy", "get", "pod", "annotated", "-o", "jsonpath={.spec.initContainers[*].name}"});
  EXPECT_EQ(order.out, "announce slow-start");  // hook containers before the pod's own
  // No hook ran in the backed-up pods.
  EXPECT_NE(kubectl({"-n", "rh", "exec", "annotated", "-c", "app", "--", "test", "-e", "/data/hook-runs"}).exit_code, 0);

  // A failing exec hook with onError Fail: a restore error naming hook and pod, and it stops the hooks still
  // waiting in the restore (the annotated pod's, behind its slow init container), as Velero's hooksCancelFunc does.
  auto failing = restore_named("r-fail", "b");
  failing.spec.namespace_mapping = {{"rh", "rh-fail"}};
  failing.spec.label_selector = parse_label_selector("app in (failing,annotated)");
  api::RestoreResourceHookSpec must_pass;
  must_pass.name = "must-pass";
  must_pass.included_namespaces = {"rh-fail"};
  must_pass.label_selector = parse_label_selector("app=failing");
  api::RestoreResourceHook exec;
  exec.exec = api::ExecRestoreHook{"app", {"sh", "-c", "echo about to fail >&2; exit 5"}, api::HookErrorMode::Fail,
                                   std::chrono::seconds(10), std::chrono::seconds(30), {}, {}};
  must_pass.post_hooks = {exec};
  failing.spec.hooks.resources = {must_pass};
  RestoreOutcome failed;
  text = run(failing, failed);
  ASSERT_EQ(failed.errors.count(), 1u) << results_json(failed.errors, failed.warnings) << text;
  const std::string error = failed.errors.namespaces["rh-fail"].at(0);
  EXPECT_THAT(error, HasSubstr("hookName=must-pass"));
  EXPECT_THAT(error, HasSubstr("pod=rh-fail/failing"));
  EXPECT_THAT(error, HasSubstr("command terminated with non-zero exit code: 5"));
  EXPECT_THAT(text, HasSubstr("about to fail"));
  EXPECT_THAT(text, HasSubstr("Hook <from-annotation> in container app in pod rh-fail/annotated not executed: context canceled"));
  EXPECT_EQ(failed.hook_status.hooks_attempted, 1);
  EXPECT_EQ(failed.hook_status.hooks_failed, 1);
  ASSERT_TRUE(running("rh-fail", "annotated"));
  EXPECT_NE(kubectl({"-n", "rh-fail", "exec", "annotated", "-c", "app", "--", "test", "-e", "/data/hook-runs"}).exit_code, 0);
}

// Velero's wait_exec_hook_handler.go: a hook without a wait-timeout has no deadline. It waits past the server's
// --resource-timeout for a container that starts late, and for one that never starts until its pod is deleted.
TEST_F(RestoreHooks, AHookWithoutWaitTimeoutWaitsAsLongAsThePodExists) {
  std::string backup = back_up(R"(apiVersion: v1
kind: Namespace
metadata: {name: rw}
---
apiVersion: v1
kind: Pod
metadata: {name: late, namespace: rw, labels: {app: late}}
spec:
  volumes: [{name: data, emptyDir: {}}]
  containers:
  - {name: app, image: busybox, command: [sleep, '1000'], volumeMounts: [{name: data, mountPath: /data}]}
---
apiVersion: v1
kind: Pod
metadata: {name: never, namespace: rw, labels: {app: never}}
spec:
  containers:
  - {name: app, image: busybox, command: [sleep, '1000']}
)",
                               "rw", {"late", "never"});
  ASSERT_FALSE(HasFailure());

  // Restored, `late` starts its app after a 3 s init container and `never` after one that does not end.
  auto restore = restore_named("r-wait", "b");
  restore.spec.namespace_mapping = {{"rw", "rw-copy"}};
  auto spec_for = [](const std::string& app, const std::string& init_command, const std::string& hook_command) {
    api::RestoreResourceHookSpec s;
    s.name = app + "-hooks";
    s.label_selector = parse_label_selector("app=" + app);
    api::RestoreResourceHook init, exec;
    init.init = api::InitRestoreHook{
        {nlohmann::json{{"name", "hold"}, {"image", "busybox"}, {"command", {"sh", "-c", init_command}}}}, {}, {}};
    // No wait-timeout (zero), onError Continue.
    exec.exec = api::ExecRestoreHook{"app", {"sh", "-c", hook_command}, api::HookErrorMode::Continue,
                                     std::chrono::seconds(10), std::chrono::seconds(0), {}, {}};
    s.post_hooks = {init, exec};
    return s;
  };
  restore.spec.hooks.resources = {spec_for("late", "sleep 3", "echo ran > /data/waited"),
                                  spec_for("never", "sleep 1000", "echo should-not-run")};
  EngineOptions options;
  options.resource_timeout = 1s;  // what used to bound the wait
  RestoreLog log(dir_.file("r-wait.log"), "velero/r-wait");
  RestoreOutcome outcome;
  std::atomic<bool> finished{false};
  std::thread restoring([&] {
    run_restore(restore, source_of(backup), *cluster_->transport, *cluster_->discovery, log, options, outcome);
    finished = true;
  });
  // `late`'s hook ran once its container started, 3 s in, well past the 1 s resource timeout.
  EXPECT_TRUE(testsupport::eventually(
      [&] { return kubectl({"-n", "rw-copy", "exec", "late", "-c", "app", "--", "cat", "/data/waited"}).out == "ran\n"; },
      30s));
  // `never`'s hook is still waiting, and so is the restore, until the pod goes.
  EXPECT_FALSE(finished);
  EXPECT_THAT(log.text(), Not(HasSubstr("not executed")));
  auto deleted = kubectl({"-n", "rw-copy", "delete", "pod", "never", "--grace-period=0", "--wait=false"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.output;
  restoring.join();
  const std::string text = log.text();
  EXPECT_THAT(text, HasSubstr("Pod rw-copy/never deleted before all hooks were executed"));
  EXPECT_THAT(text, HasSubstr("Hook never-hooks in container app in pod rw-copy/never not executed"));
  EXPECT_THAT(text, Not(HasSubstr("should-not-run")));
  EXPECT_EQ(outcome.hook_status.hooks_attempted, 1);
  EXPECT_EQ(outcome.hook_status.hooks_failed, 0);
}

}  // namespace
}  // namespace arca::restore
