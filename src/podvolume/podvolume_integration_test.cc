// The server side of file-system backup through real processes (kubelite, `arca server`, the `arca` CLI), with a
// test double in place of the node agent: FakeNodeAgentForTests marks PodVolumeBackups/Restores Completed or Failed
// as each case asks, moving no data (the BackupRepositories are made Ready by arca server's own backup-repo
// controller). It checks what the server
// creates (Velero's PodVolumeBackup/Restore and BackupRepository objects), waits for, and reports: backup phases,
// errors naming pod and volume, the timeout, <backup>-podvolumebackups.json.gz and -volumeinfo.json.gz, describe
// --details, and the restore-wait init container of restored pods.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "kube/kube_test_support.h"
#include "persistence/backup_store.h"
#include "tests/support/cluster.h"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testsupport::Cluster;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A test double for `arca node-agent server`: it is never shipped and moves no data. `decide` says what becomes of
// a PodVolumeBackup/Restore: {"Completed", ""}, {"Failed", message}, or {"", ""} to leave it alone.
class FakeNodeAgentForTests {
 public:
  using Decision = std::pair<std::string, std::string>;
  using Decide = std::function<Decision(const json& object)>;

  FakeNodeAgentForTests(const std::string& kubeconfig, Decide decide)
      : client_(arca::kube::testing::config_from(kubeconfig)), decide_(std::move(decide)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~FakeNodeAgentForTests() {
    stop_ = true;
    thread_.join();
  }

 private:
  void loop() {
    auto pvbs = client_.discovery.lookup("velero.io", "v1", "podvolumebackups");
    auto pvrs = client_.discovery.lookup("velero.io", "v1", "podvolumerestores");
    while (!stop_) {
      try {
        for (const auto* r : {&pvbs, &pvrs})
          for_each(*r, [&](const json& o) {
            if (!o.value("/status/phase"_json_pointer, std::string()).empty() || handled_.count(uid(o))) return;
            auto [phase, message] = decide_(o);
            if (phase.empty()) return;
            handled_.insert(uid(o));
            json status = {{"phase", phase}, {"message", message},
                           {"startTimestamp", "2026-01-01T00:00:00Z"}, {"completionTimestamp", "2026-01-01T00:00:01Z"},
                           {"progress", {{"totalBytes", 4096}, {"bytesDone", 4096}}}};
            if (phase == "Completed" && r == &pvbs) status["snapshotID"] = "snap-" + o["spec"].value("volume", "");
            patch(*r, o, json{{"status", status}}.dump());
          });
      } catch (const std::exception& e) {
        // kubelite going away at the end of a test
        std::fprintf(stderr, "fake node agent: %s\n", e.what());
      }
      std::this_thread::sleep_for(50ms);
    }
  }
  static std::string uid(const json& o) { return o["metadata"].value("uid", ""); }
  void for_each(const arca::kube::ApiResource& r, const std::function<void(const json&)>& f) {
    std::vector<json> items;
    client_.dynamic.list(r, "velero", {}, [&](const arca::kube::ListItem& item) { items.push_back(item.parse()); });
    for (const auto& i : items) f(i);
  }
  // Velero's CRDs declare `subresources: {}`: status is written with the object.
  void patch(const arca::kube::ApiResource& r, const json& o, const std::string& body) {
    client_.dynamic.patch(r, "velero", o["metadata"].value("name", ""), arca::kube::PatchType::Merge, body);
  }

  arca::kube::testing::Client client_;
  Decide decide_;
  std::set<std::string> handled_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

const char* kApp = R"(
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data-claim, namespace: app}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: app}
data: {k: v}
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: app
  annotations: {backup.velero.io/backup-volumes: "data,cache,host,cfg"}
spec:
  containers:
  - name: app
    image: busybox
    command: [sleep, "3600"]
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: cache, mountPath: /cache}
    - {name: host, mountPath: /host}
    - {name: cfg, mountPath: /cfg}
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: data-claim}}
  - {name: cache, emptyDir: {}}
  - {name: host, hostPath: {path: /tmp}}
  - {name: cfg, configMap: {name: cfg}}
