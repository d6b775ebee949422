// Backup hooks against a real kubelite whose kubelet runs the pods' containers as processes: pre and post hooks
// from annotations and from Backup.spec.hooks run in the pod through arca's exec client, in Velero's order and
// with its onError, timeout and hookStatus semantics (Velero's internal/hook/item_hook_handler.go).
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "archive/tarball_reader.h"
#include "backup/engine.h"
#include "kube/exec.h"
#include "kube/kube_test_support.h"
#include "util/label_selector.h"

namespace arca::backup {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using kube::testing::config_from;

class BackupHooks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testsupport::TempDir();
    kubelite_ = new testsupport::Kubelite(testsupport::start_kubelite(*dir_));
    // One namespace per case; every pod has an emptyDir at /data and, through its priority class, an item that the
    // pod's item action pulls in (backed up between the pod's pre and post hooks, like its volumes).
    std::string manifest;
    auto pod = [&](const std::string& ns, const std::string& name, const std::string& labels,
                   const std::string& annotations) {
      manifest += "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: " + ns + "}\n"
                  "---\napiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: prio-" + name +
                  "}\nvalue: 10\n"
                  "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n  namespace: " + ns +
                  "\n  labels: {" + labels + "}\n  annotations: {" + annotations + "}\n"
                  "spec:\n  priorityClassName: prio-" + name + "\n  volumes: [{name: data, emptyDir: {}}]\n"
                  "  containers:\n  - {name: app, image: busybox, command: [sleep, '1000'], "
                  "volumeMounts: [{name: data, mountPath: /data}]}\n"
                  "  - {name: side, image: busybox, command: [sleep, '1000']}\n";
    };
    pod("hk-marker", "db", "app: db",
        "pre.hook.backup.velero.io/container: app, "
        "pre.hook.backup.velero.io/command: '[\"sh\", \"-c\", \"echo frozen > /data/marker; echo pre-out; echo pre-err >&2\"]', "
        "post.hook.backup.velero.io/container: app, "
        "post.hook.backup.velero.io/command: '[\"sh\", \"-c\", \"rm /data/marker && echo thawed\"]'");
    // Not selected by the backups below: its hook must never run.
    pod("hk-unselected", "bystander", "app: db",
        "pre.hook.backup.velero.io/command: '[\"sh\", \"-c\", \"echo ran > /data/ran\"]'");
    pod("hk-fail", "broken", "app: broken",
        "pre.hook.backup.velero.io/container: app, "
        "pre.hook.backup.velero.io/command: '[\"sh\", \"-c\", \"echo going wrong >&2; exit 3\"]', "
        "post.hook.backup.velero.io/container: app, "
        "post.hook.backup.velero.io/command: '[\"sh\", \"-c\", \"echo ran > /data/post\"]'");
    pod("hk-continue", "lenient", "app: lenient", "");
    pod("hk-timeout", "slow", "app: slow",
        "pre.hook.backup.velero.io/container: app, pre.hook.backup.velero.io/timeout: 1s, "
        "pre.hook.backup.velero.io/command: '[\"sh\", \"-c\", \"sleep 8; echo late > /data/late\"]'");
    std::ofstream(dir_->file("pods.yaml")) << manifest;
    auto applied = kubectl({"apply", "-f", dir_->file("pods.yaml")});
    ASSERT_EQ(applied.exit_code, 0) << applied.output;
    for (auto [ns, name] : std::vector<std::pair<std::string, std::string>>{
             {"hk-marker", "db"}, {"hk-unselected", "bystander"}, {"hk-fail", "broken"}, {"hk-continue", "lenient"},
             {"hk-timeout", "slow"}})
      ASSERT_TRUE(testsupport::wait_for_pod_running(kubelite_->kubeconfig, ns, name, *dir_)) << ns << "/" << name;
  }
  static void TearDownTestSuite() {
    delete kubelite_;
    delete dir_;
  }
  static testsupport::CommandResult kubectl(const std::vector<std::string>& args) {
    return testsupport::kubectl(kubelite_->kubeconfig, args, *dir_);
  }
  // Whether `path` exists in the pod's container `app`, asked through kubectl (the reference client).
  static bool file_exists(const std::string& ns, const std::string& pod, const std::string& path) {
    return kubectl({"-n", ns, "exec", pod, "-c", "app", "--", "test", "-e", path}).exit_code == 0;
  }

  struct Output {
    RunResult result;
    std::map<std::string, std::string> entries;
    std::string log;
    int errors = 0;
    json results;
    std::vector<std::string> commands;  // every hook command run, in order
  };

  // A backup of `spec`; `before_post` runs just before each post hook is sent: the moment the pod's file-system
  // backup reads its volumes (Velero runs post hooks once those finished).
  Output run(api::BackupSpec spec, std::function<void(const kube::ExecRequest&)> before_post = {}) {
    kube::testing::Client client(config_from(kubelite_->kubeconfig));
    api::Backup backup;
    backup.metadata.namespace_ = "velero";
    backup.metadata.name = "b";
    backup.spec = std::move(spec);
    BackupLog log("velero/b");
    Output out;
    RunOptions options;
    options.exec = [&](const kube::ExecRequest& request) {
      out.commands.push_back(json(request.command).dump());
      if (before_post && out.commands.back().find("rm /data/marker") != std::string::npos) before_post(request);
      return kube::exec_in_pod(*client.transport, request);
    };
    std::string tarball;
    out.result = run_backup(backup, *client.transport, client.discovery,
                            [&](const char* data, size_t size) { tarball.append(data, size); }, log, options);
    out.log = log.text();
    out.errors = log.errors();
    out.results = log.results();
    size_t at = 0;
    archive::TarballReader reader([&](char* buffer, size_t capacity) {
      size_t n = tarball.copy(buffer, capacity, at);
      at += n;
      return n;
    });
    while (auto entry = reader.next()) out.entries[entry->path] = reader.read_content();
    return out;
  }
  static bool has(const Output& out, const std::string& path) { return out.entries.count(path) > 0; }

  static testsupport::TempDir* dir_;
  static testsupport::Kubelite* kubelite_;
};
testsupport::TempDir* BackupHooks::dir_ = nullptr;
testsupport::Kubelite* BackupHooks::kubelite_ = nullptr;

