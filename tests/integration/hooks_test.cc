// Hooks end to end: kubelite running the pods' containers, `arca server` and the `arca` CLI as real processes.
// A backup runs its pods' pre/post hooks and records hookStatus, a failing Fail hook makes it PartiallyFailed, a
// restore runs the backed-up pod's post-restore exec hook, and `describe --details` shows the results
// (Velero's internal/hook, pkg/cmd/util/output/*_describer.go).
#include <gtest/gtest.h>

#include <chrono>

#include "tests/integration/harness.h"
#include "tests/support/process.h"

using integration::Cluster;
using namespace std::chrono_literals;

namespace {

constexpr const char* kPods = R"(apiVersion: v1
kind: Namespace
metadata: {name: velero}
---
apiVersion: v1
kind: Namespace
metadata: {name: hooks-e2e}
---
apiVersion: v1
kind: Pod
metadata:
  name: db
  namespace: hooks-e2e
  annotations:
    pre.hook.backup.velero.io/command: '["sh", "-c", "echo frozen > /data/marker; echo froze-it"]'
    post.hook.backup.velero.io/command: '["sh", "-c", "rm /data/marker; echo thawed-it"]'
    post.hook.restore.velero.io/command: '["sh", "-c", "echo restored >> /data/restored"]'
spec:
  volumes: [{name: data, emptyDir: {}}]
  containers:
  - {name: app, image: busybox, command: [sleep, '1000'], volumeMounts: [{name: data, mountPath: /data}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: hooks-e2e-fail}
---
apiVersion: v1
kind: Pod
metadata:
  name: broken
  namespace: hooks-e2e-fail
  annotations:
    pre.hook.backup.velero.io/command: '["sh", "-c", "exit 4"]'
spec:
  containers:
  - {name: app, image: busybox, command: [sleep, '1000']}
)";

class HooksEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new Cluster(std::map<std::string, std::string>{{"hooks.yaml", kPods}}); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  static testsupport::CommandResult kubectl(const std::vector<std::string>& args) {
    return testsupport::kubectl(cluster_->kubeconfig(), args, dir_);
  }
  static bool running(const std::string& ns, const std::string& pod) {
    return testsupport::wait_for_pod_running(cluster_->kubeconfig(), ns, pod, dir_);
  }
  static Cluster* cluster_;
  static testsupport::TempDir dir_;
};
Cluster* HooksEndToEnd::cluster_ = nullptr;
testsupport::TempDir HooksEndToEnd::dir_;

TEST_F(HooksEndToEnd, BackupHooksRunAndTheRestoreRunsThePodsRestoreHook) {
  ASSERT_TRUE(running("hooks-e2e", "db"));
  auto created = cluster_->arca({"backup", "create", "hb", "--include-namespaces", "hooks-e2e", "--wait"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  EXPECT_NE(created.out.find("Backup completed with status: Completed"), std::string::npos) << created.output;
  auto backup = cluster_->get_backup("hb");
  EXPECT_EQ(backup.value("/status/hookStatus/hooksAttempted"_json_pointer, -1), 2) << backup.dump();
  EXPECT_EQ(backup.value("/status/hookStatus/hooksFailed"_json_pointer, 0), 0);  // omitempty, as Velero's
  auto describe = cluster_->arca({"backup", "describe", "hb", "--details"});
  EXPECT_NE(describe.out.find("HooksAttempted:  2\nHooksFailed:     0\n"), std::string::npos) << describe.out;
  auto logs = cluster_->arca({"backup", "logs", "hb"});
  EXPECT_NE(logs.out.find("stdout: froze-it"), std::string::npos) << logs.output;
  EXPECT_NE(logs.out.find("stdout: thawed-it"), std::string::npos);
  EXPECT_NE(kubectl({"-n", "hooks-e2e", "exec", "db", "--", "test", "-e", "/data/marker"}).exit_code, 0);

  auto restore = cluster_->arca({"restore", "create", "rh", "--from-backup", "hb", "--namespace-mappings",
                                 "hooks-e2e:hooks-e2e-copy", "--wait"});
  ASSERT_EQ(restore.exit_code, 0) << restore.output;
  EXPECT_NE(restore.out.find("Completed"), std::string::npos) << restore.output;
  EXPECT_EQ(kubectl({"-n", "hooks-e2e-copy", "exec", "db", "--", "cat", "/data/restored"}).out, "restored\n")
      << cluster_->arca({"restore", "logs", "rh"}).output;
  auto described = cluster_->arca({"restore", "describe", "rh", "--details"});
  EXPECT_NE(described.out.find("HooksAttempted:   1\nHooksFailed:      0"), std::string::npos) << described.out;
  // The original pod ran no restore hook.
  EXPECT_NE(kubectl({"-n", "hooks-e2e", "exec", "db", "--", "test", "-e", "/data/restored"}).exit_code, 0);
}

TEST_F(HooksEndToEnd, FailingPreHookMakesTheBackupPartiallyFailedAndDescribeNamesIt) {
  ASSERT_TRUE(running("hooks-e2e-fail", "broken"));
  auto created = cluster_->arca({"backup", "create", "hf", "--include-namespaces", "hooks-e2e-fail", "--wait"});
  EXPECT_NE(created.out.find("PartiallyFailed"), std::string::npos) << created.output;
  auto describe = cluster_->arca({"backup", "describe", "hf", "--details"});
  EXPECT_NE(describe.out.find("HooksAttempted:  1\nHooksFailed:     1\n"), std::string::npos) << describe.out;
  auto logs = cluster_->arca({"backup", "logs", "hf"});
  EXPECT_NE(logs.out.find("level=error msg=\"Error executing hook"), std::string::npos) << logs.output;
  EXPECT_NE(logs.out.find("command terminated with non-zero exit code: 4"), std::string::npos) << logs.output;
  EXPECT_EQ(cluster_->tarball("hf").count("resources/pods/namespaces/hooks-e2e-fail/broken.json"), 0u);
}

}  // namespace
