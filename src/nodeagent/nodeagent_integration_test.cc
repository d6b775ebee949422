// The node agent against a real cluster: kubelite with two nodes running real pod processes, `arca server` (for
// its backup-repo controller and the backup deletion), and one `arca node-agent server` per node. The
// PodVolumeBackups/Restores are created by hand, as Velero's server creates them; Debian's `restic` then reads
// what the agents wrote, with the password from Secret velero-repo-credentials.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <nlohmann/json.hpp>

#include "tests/support/process.h"
#include "tests/support/volume_cluster.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using testsupport::ChildProcess;
using testsupport::CommandResult;
using testsupport::TempDir;

const std::vector<std::string>& kNodes = testsupport::VolumeCluster::kNodes;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Every regular file under `root` (relative path → content), .velero left out.
std::map<std::string, std::string> tree(const std::string& root) { return testsupport::tree(root, {".velero"}); }

class NodeAgentTest : public ::testing::Test {
 protected:
  // The cluster is the suite's: starting it costs seconds, and each test works in its own pods and backups.
  static inline testsupport::VolumeCluster* cluster = nullptr;
  static inline TempDir* dir = nullptr;
  static inline testsupport::Kubelite* kubelite = nullptr;
  static inline ChildProcess* server = nullptr;
  static inline std::map<std::string, std::unique_ptr<ChildProcess>>* agents = nullptr;

  static void SetUpTestSuite() {
    cluster = new testsupport::VolumeCluster();
    dir = &cluster->dir;
    kubelite = cluster->kubelite.get();
    server = cluster->server.get();
    agents = &cluster->agents;
    ok(kubectl({"create", "namespace", "app"}));
  }

  static void TearDownTestSuite() { delete cluster; }

  static void start_agent(const std::string& node, const std::vector<std::string>& extra = {}) {
    cluster->start_agent(node, extra);
  }
  static CommandResult kubectl(const std::vector<std::string>& args) { return cluster->kubectl(args); }
  static CommandResult arca(const std::vector<std::string>& args) { return cluster->arca(args); }
  static std::string ok(const CommandResult& r) { return testsupport::VolumeCluster::ok(r); }
  static void apply(const json& object) { cluster->apply(object); }
  static json get(const std::string& resource, const std::string& ns, const std::string& name) {
    auto r = ns.empty() ? kubectl({"get", resource, name, "-o", "json"})
                        : kubectl({"-n", ns, "get", resource, name, "-o", "json"});
    return r.exit_code == 0 ? json::parse(r.out) : json();
  }
  static std::string logs() {
    std::string out = "--- server\n" + server->log();
    for (const auto& [node, agent] : *agents) out += "--- agent " + node + "\n" + agent->log();
    return out;
  }