TEST_F(BackupHooks, PreHookMarkerIsThereWhileTheVolumeIsReadAndThePostHookRemovesIt) {
  ASSERT_FALSE(file_exists("hk-marker", "db", "/data/marker"));
  std::string seen_by_volume_backup;
  api::BackupSpec spec;
  spec.included_namespaces = {"hk-marker"};
  auto out = run(spec, [&](const kube::ExecRequest& request) {
    // What a file-system backup of the pod's volume reads at this point (replace with the PodVolumeBackup's
    // snapshot once file-system backup lands).
    auto cat = kube::exec_in_pod(*std::make_unique<kube::Transport>(config_from(kubelite_->kubeconfig)),
                                 {request.namespace_name, request.pod, "app", {"cat", "/data/marker"}, std::nullopt, 10s});
    seen_by_volume_backup = cat.stdout_data;
  });
  EXPECT_EQ(out.errors, 0) << out.log;
  EXPECT_EQ(seen_by_volume_backup, "frozen\n");
  EXPECT_FALSE(file_exists("hk-marker", "db", "/data/marker"));  // the post hook removed it
  ASSERT_EQ(out.commands.size(), 2u);
  EXPECT_NE(out.commands[0].find("echo frozen"), std::string::npos);
  EXPECT_NE(out.commands[1].find("rm /data/marker"), std::string::npos);
  EXPECT_TRUE(has(out, "resources/pods/namespaces/hk-marker/db.json"));
  EXPECT_TRUE(has(out, "resources/priorityclasses.scheduling.k8s.io/cluster/prio-db.json"));
  EXPECT_TRUE(out.result.hooks_ran);
  EXPECT_EQ(out.result.hook_status.hooks_attempted, 2);
  EXPECT_EQ(out.result.hook_status.hooks_failed, 0);
  // The commands' output is in the backup log.
  EXPECT_NE(out.log.find("stdout: pre-out"), std::string::npos) << out.log;
  // (kubelite's exec may print a getcwd complaint first; the command's own line ends the stderr text)
  EXPECT_NE(out.log.find("pre-err\\n hookSource=annotation hookType=exec hookPhase=pre"), std::string::npos) << out.log;
  EXPECT_NE(out.log.find("stdout: thawed"), std::string::npos) << out.log;
  // Only pods the backup selected run hooks.
  EXPECT_FALSE(file_exists("hk-unselected", "bystander", "/data/ran"));
}

