// File-system backup end to end, through real processes only: kubelite running pods as sandboxed processes on two
// nodes, `arca server`, one `arca node-agent server` per node, the `arca` CLI and kubectl. A StatefulSet and a
// Deployment write known files into their claims and emptyDirs; a backup by annotation and one with
// --default-volumes-to-fs-backup copy them (their PodVolumeBackups complete); the namespace is deleted and restored;
// the restored pods start only once restore-wait saw every volume's done file (the app's first read finds its seed),
// and every file comes back byte for byte. And a pod's backup hooks around its file-system backup: the pre hook's
// marker is in the restic snapshot, the post hook removes it once the PodVolumeBackup has completed.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "tests/support/process.h"
#include "tests/support/volume_cluster.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using testsupport::CommandResult;

// The app: on its first start it writes random and text files into every volume; whenever it starts it records in
// each volume what its first read of the seed found, so a restored pod proves it started on restored data.
std::string app_script(const std::vector<std::string>& mounts) {
  std::string s;
  for (const auto& m : mounts)
    s += "if [ -f " + m + "/seed ]; then echo \"saw $(cat " + m + "/seed)\" > " + m + "/first-read; else " +
         "echo fresh > " + m + "/first-read; echo \"seed of " + m + " $HOSTNAME\" > " + m + "/seed; " +
         "head -c 300000 /dev/urandom > " + m + "/blob; mkdir -p " + m + "/sub/deeper; seq 1 20000 > " + m +
         "/sub/numbers; echo tiny > " + m + "/sub/deeper/tiny; fi; ";
  return s + "exec sleep 3600";
}

json app_manifests() {
  json sts = json::parse(R"({
    "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "app"},
    "spec": {"serviceName": "db", "replicas": 1, "selector": {"matchLabels": {"app": "db"}},
      "template": {"metadata": {"labels": {"app": "db"},
                                "annotations": {"backup.velero.io/backup-volumes": "data,cache"}},
        "spec": {"terminationGracePeriodSeconds": 1,
                 "containers": [{"name": "db", "image": "busybox", "command": ["/bin/sh", "-c", ""],
                   "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "cache", "mountPath": "/cache"}]}],
                 "volumes": [{"name": "cache", "emptyDir": {}}]}},
      "volumeClaimTemplates": [{"metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}})");
  sts["spec"]["template"]["spec"]["containers"][0]["command"][2] = app_script({"/data", "/cache"});
  json pvc = json::parse(R"({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
    "metadata": {"name": "web-data", "namespace": "app"},
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})");
  json deploy = json::parse(R"({
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "app"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
      "template": {"metadata": {"labels": {"app": "web"}},
        "spec": {"terminationGracePeriodSeconds": 1,
                 "containers": [{"name": "web", "image": "busybox", "command": ["/bin/sh", "-c", ""],
                   "volumeMounts": [{"name": "www", "mountPath": "/www"}, {"name": "scratch", "mountPath": "/scratch"}]}],
                 "volumes": [{"name": "www", "persistentVolumeClaim": {"claimName": "web-data"}},
                             {"name": "scratch", "emptyDir": {}}]}}}})");
  deploy["spec"]["template"]["spec"]["containers"][0]["command"][2] = app_script({"/www", "/scratch"});
  return json::array({{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "app"}}}}, sts, pvc, deploy});
}