  // A pod pinned to `node` whose container runs `script` with its volumes under /v/<name>; `claim` adds volume
  // "data" on that PVC; `init` adds Velero's restore-wait init container running `init`.
  static void create_pod(const std::string& name, const std::string& node, const std::string& script,
                         const std::string& claim = "", const std::string& init = "") {
    json volumes = json::array({{{"name", "scratch"}, {"emptyDir", json::object()}}});
    json mounts = json::array({{{"name", "scratch"}, {"mountPath", "/v/scratch"}}});
    if (!claim.empty()) {
      volumes.push_back({{"name", "data"}, {"persistentVolumeClaim", {{"claimName", claim}}}});
      mounts.push_back({{"name", "data"}, {"mountPath", "/v/data"}});
    }
    json spec = {{"nodeName", node},
                 {"restartPolicy", "Never"},
                 {"volumes", volumes},
                 {"containers", {{{"name", "app"}, {"image", "busybox"}, {"command", {"sh", "-c", script}},
                                  {"volumeMounts", mounts}}}}};
    if (!init.empty())
      spec["initContainers"] = {{{"name", "restore-wait"}, {"image", "busybox"}, {"command", {"sh", "-c", init}},
                                 {"volumeMounts", mounts}}};
    apply({{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", name}, {"namespace", "app"}}}, {"spec", spec}});
  }
  static std::string kubelet_root(const std::string& node) {
    return get("node", "", node)["metadata"]["annotations"].value("kubelite.dev/kubelet-root", "");
  }
  // The directory holding a pod volume's data on its node (a CSI mount resolved).
  static std::string volume_dir(const json& pod, const std::string& volume) {
    std::string base = kubelet_root(pod["spec"]["nodeName"]) + "/pods/" + pod["metadata"].value("uid", "") + "/volumes";
    if (volume == "scratch") return base + "/kubernetes.io~empty-dir/scratch";
    std::string pv = get("pvc", "app", "data")["spec"].value("volumeName", "");
    return fs::canonical(base + "/kubernetes.io~csi/" + pv + "/mount").string();
  }
  static json wait_pod_file(const std::string& name, const std::string& volume, const std::string& file) {
    json pod;
    bool ready = testsupport::eventually(
        [&] {
          pod = get("pod", "app", name);
          if (pod.is_null() || pod["spec"].value("nodeName", "").empty() || pod["metadata"].value("uid", "").empty())
            return false;
          std::error_code ec;
          return fs::exists(volume_dir(pod, volume) + "/" + file, ec);
        },
        60s);
    if (!ready) throw std::runtime_error("pod " + name + " did not write " + volume + "/" + file);
    return pod;
  }

  static json pvb(const std::string& name, const json& pod, const std::string& volume, const std::string& backup,
                  const std::string& uploader = "restic") {
    std::string pod_name = pod["metadata"]["name"], uid = pod["metadata"]["uid"];
    return {{"apiVersion", "velero.io/v1"},
            {"kind", "PodVolumeBackup"},
            {"metadata",
             {{"name", name},
              {"namespace", "velero"},
              {"labels", {{"velero.io/backup-name", backup}, {"velero.io/backup-uid", backup + "-uid"}}}}},
            {"spec",
             {{"node", pod["spec"]["nodeName"]},
              {"pod", {{"kind", "Pod"}, {"namespace", "app"}, {"name", pod_name}, {"uid", uid}}},
              {"volume", volume},
              {"backupStorageLocation", "default"},
              {"repoIdentifier", dir->file("store") + "/bucket/restic/app"},
              {"uploaderType", uploader},
              {"tags",
               {{"backup", backup}, {"backup-uid", backup + "-uid"}, {"ns", "app"}, {"pod", pod_name},
                {"pod-uid", uid}, {"volume", volume}}}}}};
  }
  // A PodVolumeRestore of volume "scratch" into `pod` as Velero's server creates one for Restore `restore`.
  static json pvr(const std::string& name, const json& pod, const std::string& restore, const std::string& restore_uid,
                  const std::string& snapshot_id) {
    return {{"apiVersion", "velero.io/v1"},
            {"kind", "PodVolumeRestore"},
            {"metadata",
             {{"name", name},
              {"namespace", "velero"},
              {"labels", {{"velero.io/restore-name", restore}, {"velero.io/pod-uid", pod["metadata"]["uid"]}}},
              {"ownerReferences",
               {{{"apiVersion", "velero.io/v1"}, {"kind", "Restore"}, {"name", restore}, {"uid", restore_uid},
                 {"controller", true}}}}}},
            {"spec",
             {{"pod",
               {{"kind", "Pod"}, {"namespace", "app"}, {"name", pod["metadata"]["name"]}, {"uid", pod["metadata"]["uid"]}}},
              {"volume", "scratch"},
              {"backupStorageLocation", "default"},
              {"repoIdentifier", repo_path()},
              {"uploaderType", "restic"},
              {"snapshotID", snapshot_id},
              {"sourceNamespace", "app"}}}};
  }
  // A Backup object as Velero's server leaves one (Completed), so that maintenance keeps its snapshots.
  static void completed_backup(const std::string& name) {
    apply({{"apiVersion", "velero.io/v1"},
           {"kind", "Backup"},
           {"metadata", {{"name", name}, {"namespace", "velero"}}},
           {"spec", {{"storageLocation", "default"}, {"includedNamespaces", {"app"}}}},
           {"status", {{"phase", "Completed"}}}});
  }
  static json wait_phase(const std::string& resource, const std::string& name,
                         const std::vector<std::string>& phases, std::chrono::seconds timeout = 60s) {
    json object;
    bool done = testsupport::eventually(
        [&] {
          object = get(resource, "velero", name);
          if (object.is_null()) return false;
          std::string phase = object.value("status", json::object()).value("phase", "");
          return std::find(phases.begin(), phases.end(), phase) != phases.end();
        },
        timeout);
    if (!done) throw std::runtime_error(resource + " " + name + " never reached the phase: " + object.dump() + "\n" + logs());
    return object;
  }
  static size_t data_packs() {
    size_t n = 0;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(repo_path() + "/data", ec), end; !ec && it != end; it.increment(ec))
      n += it->is_regular_file(ec);
    return n;
  }
  // Waits until the PodVolumeBackup `name` has uploaded some of its data, and not all of it: its progress says
  // so, or the repository holds packs it did not hold before (`packs_before`; the engine stores packs well before
  // its first progress report, about a second in, and a fast engine finishes 256 MiB in about that).
  static json wait_uploading(const std::string& name, size_t packs_before) {
    json p;
    bool uploading = testsupport::eventually([&] {
      p = get("podvolumebackups.velero.io", "velero", name);
      if (p.is_null()) return false;
      const auto& status = p.value("status", json::object());
      if (status.value("phase", "") == "Completed") throw std::runtime_error(name + " finished before it was stopped");
      return status.value("phase", "") == "InProgress" &&
             (status.value("progress", json::object()).value("bytesDone", 0) > 0 || data_packs() > packs_before);
    }, 60s, 10ms);
    if (!uploading) throw std::runtime_error(name + " never uploaded: " + p.dump() + "\n" + logs());
    return p;
  }

  static std::string password_file() {
    auto secret = get("secret", "velero", "velero-repo-credentials");
    std::string file = dir->file("repo-password");
    auto r = testsupport::run_command(
        {"sh", "-c", "printf %s '" + secret["data"].value("repository-password", "") + "' | base64 -d > " + file}, *dir);
    ok(r);
    return file;
  }
  static std::string repo_path() { return dir->file("store") + "/bucket/restic/app"; }
  static CommandResult restic(std::vector<std::string> args) {
    std::vector<std::string> argv = {"restic", "-r", repo_path(), "--password-file", password_file(), "--no-cache"};
    argv.insert(argv.end(), args.begin(), args.end());
    return testsupport::run_command(argv, *dir, 120s);
  }
};

// One pod on each node, an emptyDir and a CSI-provisioned claim: each node's agent backs up its own pod's
// volumes; restic lists the snapshots with Velero's tags and restores them byte for byte.
TEST_F(NodeAgentTest, BacksUpVolumesOnEachNodeAndResticReadsThem) {
  apply({{"apiVersion", "v1"},
         {"kind", "PersistentVolumeClaim"},
         {"metadata", {{"name", "data"}, {"namespace", "app"}}},
         {"spec", {{"accessModes", {"ReadWriteOnce"}}, {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}});
  create_pod("writer", kNodes[0],
             "mkdir -p /v/scratch/sub && echo hello > /v/scratch/a.txt && head -c 3000000 /dev/urandom > "
             "/v/data/big.bin && printf 'x%.0s' $(seq 1 5000) > /v/scratch/sub/x && ln -s a.txt /v/scratch/link && "
             "touch /v/data/ready /v/scratch/ready && sleep 3600",
             "data");
  create_pod("other", kNodes[1], "echo second node > /v/scratch/b.txt && touch /v/scratch/ready && sleep 3600");
  json writer = wait_pod_file("writer", "data", "ready");
  wait_pod_file("writer", "scratch", "ready");
  json other = wait_pod_file("other", "scratch", "ready");
  completed_backup("b1");

  apply(pvb("b1-writer-data", writer, "data", "b1"));
  apply(pvb("b1-writer-scratch", writer, "scratch", "b1"));
  apply(pvb("b1-other-scratch", other, "scratch", "b1"));
  std::map<std::string, std::pair<json, std::string>> done;  // name → (PVB, volume directory)
  for (const auto& [name, pod, volume] : {std::tuple{"b1-writer-data", writer, "data"},
                                          std::tuple{"b1-writer-scratch", writer, "scratch"},
                                          std::tuple{"b1-other-scratch", other, "scratch"}}) {
    json p = wait_phase("podvolumebackups", name, {"Completed", "Failed"});
    ASSERT_EQ(p["status"].value("phase", ""), "Completed") << p.dump() << logs();
    EXPECT_EQ(p["status"].value("snapshotID", "").size(), 64u);
    EXPECT_NE(p["status"].value("path", "").find("/pods/" + pod["metadata"].value("uid", "") + "/volumes/"),
              std::string::npos)
        << p.dump();
    EXPECT_TRUE(p["status"].contains("startTimestamp") && p["status"].contains("completionTimestamp")) << p.dump();
    EXPECT_TRUE(p["status"].contains("acceptedTimestamp")) << p.dump();
    done[name] = {p, volume_dir(pod, volume)};
  }
  auto progress = done["b1-writer-data"].first["status"]["progress"];
  EXPECT_GE(progress.value("totalBytes", 0), 3000000) << progress.dump();
  EXPECT_EQ(progress.value("bytesDone", 0), progress.value("totalBytes", -1)) << progress.dump();

  // The repository of namespace app: a BackupRepository made Ready by the server, at Velero's identifier.
  bool ready = testsupport::eventually([&] {
    auto list = json::parse(ok(kubectl({"-n", "velero", "get", "backuprepositories.velero.io", "-o", "json"})));
    return list["items"].size() == 1 && list["items"][0]["status"].value("phase", "") == "Ready";
  }, 10s);
  ASSERT_TRUE(ready) << logs();
  auto repos = json::parse(ok(kubectl({"-n", "velero", "get", "backuprepositories.velero.io", "-o", "json"})));
  EXPECT_EQ(repos["items"][0]["spec"].value("resticIdentifier", ""), repo_path());
  EXPECT_EQ(repos["items"][0]["metadata"]["labels"].value("velero.io/volume-namespace", ""), "app");
  EXPECT_EQ(repos["items"][0]["spec"].value("repositoryType", ""), "restic");
  auto listed = arca({"repo", "get"});
  EXPECT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_NE(listed.out.find(repos["items"][0]["metadata"].value("name", "") + "   Ready"), std::string::npos) << listed.out;

  // Debian's restic: the snapshots with Velero's tags, host "velero", restored byte for byte.
  auto snapshots = json::parse(ok(restic({"snapshots", "--json"})));
  ASSERT_EQ(snapshots.size(), 3u) << snapshots.dump();
  for (const auto& [name, entry] : done) {
    const auto& [p, volume_path] = entry;
    std::string id = p["status"]["snapshotID"];
    auto snap = std::find_if(snapshots.begin(), snapshots.end(), [&](const json& s) { return s["id"] == id; });
    ASSERT_NE(snap, snapshots.end()) << name;
    EXPECT_EQ((*snap)["hostname"], "velero");
    auto tags = (*snap)["tags"].get<std::vector<std::string>>();
    for (const auto& [k, v] : p["spec"]["tags"].items())
      EXPECT_NE(std::find(tags.begin(), tags.end(), k + "=" + v.get<std::string>()), tags.end()) << k << " " << (*snap).dump();
    std::string out = dir->file("restic-out-" + name);
    ok(restic({"restore", id, "--target", out}));
    auto want = tree(volume_path), got = tree(out);
    EXPECT_FALSE(want.empty());
    EXPECT_EQ(got, want) << name;
    if (std::string(name) == "b1-writer-scratch") {
      EXPECT_EQ(fs::read_symlink(out + "/link"), "a.txt");
      EXPECT_EQ(got["a.txt"], "hello\n");
    }
  }
  EXPECT_EQ(restic({"check", "--read-data"}).exit_code, 0);
}

// Velero 1.19's backupType: a PodVolumeBackup of a Backup whose spec says Full reads every file again (restic's
// --force), where an incremental one finds the volume unchanged since its parent and reads nothing.
TEST_F(NodeAgentTest, AFullBackupTypeRereadsUnchangedFiles) {
  json writer = get("pod", "app", "writer");
  ASSERT_FALSE(writer.is_null()) << "runs after BacksUpVolumesOnEachNodeAndResticReadsThem";
  auto bytes_read = [&](const std::string& pvb_name) {
    const std::string log = (*agents)[kNodes[0]]->log();
    auto at = log.find("PodVolumeBackup " + pvb_name + " Completed: snapshot ");
    if (at == std::string::npos) return std::string("missing");
    auto open = log.find('(', at), space = log.find(' ', open);
    return log.substr(open + 1, space - open - 1);
  };
  for (const auto& [backup, type] : {std::pair{"b-incr", ""}, std::pair{"b-full", "Full"}}) {
    apply({{"apiVersion", "velero.io/v1"}, {"kind", "Backup"}, {"metadata", {{"name", backup}, {"namespace", "velero"}}},
           {"spec", {{"storageLocation", "default"}, {"includedNamespaces", {"app"}}, {"backupType", type}}},
           {"status", {{"phase", "Completed"}}}});
    apply(pvb(std::string(backup) + "-writer-data", writer, "data", backup));
    json p = wait_phase("podvolumebackups", std::string(backup) + "-writer-data", {"Completed", "Failed"});
    ASSERT_EQ(p["status"].value("phase", ""), "Completed") << p.dump() << logs();
  }
  EXPECT_EQ(bytes_read("b-incr-writer-data"), "0") << logs();
  std::string full = bytes_read("b-full-writer-data");
  ASSERT_TRUE(!full.empty() && std::all_of(full.begin(), full.end(), ::isdigit)) << full << logs();
  EXPECT_GE(std::stoll(full), 3000000) << logs();
}

// A fresh pod whose restore-wait init container waits for the done file: the agent of the pod's node (not the
// node that backed the data up) restores the snapshot into the pod's volume, writes .velero/<restore-uid>, and the
// app container's first read sees the restored file.
TEST_F(NodeAgentTest, RestoresIntoAFreshPodAndWritesTheDoneFile) {
  auto source = get("podvolumebackups.velero.io", "velero", "b1-writer-scratch");
  if (source.is_null() || source["status"].value("phase", "") != "Completed") {
    create_pod("writer2", kNodes[0], "echo hello > /v/scratch/a.txt && touch /v/scratch/ready && sleep 3600");
    completed_backup("b1");
    apply(pvb("b1-writer-scratch", wait_pod_file("writer2", "scratch", "ready"), "scratch", "b1"));
    source = wait_phase("podvolumebackups", "b1-writer-scratch", {"Completed"});
  }
  apply({{"apiVersion", "velero.io/v1"},
         {"kind", "Restore"},
         {"metadata", {{"name", "r1"}, {"namespace", "velero"}}},
         {"spec", {{"backupName", "b1"}}},
         {"status", {{"phase", "InProgress"}}}});
  std::string restore_uid = get("restores.velero.io", "velero", "r1")["metadata"]["uid"];
  ASSERT_FALSE(restore_uid.empty());
  create_pod("restored", kNodes[1], "cat /v/scratch/a.txt > /v/scratch/seen-by-app && sleep 3600", "",
             "while [ ! -f /v/scratch/.velero/" + restore_uid + " ]; do sleep 0.1; done");
  json pod;
  ASSERT_TRUE(testsupport::eventually([&] {
    pod = get("pod", "app", "restored");
    return !pod.is_null() && !pod["metadata"].value("uid", "").empty();
  }, 30s));
  apply(pvr("r1-restored-scratch", pod, "r1", restore_uid, source["status"]["snapshotID"]));
  json result = wait_phase("podvolumerestores", "r1-restored-scratch", {"Completed", "Failed"});
  ASSERT_EQ(result["status"].value("phase", ""), "Completed") << result.dump() << logs();
  EXPECT_EQ(result["status"].value("node", ""), kNodes[1]);
  EXPECT_GT(result["status"]["progress"].value("bytesDone", 0), 0) << result.dump();
  std::string volume = volume_dir(pod, "scratch");
  EXPECT_TRUE(fs::is_regular_file(volume + "/.velero/" + restore_uid));
  EXPECT_EQ(fs::file_size(volume + "/.velero/" + restore_uid), 0u);
  // The shell creates the file before cat fills it: wait for the content, not the name.
  ASSERT_TRUE(testsupport::eventually(
      [&] { return fs::exists(volume + "/seen-by-app") && slurp(volume + "/seen-by-app") == "hello\n"; }, 30s))
      << logs() << (fs::exists(volume + "/seen-by-app") ? slurp(volume + "/seen-by-app") : "(no file)");
  auto restored = tree(volume);
  restored.erase("seen-by-app");
  std::string out = dir->file("restic-restore-check");
  ok(restic({"restore", source["status"]["snapshotID"], "--target", out}));
  EXPECT_EQ(restored, tree(out));
}

TEST_F(NodeAgentTest, KopiaObjectsFailNamingKopia) {
  create_pod("kopia-pod", kNodes[0], "touch /v/scratch/ready && sleep 3600");
  json pod = wait_pod_file("kopia-pod", "scratch", "ready");
  apply(pvb("kopia-pvb", pod, "scratch", "b-kopia", "kopia"));
  json p = wait_phase("podvolumebackups", "kopia-pvb", {"Completed", "Failed"});
  EXPECT_EQ(p["status"].value("phase", ""), "Failed");
  EXPECT_NE(p["status"].value("message", "").find("kopia"), std::string::npos) << p.dump();
  EXPECT_NE(p["status"].value("message", "").find("restic"), std::string::npos) << p.dump();
  // Canceled before it started (Velero's spec.cancel): never transferred.
  json canceled = pvb("canceled-pvb", pod, "scratch", "b-cancel");
  canceled["spec"]["cancel"] = true;
  apply(canceled);
  p = wait_phase("podvolumebackups", "canceled-pvb", {"Canceled", "Completed", "Failed"});
  EXPECT_EQ(p["status"].value("phase", ""), "Canceled");
  EXPECT_FALSE(p["status"].contains("snapshotID"));
}

// A restore whose repository cannot be reached (its storage location is gone) fails that volume, saying why.
TEST_F(NodeAgentTest, RestoreFromAMissingLocationFailsNamingIt) {
  create_pod("lost", kNodes[1], "sleep 3600");
  json pod;
  ASSERT_TRUE(testsupport::eventually([&] {
    pod = get("pod", "app", "lost");
    return !pod.is_null() && !pod["metadata"].value("uid", "").empty() && pod["status"].value("phase", "") == "Running";
  }, 30s));
  apply({{"apiVersion", "velero.io/v1"},
         {"kind", "PodVolumeRestore"},
         {"metadata", {{"name", "lost-scratch"}, {"namespace", "velero"}}},
         {"spec",
          {{"pod", {{"kind", "Pod"}, {"namespace", "app"}, {"name", "lost"}, {"uid", pod["metadata"]["uid"]}}},
           {"volume", "scratch"},
           {"backupStorageLocation", "gone"},
           {"uploaderType", "restic"},
           {"snapshotID", "0123456789abcdef"},
           {"sourceNamespace", "app"}}}});
  json result = wait_phase("podvolumerestores", "lost-scratch", {"Completed", "Failed"});
  EXPECT_EQ(result["status"].value("phase", ""), "Failed");
  std::string message = result["status"].value("message", "");
  EXPECT_NE(message.find("backupstoragelocation gone not found"), std::string::npos) << message;
  EXPECT_NE(message.find("volume scratch of pod app/lost"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(volume_dir(pod, "scratch") + "/.velero"));
}


// kill -9 of the node agent while it uploads: the PodVolumeBackup stays InProgress until the agent of that node
// starts again and marks it Failed as Velero's does; the repository stays valid for restic (only whole packs are
// written, the killed process's lock is stale) and the next backup of the volume completes.
TEST_F(NodeAgentTest, KilledMidUploadFailsOnRestartAndTheRepositoryStaysValid) {
  create_pod("big", kNodes[0], "head -c 268435456 /dev/urandom > /v/scratch/big.bin && touch /v/scratch/ready && sleep 3600");
  json pod = wait_pod_file("big", "scratch", "ready");
  completed_backup("b2");
  completed_backup("b3");
  size_t packs = data_packs();
  apply(pvb("b2-big", pod, "scratch", "b2"));
  json p = wait_uploading("b2-big", packs);
  auto& agent = *(*agents)[kNodes[0]];
  agent.signal(SIGKILL);
  ASSERT_NE(agent.wait(10s), -1);
  p = get("podvolumebackups.velero.io", "velero", "b2-big");
  EXPECT_EQ(p["status"].value("phase", ""), "InProgress");  // nobody else touches another node's transfer
  EXPECT_LT(p["status"].value("progress", json::object()).value("bytesDone", 0), 268435456);

  // Restarted with Velero's node-agent ConfigMap: the per-node rule matching this node's hostname label wins.
  apply({{"apiVersion", "v1"},
         {"kind", "ConfigMap"},
         {"metadata", {{"name", "node-agent-config"}, {"namespace", "velero"}}},
         {"data",
          {{"node-agent-config.json",
            json{{"loadConcurrency",
                  {{"globalConfig", 2},
                   {"perNodeConfig",
                    {{{"nodeSelector", {{"matchLabels", {{"kubernetes.io/hostname", kNodes[0]}}}}}, {"number", 3}}}}}}}
                .dump()}}}});
  start_agent(kNodes[0], {"--node-agent-configmap", "node-agent-config"});
  p = wait_phase("podvolumebackups", "b2-big", {"Failed", "Completed"});
  EXPECT_NE((*agents)[kNodes[0]]->log().find("concurrency 3)"), std::string::npos) << (*agents)[kNodes[0]]->log();
  EXPECT_EQ(p["status"].value("phase", ""), "Failed");
  EXPECT_EQ(p["status"].value("message", ""),
            "found a podvolumebackup with status \"InProgress\" during the server starting, mark it as \"Failed\"");
  EXPECT_TRUE(p["status"].contains("completionTimestamp"));
  auto check = restic({"check"});
  EXPECT_EQ(check.exit_code, 0) << check.output;

  auto started = std::chrono::steady_clock::now();
  apply(pvb("b3-big", pod, "scratch", "b3"));
  p = wait_phase("podvolumebackups", "b3-big", {"Failed", "Completed"}, 120s);
  ASSERT_EQ(p["status"].value("phase", ""), "Completed") << p.dump() << logs();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "256 MiB volume, PodVolumeBackup created -> Completed: " << seconds << " s, " << 256 / seconds
            << " MiB/s\n";
  EXPECT_EQ(p["status"]["progress"].value("totalBytes", 0), 268435456 + 0);
  check = restic({"check"});
  EXPECT_EQ(check.exit_code, 0) << check.output;
}

// A file appended to while it is backed up: as restic, the snapshot holds what was read, and its recorded size
// is the size of that content (restic restores it and checks it), never a size the content does not have: the
// restored file is a prefix of the live one.
TEST_F(NodeAgentTest, AFileChangingDuringTheBackupIsRecordedAsRead) {
  create_pod("appender", kNodes[1],
             "head -c 16777216 /dev/urandom > /v/scratch/a-static.bin; touch /v/scratch/ready; i=0; "
             "while true; do echo \"line $i\" >> /v/scratch/log.txt; i=$((i+1)); done");
  json pod = wait_pod_file("appender", "scratch", "ready");
  std::string volume = volume_dir(pod, "scratch");
  ASSERT_TRUE(testsupport::eventually([&] { return fs::exists(volume + "/log.txt") && fs::file_size(volume + "/log.txt") > 1000; }, 30s));
  apply(pvb("b1-appender", pod, "scratch", "b1"));
  json p = wait_phase("podvolumebackups", "b1-appender", {"Failed", "Completed"});
  ASSERT_EQ(p["status"].value("phase", ""), "Completed") << p.dump() << logs();
  std::string id = p["status"]["snapshotID"];
  std::string out = dir->file("restic-appender");
  ok(restic({"restore", id, "--target", out, "--include", "/log.txt"}));
  std::string restored = slurp(out + "/log.txt");
  ASSERT_FALSE(restored.empty());
  std::string live = slurp(volume + "/log.txt");
  EXPECT_GT(live.size(), restored.size());
  EXPECT_EQ(live.compare(0, restored.size(), restored), 0) << "the restored file is not a prefix of the live file";
  EXPECT_EQ(restored.rfind("line 0\n", 0), 0u);
  // restic's record of the file: the size of what was stored.
  auto listing = ok(restic({"ls", "--json", id, "/log.txt"}));
  bool found = false;
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    auto node = json::parse(line);
    if (node.value("path", "") == "/log.txt") {
      found = true;
      EXPECT_EQ(node.value("size", uint64_t{0}), restored.size());
    }
  }
  EXPECT_TRUE(found) << listing;
  ok(kubectl({"-n", "app", "delete", "pod", "appender", "--wait=false"}));
}

// spec.cancel on a PodVolumeBackup whose upload runs (Velero's server sets it when the backup's fs-backup timeout
// passes): the agent stops the transfer part way, marks it Canceled, frees its slot for the next one, and the
// repository stays valid.
TEST_F(NodeAgentTest, ACanceledPodVolumeBackupStopsItsUpload) {
  create_pod("canceled", kNodes[1],
             "head -c 671088640 /dev/urandom > /v/scratch/big.bin && touch /v/scratch/ready && sleep 3600");
  json pod = wait_pod_file("canceled", "scratch", "ready");
  completed_backup("b10");
  size_t packs = data_packs();
  apply(pvb("b10-canceled", pod, "scratch", "b10"));
  wait_uploading("b10-canceled", packs);
  // The agent is stopped while the cancel is written, so that the watch event is waiting for it when it goes on:
  // on an idle machine the whole upload takes about 4 s, and kubectl's start alone could outlast what is left.
  auto& agent = *(*agents)[kNodes[1]];
  agent.signal(SIGSTOP);
  auto cancel = kubectl({"-n", "velero", "patch", "podvolumebackups.velero.io", "b10-canceled", "--type", "merge",
                         "-p", R"({"spec":{"cancel":true}})"});
  agent.signal(SIGCONT);
  ok(cancel);
  json p = wait_phase("podvolumebackups", "b10-canceled", {"Canceled", "Completed", "Failed"});
  EXPECT_EQ(p["status"].value("phase", ""), "Canceled") << p.dump() << logs();
  EXPECT_LT(p["status"].value("progress", json::object()).value("bytesDone", 0), 671088640);
  EXPECT_TRUE(p["status"].value("snapshotID", "").empty());
  EXPECT_TRUE(p["status"].contains("completionTimestamp"));
  // The slot is free and the repository sound: the next transfer on this node completes.
  apply(pvb("b10-after", pod, "scratch", "b10"));
  p = wait_phase("podvolumebackups", "b10-after", {"Failed", "Completed"}, 120s);
  EXPECT_EQ(p["status"].value("phase", ""), "Completed") << p.dump() << logs();
  auto check = restic({"check"});
  EXPECT_EQ(check.exit_code, 0) << check.output;
}

// spec.cancel on a PodVolumeRestore whose transfer runs: the agent stops writing part way, marks it Canceled,
// and writes no done file, so the pod's restore-wait init container keeps the app from starting on partial data.
TEST_F(NodeAgentTest, ACanceledPodVolumeRestoreStopsAndWritesNoDoneFile) {
  create_pod("big-source", kNodes[0],
             "head -c 671088640 /dev/urandom > /v/scratch/big.bin && touch /v/scratch/ready && sleep 3600");
  json source_pod = wait_pod_file("big-source", "scratch", "ready");
  completed_backup("b11");
  apply(pvb("b11-big-source", source_pod, "scratch", "b11"));
  json source = wait_phase("podvolumebackups", "b11-big-source", {"Completed", "Failed"}, 120s);
  ASSERT_EQ(source["status"].value("phase", ""), "Completed") << source.dump() << logs();
  apply({{"apiVersion", "velero.io/v1"},
         {"kind", "Restore"},
         {"metadata", {{"name", "r11"}, {"namespace", "velero"}}},
         {"spec", {{"backupName", "b11"}}},
         {"status", {{"phase", "InProgress"}}}});
  std::string restore_uid = get("restores.velero.io", "velero", "r11")["metadata"]["uid"];
  create_pod("big-restored", kNodes[1], "touch /v/scratch/app-started && sleep 3600", "",
             "while [ ! -f /v/scratch/.velero/" + restore_uid + " ]; do sleep 0.1; done");
  json pod;
  ASSERT_TRUE(testsupport::eventually([&] {
    pod = get("pod", "app", "big-restored");
    return !pod.is_null() && !pod["metadata"].value("uid", "").empty() && !pod["spec"].value("nodeName", "").empty();
  }, 30s));
  apply(pvr("r11-big-restored-scratch", pod, "r11", restore_uid, source["status"]["snapshotID"]));
  // Under way once the restored file holds data (the restore creates it first, then fills it pack by pack).
  std::string big = volume_dir(pod, "scratch") + "/big.bin";
  ASSERT_TRUE(testsupport::eventually([&] {
    std::error_code ec;
    auto p = get("podvolumerestores.velero.io", "velero", "r11-big-restored-scratch");
    if (!p.is_null() && p.value("status", json::object()).value("phase", "") == "Completed")
      throw std::runtime_error("the restore finished before it was canceled");
    return fs::exists(big, ec) && fs::file_size(big, ec) > 0;
  }, 60s, 10ms)) << logs();
  // As for the backup: the agent waits while the cancel is written, so the event is there when it goes on.
  auto& agent = *(*agents)[kNodes[1]];
  agent.signal(SIGSTOP);
  auto cancel = kubectl({"-n", "velero", "patch", "podvolumerestores.velero.io", "r11-big-restored-scratch", "--type",
                         "merge", "-p", R"({"spec":{"cancel":true}})"});
  agent.signal(SIGCONT);
  ok(cancel);
  json p = wait_phase("podvolumerestores", "r11-big-restored-scratch", {"Canceled", "Completed", "Failed"});
  EXPECT_EQ(p["status"].value("phase", ""), "Canceled") << p.dump() << logs();
  EXPECT_TRUE(p["status"].contains("completionTimestamp"));
  EXPECT_LT(p["status"].value("progress", json::object()).value("bytesDone", 0), 671088640) << p.dump();
  // No done file: the init container still waits and the app never started.
  std::string volume = volume_dir(pod, "scratch");
  EXPECT_FALSE(fs::exists(volume + "/.velero/" + restore_uid));
  EXPECT_FALSE(fs::exists(volume + "/app-started"));
  ok(kubectl({"-n", "app", "delete", "pod", "big-source", "big-restored", "--wait=false"}));
}

// Velero's node-agent metrics on --metrics-address (the pod volume backups this node took, finished, and how long
// each took) and /healthz for a liveness probe, over real HTTP.
TEST_F(NodeAgentTest, ServesPodVolumeMetricsAndHealth) {
  start_agent(kNodes[1], {"--metrics-address", "127.0.0.1:0"});
  auto& agent = *(*agents)[kNodes[1]];
  std::string base;
  ASSERT_TRUE(testsupport::eventually([&] {
    std::string log = agent.log();
    auto at = log.find("metrics: serving http://");
    if (at == std::string::npos || log.find("arca node agent started") == std::string::npos) return false;
    at += std::string("metrics: serving ").size();
    base = log.substr(at, log.find("/metrics", at) - at);
    return true;
  }, 30s)) << agent.log();
  auto curl = [&](const std::string& path) {
    return testsupport::run_command({"curl", "-s", "-w", "\n%{http_code}", base + path}, *dir);
  };
  auto health = curl("/healthz");
  EXPECT_EQ(health.out, "ok\n\n200") << health.output;
  std::string node_label = "{node=\"" + kNodes[1] + "\"}";
  auto before = curl("/metrics").out;
  EXPECT_NE(before.find("podVolume_pod_volume_backup_enqueue_count" + node_label + " 0\n"), std::string::npos) << before;

  create_pod("measured", kNodes[1], "echo hello > /v/scratch/f && sleep 3600");
  json pod = wait_pod_file("measured", "scratch", "f");
  apply(pvb("b9-measured", pod, "scratch", "b9"));
  json p = wait_phase("podvolumebackups", "b9-measured", {"Failed", "Completed"});
  ASSERT_EQ(p["status"].value("phase", ""), "Completed") << p.dump() << logs();
  std::string metrics;
  ASSERT_TRUE(testsupport::eventually([&] {
    metrics = curl("/metrics").out;
    return metrics.find("podVolume_pod_volume_backup_dequeue_count" + node_label + " 1\n") != std::string::npos;
  }, 10s)) << metrics;
  EXPECT_NE(metrics.find("podVolume_pod_volume_backup_enqueue_count" + node_label + " 1\n"), std::string::npos);
  std::string labels = "node=\"" + kNodes[1] + "\",operation=\"b9-measured-default-app-restic-backup\",backupName=\"velero/b9\","
                       "pod_volume_backup=\"b9-measured\"";
  EXPECT_NE(metrics.find("podVolume_pod_volume_operation_latency_seconds_count{" + labels + "} 1\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("podVolume_pod_volume_operation_latency_seconds_gauge{" + labels + "}"), std::string::npos);
  EXPECT_EQ(metrics.find("velero_backup_total"), std::string::npos);  // the server's metrics are the server's
}

// Deleting backups forgets their snapshots (Velero's deletePodVolumeSnapshots); maintenance then forgets the
// snapshots of backups that exist nowhere and prunes: the data of the deleted backups (and of the killed upload)
// leaves the bucket, and restic still checks the repository.
TEST_F(NodeAgentTest, ZDeletedBackupsAreForgottenAndMaintenanceFreesTheirData) {
  json other = get("pod", "app", "other");
  ASSERT_FALSE(other.is_null());
  apply(pvb("ghost-other", other, "scratch", "ghost"));  // no Backup "ghost" anywhere
  wait_phase("podvolumebackups", "ghost-other", {"Completed"});
  auto tagged = [&](const std::string& backup) {
    int n = 0;
    for (const auto& s : json::parse(ok(restic({"snapshots", "--json"}))))
      for (const auto& t : s.value("tags", json::array()))
        if (t == "backup=" + backup) ++n;
    return n;
  };
  ASSERT_GT(tagged("b1"), 0);
  ASSERT_EQ(tagged("b3"), 1);
  ASSERT_EQ(tagged("ghost"), 1);
  auto du = [&] {
    uint64_t total = 0;
    for (const auto& e : fs::recursive_directory_iterator(repo_path()))
      if (e.is_regular_file()) total += e.file_size();
    return total;
  };
  uint64_t before = du();
  for (const char* backup : {"b1", "b3"}) ok(arca({"backup", "delete", backup, "--confirm"}));
  ASSERT_TRUE(testsupport::eventually([&] {
    return get("backups.velero.io", "velero", "b1").is_null() && get("backups.velero.io", "velero", "b3").is_null();
  }, 60s)) << logs();
  EXPECT_EQ(tagged("b1"), 0) << logs();
  EXPECT_EQ(tagged("b3"), 0);
  EXPECT_EQ(tagged("ghost"), 1);  // forgetting is per backup; the ghost waits for maintenance

  auto repos = json::parse(ok(kubectl({"-n", "velero", "get", "backuprepositories.velero.io", "-l",
                                       "velero.io/storage-location=default", "-o", "json"})));
  ASSERT_EQ(repos["items"].size(), 1u);
  std::string name = repos["items"][0]["metadata"]["name"];
  ok(kubectl({"-n", "velero", "patch", "backuprepositories.velero.io", name, "--type", "merge", "-p",
              R"({"spec":{"maintenanceFrequency":"1s"}})"}));
  json repo;
  ASSERT_TRUE(testsupport::eventually([&] {
    repo = get("backuprepositories.velero.io", "velero", name);
    return repo["status"].value("recentMaintenance", json::array()).size() > 0;
  }, 60s)) << logs();
  auto run = repo["status"]["recentMaintenance"][0];
  EXPECT_EQ(run.value("result", ""), "Succeeded") << repo.dump();
  EXPECT_EQ(tagged("ghost"), 0);
  uint64_t after = du();
  EXPECT_LT(after + 200 * 1024 * 1024, before) << "before " << before << " after " << after;
  // Back to a long period; the run in flight may still hold its exclusive lock for a moment.
  ok(kubectl({"-n", "velero", "patch", "backuprepositories.velero.io", name, "--type", "merge", "-p",
              R"({"spec":{"maintenanceFrequency":"168h"}})"}));
  CommandResult check;
  EXPECT_TRUE(testsupport::eventually([&] {
    check = restic({"check", "--read-data"});
    return check.exit_code == 0;
  }, 20s, 500ms)) << check.output;
}

}  // namespace