---
apiVersion: v1
kind: Pod
metadata: {name: idle, namespace: app}
spec:
  containers:
  - name: app
    image: busybox
    command: [sleep, "3600"]
    volumeMounts: [{name: scratch, mountPath: /scratch}]
  volumes:
  - {name: scratch, emptyDir: {}}
)";

struct FsbCluster {
  Cluster c;
  FsbCluster() {
    std::ofstream(c.dir().file("app.yaml")) << kApp;
    auto applied = c.kubectl({"apply", "-f", c.dir().file("app.yaml")});
    if (applied.exit_code != 0) throw std::runtime_error(applied.output);
    bool ready = testsupport::eventually(
        [&] {
          auto pods = c.kubectl({"-n", "app", "get", "pods", "-o", "jsonpath={.items[*].status.phase}"});
          auto pvc = c.kubectl({"-n", "app", "get", "pvc", "data-claim", "-o", "jsonpath={.status.phase}"});
          return pods.out == "Running Running" && pvc.out == "Bound";
        },
        30s);
    if (!ready) throw std::runtime_error("app did not start: " + c.kubectl({"-n", "app", "get", "pods,pvc"}).output);
    c.start_server({"--fs-backup-timeout=20s"});
  }
  std::vector<json> pvbs_of(const std::string& backup) {
    std::vector<json> out;
    for (auto& p : c.items("podvolumebackups"))
      if (p["metadata"]["labels"].value("velero.io/backup-name", "") == backup) out.push_back(p);
    std::sort(out.begin(), out.end(), [](const json& a, const json& b) {
      return a["spec"]["pod"]["name"].get<std::string>() + a["spec"]["volume"].get<std::string>() <
             b["spec"]["pod"]["name"].get<std::string>() + b["spec"]["volume"].get<std::string>();
    });
    return out;
  }
  json backup(const std::string& name) {
    for (auto& b : c.items("backups"))
      if (b["metadata"]["name"] == name) return b;
    return json();
  }
  std::string server_log() { return read_file(c.dir().file("server-0.log")); }
  std::string stored(const std::string& backup, const std::string& suffix) {
    return arca::persistence::gunzip_bytes(
        read_file(c.store_root() + "/bucket/backups/" + backup + "/" + backup + suffix), suffix);
  }
};

FakeNodeAgentForTests::Decide complete_all() {
  return [](const json&) { return FakeNodeAgentForTests::Decision{"Completed", ""}; };
}