class FsbEndToEnd : public ::testing::Test, public testsupport::VolumeCluster {
 protected:
  FsbEndToEnd() : VolumeCluster(options()) {}
  static Options options() {
    Options options;
    options.server_args = {"--fs-backup-timeout", "60s"};
    // kubelite's containers see the host's filesystem: restore-wait runs the built helper.
    options.before_server = [](VolumeCluster& cluster) {
      cluster.apply({{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                     {"metadata", {{"name", "fs-restore-action-config"}, {"namespace", "velero"},
                                   {"labels", {{"velero.io/plugin-config", ""},
                                               {"velero.io/pod-volume-restore", "RestoreItemAction"}}}}},
                     {"data", {{"command", testsupport::build_dir() + "/src/podvolume/arca-restore-helper"}}}});
    };
    return options;
  }
  std::vector<json> pods() {
    auto r = kubectl({"-n", "app", "get", "pods", "-o", "json"});
    if (r.exit_code != 0) return {};
    return json::parse(r.out)["items"].get<std::vector<json>>();
  }
  // The app's own mounts (the service-account token kubelite adds is not the app's data).
  static std::vector<std::string> app_mounts(const json& pod) {
    std::vector<std::string> out;
    for (const auto& m : pod["spec"]["containers"][0]["volumeMounts"])
      if (m["name"].get<std::string>().rfind("kube-api-access-", 0) != 0) out.push_back(m["name"]);
    return out;
  }
  bool app_running() {
    auto list = pods();
    int running = 0;
    for (const auto& p : list)
      if (p.value("/status/phase"_json_pointer, std::string()) == "Running" &&
          !p["metadata"].contains("deletionTimestamp"))
        ++running;
    return running == 2;
  }
  // Where the kubelet keeps a pod volume on the host: <kubelet-root>/<node>/pods/<uid>/volumes/<plugin>/<dir>,
  // the directory named after the volume (emptyDir) or its PV with /mount (CSI).
  std::string volume_dir(const json& pod, const std::string& volume) {
    std::string dir_name = volume;
    for (const auto& v : pod["spec"]["volumes"])
      if (v["name"] == volume && v.contains("persistentVolumeClaim")) {
        auto pvc = json::parse(ok(kubectl({"-n", "app", "get", "pvc", v["persistentVolumeClaim"]["claimName"], "-o",
                                           "json"})));
        dir_name = pvc["spec"]["volumeName"].get<std::string>() + "/mount";
      }
    fs::path pods = fs::path(dir.file("kubelet")) / pod["spec"]["nodeName"].get<std::string>() / "pods" /
                    pod["metadata"]["uid"].get<std::string>() / "volumes";
    for (const auto& plugin : fs::directory_iterator(pods))
      if (fs::exists(plugin.path() / dir_name)) return fs::canonical(plugin.path() / dir_name).string();
    throw std::runtime_error("no directory for volume " + volume + " under " + pods.string());
  }
  // Every file but the app's first-read marker and Velero's .velero.
  static std::map<std::string, std::string> files(const std::string& root) {
    return testsupport::tree(root, {".velero", "first-read"});
  }
  std::string first_read(const std::string& volume_root) {
    std::ifstream in(volume_root + "/first-read");
    std::string line;
    std::getline(in, line);
    return line;
  }
  // pod name prefix ("db-0", "web-") + volume → files
  std::map<std::string, std::map<std::string, std::string>> snapshot_app() {
    std::map<std::string, std::map<std::string, std::string>> out;
    for (const auto& p : pods()) {
      std::string app = p["metadata"]["labels"].value("app", "");
      for (const auto& volume : app_mounts(p)) {
        out[app + "/" + volume] = files(volume_dir(p, volume));
      }
    }
    return out;
  }
  std::vector<std::string> pvb_volumes(const std::string& backup, std::string* phases) {
    auto list = json::parse(ok(kubectl({"-n", "velero", "get", "podvolumebackups", "-l",
                                        "velero.io/backup-name=" + backup, "-o", "json"})));
    std::vector<std::string> out;
    for (const auto& p : list["items"]) {
      std::string pod = p["spec"]["pod"]["name"];
      out.push_back(pod.substr(0, pod.find('-')) + "/" + p["spec"]["volume"].get<std::string>());
      *phases += p.value("/status/phase"_json_pointer, std::string()) + " ";
    }
    std::sort(out.begin(), out.end());
    return out;
  }
};

TEST_F(FsbEndToEnd, BackUpDeleteRestoreEveryFileBackBeforeTheAppStarts) {
  for (const auto& m : app_manifests()) apply(m);
  ASSERT_TRUE(testsupport::eventually(
      [&] {
        if (!app_running()) return false;
        for (const auto& p : pods())
          for (const auto& v : app_mounts(p))
            if (!fs::exists(volume_dir(p, v) + "/sub/deeper/tiny")) return false;
        return true;
      },
      40s))
      << ok(kubectl({"-n", "app", "get", "pods,pvc", "-o", "wide"})) << kubectl({"-n", "app", "logs", "db-0"}).output
      << [&] {
           std::string out;
           for (const auto& p : pods())
             for (const auto& v : app_mounts(p)) {
               std::string d = volume_dir(p, v);
               out += d + ": " + testsupport::run_command({"find", d + "/"}, dir).out + "\n";
             }
           return out;
         }() << logs();
  auto before = snapshot_app();
  ASSERT_EQ(before.size(), 4u);
  for (const auto& [volume, content] : before) {
    EXPECT_EQ(content.size(), 4u) << volume;  // seed, blob, sub/numbers, sub/deeper/tiny
    EXPECT_EQ(content.at("blob").size(), 300000u) << volume;
  }

  // By annotation: only the StatefulSet's pod asks, for both its volumes.
  auto annotated = arca({"backup", "create", "annotated", "--include-namespaces", "app", "--wait"}, 90s);
  ASSERT_EQ(annotated.exit_code, 0) << annotated.output << logs();
  std::string phases;
  EXPECT_EQ(pvb_volumes("annotated", &phases), (std::vector<std::string>{"db/cache", "db/data"}));
  EXPECT_EQ(phases, "Completed Completed ");
  EXPECT_NE(ok(arca({"backup", "get", "annotated"})).find("Completed"), std::string::npos);

  // Opt-out: every volume of both pods.
  auto all = arca({"backup", "create", "all", "--include-namespaces", "app", "--default-volumes-to-fs-backup",
                   "--wait"},
                  90s);
  ASSERT_EQ(all.exit_code, 0) << all.output << logs();
  phases.clear();
  EXPECT_EQ(pvb_volumes("all", &phases),
            (std::vector<std::string>{"db/cache", "db/data", "web/scratch", "web/www"}));
  EXPECT_EQ(phases, "Completed Completed Completed Completed ");
  auto describe = ok(arca({"backup", "describe", "all", "--details"}));
  EXPECT_NE(describe.find("Phase:  Completed"), std::string::npos) << describe;
  EXPECT_NE(describe.find("Pod Volume Backups - restic:"), std::string::npos) << describe;

  ok(kubectl({"delete", "namespace", "app", "--wait=true", "--timeout=60s"}));
  auto restored = arca({"restore", "create", "back", "--from-backup", "all", "--wait"}, 120s);
  ASSERT_EQ(restored.exit_code, 0) << restored.output << logs();
  auto restore = json::parse(ok(kubectl({"-n", "velero", "get", "restore", "back", "-o", "json"})));
  EXPECT_EQ(restore["status"]["phase"], "Completed") << ok(arca({"restore", "describe", "back"})) << logs();

  ASSERT_TRUE(testsupport::eventually([&] { return app_running(); }, 40s))
      << ok(kubectl({"-n", "app", "get", "pods", "-o", "yaml"})) << logs();
  for (const auto& p : pods()) {
    // restore-wait came first and let the app start only once the data was in place.
    EXPECT_EQ(p["spec"]["initContainers"][0]["name"], "restore-wait");
    for (const auto& v : app_mounts(p)) {
      std::string root = volume_dir(p, v);
      std::string seed = before.at(p["metadata"]["labels"].value("app", "") + "/" + v).at("seed");
      // The backup holds "fresh" from the first start; the restored app replaces it on its first read.
      ASSERT_TRUE(testsupport::eventually([&] { return first_read(root).rfind("saw ", 0) == 0; }, 20s))
          << root << ": " << first_read(root);
      EXPECT_EQ(first_read(root) + "\n", "saw " + seed) << root;
      EXPECT_FALSE(fs::exists(root + "/.velero")) << "restore-wait removes the done files";
    }
  }
  auto after = snapshot_app();
  ASSERT_EQ(after.size(), before.size());
  for (const auto& [volume, content] : before) EXPECT_TRUE(after[volume] == content) << volume << " differs";
}

// Velero's backup-hooks.md: a pre hook freezes (here: writes a marker into the volume), the volume is copied, the
// post hook thaws (removes it) only after the copy (item_backupper.go waits for the pod's PodVolumeBackups). The
// snapshot is read with the real restic.
TEST_F(FsbEndToEnd, PreHookMarkerIsInTheSnapshotAndThePostHookRemovesItAfterTheUpload) {
  apply({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "hooked"}}}});
  json pod = json::parse(R"({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db", "namespace": "hooked",
    "annotations": {"backup.velero.io/backup-volumes": "data",
      "pre.hook.backup.velero.io/container": "db",
      "pre.hook.backup.velero.io/command": "[\"/bin/sh\", \"-c\", \"echo frozen > /data/marker\"]",
      "post.hook.backup.velero.io/container": "db",
      "post.hook.backup.velero.io/command":
        "[\"/bin/sh\", \"-c\", \"rm /data/marker && date -u +%Y-%m-%dT%H:%M:%SZ >> /data/thawed-at\"]"}},
    "spec": {"terminationGracePeriodSeconds": 1,
      "containers": [{"name": "db", "image": "busybox",
        "command": ["/bin/sh", "-c", "echo table > /data/table; exec sleep 3600"],
        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
      "volumes": [{"name": "data", "emptyDir": {}}]}})");
  apply(pod);
  json live;
  std::string volume;
  ASSERT_TRUE(testsupport::eventually(
      [&] {
        auto r = kubectl({"-n", "hooked", "get", "pod", "db", "-o", "json"});
        if (r.exit_code != 0) return false;
        live = json::parse(r.out);
        if (live.value("/status/phase"_json_pointer, std::string()) != "Running") return false;
        volume = volume_dir(live, "data");
        return fs::exists(volume + "/table");
      },
      40s))
      << logs();
  ASSERT_FALSE(fs::exists(volume + "/marker"));

  auto backup = arca({"backup", "create", "hooked", "--include-namespaces", "hooked", "--wait"}, 90s);
  ASSERT_EQ(backup.exit_code, 0) << backup.output << logs();
  auto status = json::parse(ok(kubectl({"-n", "velero", "get", "backup", "hooked", "-o", "json"})))["status"];
  EXPECT_EQ(status.value("phase", ""), "Completed") << status.dump();
  EXPECT_EQ(status.value("/hookStatus/hooksAttempted"_json_pointer, 0), 2) << status.dump();
  EXPECT_EQ(status.value("/hookStatus/hooksFailed"_json_pointer, 0), 0) << status.dump();

  auto pvbs = json::parse(ok(kubectl({"-n", "velero", "get", "podvolumebackups", "-l",
                                      "velero.io/backup-name=hooked", "-o", "json"})))["items"];
  ASSERT_EQ(pvbs.size(), 1u) << pvbs.dump();
  const json& pvb = pvbs[0];
  ASSERT_EQ(pvb.value("/status/phase"_json_pointer, std::string()), "Completed") << pvb.dump();

  // The snapshot, read by restic itself: the marker the pre hook wrote was there when the volume was read.
  auto secret = json::parse(ok(kubectl({"-n", "velero", "get", "secret", "velero-repo-credentials", "-o", "json"})));
  const std::string password_file = dir.file("repo-password");
  ok(testsupport::run_command({"sh", "-c", "printf %s '" + secret["data"].value("repository-password", "") +
                                               "' | base64 -d > " + password_file},
                              dir));
  auto restic = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"restic", "-r", pvb["spec"].value("repoIdentifier", ""), "--password-file",
                                     password_file, "--no-cache"};
    argv.insert(argv.end(), args.begin(), args.end());
    return ok(testsupport::run_command(argv, dir, 60s));
  };
  const std::string snapshot = pvb["status"].value("snapshotID", "");
  std::string marker_path, table_path;
  std::istringstream listing(restic({"ls", snapshot}));
  for (std::string line; std::getline(listing, line);) {
    if (line.ends_with("/marker")) marker_path = line;
    if (line.ends_with("/table")) table_path = line;
  }
  ASSERT_FALSE(marker_path.empty()) << "the pre hook's marker is not in snapshot " << snapshot;
  EXPECT_EQ(restic({"dump", snapshot, marker_path}), "frozen\n");
  EXPECT_EQ(restic({"dump", snapshot, table_path}), "table\n");

  // The post hook ran once, after the upload: the marker is gone from the live volume, and the hook's clock read
  // no earlier than the PodVolumeBackup's completion (whole seconds, both UTC RFC 3339, so they compare as text).
  EXPECT_FALSE(fs::exists(volume + "/marker"));
  std::ifstream thawed(volume + "/thawed-at");
  std::vector<std::string> runs;
  for (std::string line; std::getline(thawed, line);) runs.push_back(line);
  ASSERT_EQ(runs.size(), 1u) << "the post hook ran " << runs.size() << " times";
  const std::string completed = pvb["status"].value("completionTimestamp", "");
  ASSERT_EQ(completed.size(), runs[0].size()) << completed << " vs " << runs[0];
  EXPECT_GE(runs[0], completed) << "the post hook ran before the PodVolumeBackup completed";
  auto log = ok(arca({"backup", "logs", "hooked"}));
  EXPECT_NE(log.find("running exec hook"), std::string::npos) << log;
}

}  // namespace