TEST_F(BackupHooks, FailingPreHookWithFailLeavesThePodAndItsItemsOutAndNamesTheHook) {
  api::BackupSpec spec;
  spec.included_namespaces = {"hk-fail"};
  auto out = run(spec);
  EXPECT_FALSE(has(out, "resources/pods/namespaces/hk-fail/broken.json"));
  EXPECT_FALSE(has(out, "resources/priorityclasses.scheduling.k8s.io/cluster/prio-broken.json"));
  EXPECT_TRUE(has(out, "resources/namespaces/cluster/hk-fail.json"));
  EXPECT_FALSE(file_exists("hk-fail", "broken", "/data/post"));  // post hooks do not run after a failed pre hook
  EXPECT_EQ(out.commands.size(), 1u);
  EXPECT_EQ(out.errors, 2) << out.log;  // "Error executing hook" and "Error backing up item", as Velero logs
  std::string errors = out.results["errors"]["namespaces"]["hk-fail"].dump();
  EXPECT_NE(errors.find("name: /broken"), std::string::npos) << errors;
  EXPECT_NE(errors.find("hookName=<from-annotation>"), std::string::npos) << errors;
  EXPECT_NE(errors.find("command terminated with non-zero exit code: 3"), std::string::npos) << errors;
  EXPECT_NE(out.log.find("going wrong\\n hookSource=annotation"), std::string::npos) << out.log;
  EXPECT_EQ(out.result.hook_status.hooks_attempted, 1);
  EXPECT_EQ(out.result.hook_status.hooks_failed, 1);
}

TEST_F(BackupHooks, SpecHooksWithContinueKeepThePodAndCountTheError) {
  api::BackupSpec spec;
  spec.included_namespaces = {"hk-continue"};
  api::BackupResourceHookSpec hook;
  hook.name = "lenient-hooks";
  hook.label_selector = parse_label_selector("app=lenient");
  hook.pre.resize(2);
  hook.pre[0].exec = api::ExecHook{"app", {"sh", "-c", "exit 1"}, api::HookErrorMode::Continue, std::nullopt, {}};
  hook.pre[1].exec = api::ExecHook{"side", {"sh", "-c", "echo second > /tmp/second-$$; echo second-ran"},
                                   api::HookErrorMode::Fail, std::nullopt, {}};
  hook.post.resize(1);
  hook.post[0].exec = api::ExecHook{"", {"sh", "-c", "echo post > /data/post"}, api::HookErrorMode::unset, std::nullopt, {}};
  spec.hooks.resources.push_back(hook);
  // A spec hook for a namespace the backup does not select never runs either.
  api::BackupResourceHookSpec elsewhere;
  elsewhere.name = "elsewhere";
  elsewhere.included_namespaces = {"hk-unselected"};
  elsewhere.pre.resize(1);
  elsewhere.pre[0].exec = api::ExecHook{"app", {"sh", "-c", "echo ran > /data/ran"}, api::HookErrorMode::Fail, std::nullopt, {}};
  spec.hooks.resources.push_back(elsewhere);
  auto out = run(spec);
  EXPECT_TRUE(has(out, "resources/pods/namespaces/hk-continue/lenient.json"));
  EXPECT_TRUE(has(out, "resources/priorityclasses.scheduling.k8s.io/cluster/prio-lenient.json"));
  EXPECT_EQ(out.commands.size(), 3u);
  EXPECT_NE(out.log.find("stdout: second-ran"), std::string::npos) << out.log;
  EXPECT_TRUE(file_exists("hk-continue", "lenient", "/data/post"));  // post hook: the first container, "app"
  EXPECT_EQ(out.errors, 1) << out.log;  // the Continue hook's failure, logged at error level as Velero does
  EXPECT_NE(out.results["errors"]["namespaces"]["hk-continue"].dump().find("hookName=lenient-hooks"), std::string::npos);
  EXPECT_EQ(out.result.hook_status.hooks_attempted, 3);
  EXPECT_EQ(out.result.hook_status.hooks_failed, 1);
  EXPECT_FALSE(file_exists("hk-unselected", "bystander", "/data/ran"));
}

TEST_F(BackupHooks, HookPastItsTimeoutIsCutOffAndReported) {
  api::BackupSpec spec;
  spec.included_namespaces = {"hk-timeout"};
  auto start = std::chrono::steady_clock::now();
  auto out = run(spec);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 6s);
  EXPECT_FALSE(has(out, "resources/pods/namespaces/hk-timeout/slow.json"));  // onError defaults to Fail
  EXPECT_NE(out.results["errors"]["namespaces"]["hk-timeout"].dump().find("timed out after 1s"), std::string::npos)
      << out.log;
  EXPECT_EQ(out.result.hook_status.hooks_failed, 1);
}

TEST_F(BackupHooks, NoHooksNoHookStatus) {
  api::BackupSpec spec;
  spec.included_namespaces = {"hk-continue"};
  auto out = run(spec);
  EXPECT_FALSE(out.result.hooks_ran);
  EXPECT_TRUE(out.commands.empty());
  EXPECT_EQ(out.errors, 0);
}

}  // namespace
}  // namespace arca::backup