TEST(PodVolumeBackups, OptInAndOptOutCreateVelerosObjectsAndTheBackupWaitsForThem) {
  FsbCluster f;
  FakeNodeAgentForTests agent(f.c.kubeconfig(), complete_all());
  auto created = f.c.arca({"backup", "create", "b1", "--include-namespaces", "app", "--wait"}, 90s);
  ASSERT_EQ(created.exit_code, 0) << created.output << f.server_log();
  json b1 = f.backup("b1");
  EXPECT_EQ(b1["status"]["phase"], "Completed") << b1.dump(2);

  // Opt-in: only the annotated volumes Velero may copy (hostPath and configMap are skipped).
  auto pvbs = f.pvbs_of("b1");
  ASSERT_EQ(pvbs.size(), 2u);
  const json& cache = pvbs[0];
  const json& data = pvbs[1];
  EXPECT_EQ(cache["spec"]["volume"], "cache");
  EXPECT_EQ(data["spec"]["volume"], "data");
  EXPECT_EQ(data["metadata"]["generateName"], "b1-");
  EXPECT_EQ(data["metadata"]["ownerReferences"][0]["kind"], "Backup");
  EXPECT_EQ(data["metadata"]["ownerReferences"][0]["uid"], b1["metadata"]["uid"]);
  EXPECT_EQ(data["metadata"]["labels"]["velero.io/backup-uid"], b1["metadata"]["uid"]);
  EXPECT_EQ(data["metadata"]["annotations"]["velero.io/pvc-name"], "data-claim");
  EXPECT_FALSE(data["metadata"]["labels"].value("velero.io/pvc-uid", "").empty());
  EXPECT_FALSE(cache["metadata"].contains("annotations"));
  EXPECT_EQ(data["spec"]["pod"]["name"], "web");
  EXPECT_EQ(data["spec"]["pod"]["kind"], "Pod");
  EXPECT_FALSE(data["spec"]["node"].get<std::string>().empty());
  EXPECT_EQ(data["spec"]["backupStorageLocation"], "default");
  EXPECT_EQ(data["spec"]["repoIdentifier"], f.c.items("backuprepositories").at(0)["spec"]["resticIdentifier"]);
  EXPECT_NE(data["spec"]["repoIdentifier"].get<std::string>().find("/bucket/restic/app"), std::string::npos);
  EXPECT_EQ(data["spec"]["uploaderType"], "restic");
  EXPECT_EQ(data["spec"]["tags"]["ns"], "app");
  EXPECT_EQ(data["spec"]["tags"]["backup"], "b1");
  EXPECT_EQ(data["spec"]["tags"]["volume"], "data");

  // One BackupRepository for (app, default, restic), with Velero's labels and name.
  auto repos = f.c.items("backuprepositories");
  ASSERT_EQ(repos.size(), 1u);
  EXPECT_EQ(repos[0]["metadata"]["name"].get<std::string>().rfind("app-default-restic-", 0), 0u);
  EXPECT_EQ(repos[0]["metadata"]["labels"]["velero.io/volume-namespace"], "app");
  EXPECT_EQ(repos[0]["spec"]["repositoryType"], "restic");

  // The stored lists: the PodVolumeBackups as completed, and their volume information.
  json stored = json::parse(f.stored("b1", "-podvolumebackups.json.gz"));
  ASSERT_EQ(stored.size(), 2u);
  std::set<std::string> snapshots;
  for (const auto& p : stored) snapshots.insert(p["status"]["snapshotID"].get<std::string>());
  EXPECT_EQ(snapshots, (std::set<std::string>{"snap-cache", "snap-data"}));
  json infos = json::parse(f.stored("b1", "-volumeinfo.json.gz"));
  ASSERT_EQ(infos.size(), 2u) << infos.dump(2);
  for (const auto& i : infos) {
    EXPECT_EQ(i["backupMethod"], "PodVolumeBackup");
    EXPECT_EQ(i["pvbInfo"]["podName"], "web");
    if (i["pvbInfo"]["volumeName"] == "data") {
      EXPECT_EQ(i["pvcName"], "data-claim");
      EXPECT_EQ(i["pvbInfo"]["snapshotHandle"], "snap-data");
      EXPECT_FALSE(i.value("pvName", "").empty());
      EXPECT_TRUE(i.contains("pvInfo"));
    }
  }

  auto logs = f.c.arca({"backup", "logs", "b1"});
  EXPECT_NE(logs.output.find("Perform fs-backup action for volume data of pod app/web due to opt-in/out way"),
            std::string::npos) << logs.output;
  EXPECT_NE(logs.output.find("skip fs-backup action for pod app/web's volume host, due to not pass volume check."),
            std::string::npos);
  EXPECT_NE(logs.output.find("completed: snapshot snap-data"), std::string::npos) << logs.output;

  auto describe = f.c.arca({"backup", "describe", "b1", "--details"});
  EXPECT_NE(describe.output.find("Pod Volume Backups - restic:"), std::string::npos) << describe.output;
  EXPECT_NE(describe.output.find("Completed:\n      app/web: cache, data"), std::string::npos) << describe.output;

  // Opt-out: every volume Velero may copy, the PVC once, the excluded kinds never.
  created = f.c.arca({"backup", "create", "b2", "--include-namespaces", "app", "--default-volumes-to-fs-backup",
                      "--wait"},
                     90s);
  ASSERT_EQ(created.exit_code, 0) << created.output;
  EXPECT_EQ(f.backup("b2")["status"]["phase"], "Completed");
  std::vector<std::string> volumes;
  for (const auto& p : f.pvbs_of("b2"))
    volumes.push_back(p["spec"]["pod"]["name"].get<std::string>() + "/" + p["spec"]["volume"].get<std::string>());
  EXPECT_EQ(volumes, (std::vector<std::string>{"idle/scratch", "web/cache", "web/data"}));
  EXPECT_EQ(f.c.items("backuprepositories").size(), 1u);  // reused
}

TEST(PodVolumeBackups, FailedAndUnfinishedVolumesMakeTheBackupPartiallyFailedNamingThem) {
  FsbCluster f;
  FakeNodeAgentForTests agent(f.c.kubeconfig(), [](const json& pvb) -> FakeNodeAgentForTests::Decision {
    std::string backup = pvb["metadata"]["labels"].value("velero.io/backup-name", "");
    std::string volume = pvb["spec"].value("volume", "");
    if (backup == "slow") return {"", ""};  // its node agent never answers
    if (volume == "cache") return {"Failed", "error running restic backup: disk full"};
    return {"Completed", ""};
  });
  auto created = f.c.arca({"backup", "create", "broken", "--include-namespaces", "app", "--wait"}, 90s);
  ASSERT_EQ(created.exit_code, 0) << created.output;
  json broken = f.backup("broken");
  EXPECT_EQ(broken["status"]["phase"], "PartiallyFailed");
  EXPECT_EQ(broken["status"]["errors"], 1);
  auto logs = f.c.arca({"backup", "logs", "broken"});
  EXPECT_NE(logs.output.find("pod volume backup failed: volume cache of pod app/web: error running restic backup: "
                             "disk full"),
            std::string::npos)
      << logs.output;

  // velero.io/pod-volume-timeout on the Backup overrides the server's --fs-backup-timeout.
  std::ofstream(f.c.dir().file("slow.yaml")) << R"(
apiVersion: velero.io/v1
kind: Backup
metadata:
  name: slow
  namespace: velero
  annotations: {velero.io/pod-volume-timeout: 2s}
spec:
  includedNamespaces: [app]
)";
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(f.c.kubectl({"apply", "-f", f.c.dir().file("slow.yaml")}).exit_code, 0);
  ASSERT_TRUE(testsupport::eventually(
      [&] {
        std::string phase = f.backup("slow").value("/status/phase"_json_pointer, std::string());
        return phase == "PartiallyFailed" || phase == "Completed" || phase == "Failed";
      },
      30s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);  // not the server's 20 s
  EXPECT_EQ(f.backup("slow")["status"]["phase"], "PartiallyFailed");
  logs = f.c.arca({"backup", "logs", "slow"});
  EXPECT_NE(logs.output.find("timed out waiting for all PodVolumeBackups to complete"), std::string::npos);
  EXPECT_NE(logs.output.find("of volume data of pod app/web did not finish within the fs-backup timeout"),
            std::string::npos)
      << logs.output;
  auto pvbs = f.pvbs_of("slow");
  ASSERT_EQ(pvbs.size(), 2u);
  for (const auto& p : pvbs) EXPECT_EQ(p["spec"].value("cancel", false), true) << p.dump(2);
}

TEST(PodVolumeRestores, RestoredPodsGetRestoreWaitAndOneRestorePerVolume) {
  FsbCluster f;
  FakeNodeAgentForTests agent(f.c.kubeconfig(), [](const json& o) -> FakeNodeAgentForTests::Decision {
    if (o["kind"] == "PodVolumeRestore" && o["metadata"]["labels"].value("velero.io/restore-name", "") == "gone" &&
        o["spec"].value("volume", "") == "cache")
      return {"Failed", "error to initialize data path: repository not found"};
    return {"Completed", ""};
  });
  ASSERT_EQ(f.c.arca({"backup", "create", "b1", "--include-namespaces", "app", "--wait"}, 90s).exit_code, 0);
  // The init container's command is configured as Velero's fs-restore-action-config allows.
  std::ofstream(f.c.dir().file("cm.yaml")) << R"(
apiVersion: v1
kind: ConfigMap
metadata:
  name: fs-restore-action-config
  namespace: velero
  labels: {velero.io/plugin-config: "", velero.io/pod-volume-restore: RestoreItemAction}
data:
  image: example.com/restore-helper
  command: /opt/helper
  cpuRequest: 200m
  cpuLimit: 500m
)";
  ASSERT_EQ(f.c.kubectl({"apply", "-f", f.c.dir().file("cm.yaml")}).exit_code, 0);

  for (const char* restore : {"r1", "gone"}) {
    ASSERT_EQ(f.c.kubectl({"delete", "namespace", "app", "--wait=true", "--timeout=60s"}).exit_code, 0);
    auto restored = f.c.arca({"restore", "create", restore, "--from-backup", "b1", "--wait"}, 90s);
    ASSERT_EQ(restored.exit_code, 0) << restored.output;
    json r;
    for (auto& item : f.c.items("restores"))
      if (item["metadata"]["name"] == restore) r = item;
    const std::string uid = r["metadata"]["uid"];
    auto pod = json::parse(f.c.kubectl({"-n", "app", "get", "pod", "web", "-o", "json"}).out);
    const json& init = pod["spec"]["initContainers"][0];
    EXPECT_EQ(init["name"], "restore-wait");
    EXPECT_EQ(init["args"], json::array({uid}));
    EXPECT_EQ(init["command"], json::array({"/opt/helper"})) << f.c.arca({"restore", "logs", restore}).output;
    EXPECT_EQ(init["image"].get<std::string>().rfind("example.com/restore-helper:v", 0), 0u) << init.dump();
    EXPECT_EQ(init["resources"]["requests"]["cpu"], "200m");
    EXPECT_EQ(init["resources"]["limits"]["cpu"], "500m");
    EXPECT_EQ(init["resources"]["limits"]["memory"], "128Mi");  // Velero's default
    EXPECT_EQ(init["volumeMounts"], json::parse(R"([{"name":"cache","mountPath":"/restores/cache"},
                                                     {"name":"data","mountPath":"/restores/data"}])"));
    EXPECT_EQ(init["env"][0]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.namespace");
    // The idle pod had no volume backed up: untouched.
    auto idle = json::parse(f.c.kubectl({"-n", "app", "get", "pod", "idle", "-o", "json"}).out);
    EXPECT_FALSE(idle["spec"].contains("initContainers"));

    std::vector<json> pvrs;
    for (auto& p : f.c.items("podvolumerestores"))
      if (p["metadata"]["labels"].value("velero.io/restore-uid", "") == uid) pvrs.push_back(p);
    ASSERT_EQ(pvrs.size(), 2u);
    for (const auto& p : pvrs) {
      EXPECT_EQ(p["spec"]["pod"]["uid"], pod["metadata"]["uid"]);
      EXPECT_EQ(p["spec"]["snapshotID"], "snap-" + p["spec"]["volume"].get<std::string>());
      EXPECT_EQ(p["spec"]["sourceNamespace"], "app");
      EXPECT_NE(p["spec"]["repoIdentifier"].get<std::string>().find("/bucket/restic/app"), std::string::npos);
      EXPECT_EQ(p["metadata"]["ownerReferences"][0]["name"], restore);
    }
    if (std::string(restore) == "r1") {
      EXPECT_EQ(r["status"]["phase"], "Completed") << r.dump(2);
    } else {
      // The volume whose repository is gone fails alone, named; the other one was restored.
      EXPECT_EQ(r["status"]["phase"], "PartiallyFailed");
      EXPECT_EQ(r["status"]["errors"], 1);
      auto describe = f.c.arca({"restore", "describe", restore});
      EXPECT_NE(describe.output.find("pod volume restore failed for volume cache of pod app/web"), std::string::npos)
          << describe.output;
      EXPECT_NE(describe.output.find("repository not found"), std::string::npos);
    }
  }
}

}  // namespace
