// CSI snapshots end to end (Velero's pkg/backup/actions/csi, pkg/restore/actions/csi, the async item operations and
// backup deletion's internal/delete/actions/csi): kubelite with its CSI host-path driver and real container
// processes, `arca server` and the `arca` CLI as real processes; the driver's directories are read to compare data.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "crypt/age.h"
#include "kube/errors.h"
#include "tests/integration/harness.h"
#include "tests/integration/manifests.h"
#include "tests/support/process.h"

using integration::Cluster;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// A StatefulSet on the CSI class whose containers write known data into their claims; a class whose snapshots are
// never taken (kubelite's test knob); two namespaces of bare claims.
constexpr const char* kManifest = R"(
apiVersion: v1
kind: Namespace
metadata: {name: csi-app}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: csi-app}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: db
        image: busybox
        command: ["sh", "-c", "mkdir -p /data/pages && seq 1 30000 > /data/pages/seq.txt && echo $HOSTNAME > /data/who && touch /data/done && exec sleep 1000"]
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data, labels: {tier: db}}
    spec: {accessModes: [ReadWriteOnce], storageClassName: standard, resources: {requests: {storage: 1Gi}}}
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {name: stuck}
driver: hostpath.csi.k8s.io
deletionPolicy: Delete
parameters: {kubelite.dev/never-ready: "true"}
---
apiVersion: v1
kind: Namespace
metadata: {name: csi-stuck}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: stuck-data, namespace: csi-stuck, annotations: {velero.io/csi-volumesnapshot-class: stuck}}
spec: {accessModes: [ReadWriteOnce], storageClassName: standard, resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ok-data, namespace: csi-stuck}
spec: {accessModes: [ReadWriteOnce], storageClassName: standard, resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Namespace
metadata: {name: csi-fs}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: opted-in, namespace: csi-fs}
spec: {accessModes: [ReadWriteOnce], storageClassName: standard, resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: other, namespace: csi-fs}
spec: {accessModes: [ReadWriteOnce], storageClassName: standard, resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: csi-fs, annotations: {backup.velero.io/backup-volumes: files}}
spec:
  containers: [{name: app, image: busybox, command: ["sleep", "1000"],
                volumeMounts: [{name: files, mountPath: /files}, {name: more, mountPath: /more}]}]
  volumes:
  - {name: files, persistentVolumeClaim: {claimName: opted-in}}
  - {name: more, persistentVolumeClaim: {claimName: other}}
---
apiVersion: v1
kind: Namespace
metadata: {name: csi-del}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: csi-del}
spec: {accessModes: [ReadWriteOnce], storageClassName: standard, resources: {requests: {storage: 1Gi}}}
)";

Cluster* cluster = nullptr;
testsupport::TempDir* csi_root = nullptr;

std::map<std::string, std::string> read_tree(const std::string& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) out[fs::relative(e.path(), root).string()] = testsupport::read_file(e.path().string());
  return out;
}

class CsiIntegration : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    csi_root = new testsupport::TempDir();
    cluster = new Cluster({{"00-namespaces.yaml", testmanifests::kNamespaces}, {"50-csi.yaml", kManifest}}, {"--csi-hostpath-dir", csi_root->path()});
  }
  static void TearDownTestSuite() {
    delete cluster;
    cluster = nullptr;
    delete csi_root;
    csi_root = nullptr;
  }

  arca::kube::ApiResource core(const std::string& resource) { return cluster->resource("", resource); }
  arca::kube::ApiResource snap(const std::string& resource) {
    return cluster->resource("snapshot.storage.k8s.io", resource);
  }
  std::vector<json> list(const arca::kube::ApiResource& r, const std::string& ns) {
    std::vector<json> out;
    cluster->client().list(r, ns, {}, [&](const arca::kube::ListItem& item) { out.push_back(item.parse()); });
    return out;
  }

  // The directory of a Bound claim's volume (<root>/volumes/<volumeHandle>), waiting for the claim to bind.
  std::string volume_dir(const std::string& ns, const std::string& claim) {
    std::string dir;
    bool bound = testsupport::eventually([&] {
      try {
        json pvc = cluster->client().get(core("persistentvolumeclaims"), ns, claim);
        if (pvc.value("/status/phase"_json_pointer, std::string()) != "Bound") return false;
        json pv = cluster->client().get(core("persistentvolumes"), "", pvc["spec"]["volumeName"].get<std::string>());
        dir = csi_root->path() + "/volumes/" + pv["spec"]["csi"]["volumeHandle"].get<std::string>();
        return fs::is_directory(dir);
      } catch (const arca::kube::KubeError&) {
        return false;
      }
    }, std::chrono::seconds(30));
    EXPECT_TRUE(bound) << ns << "/" << claim;
    return dir;
  }

  void delete_namespace(const std::string& ns) {
    cluster->client().remove(core("namespaces"), "", ns);
    bool gone = testsupport::eventually([&] {
      try {
        cluster->client().get(core("namespaces"), "", ns);
        return false;
      } catch (const arca::kube::KubeError& e) {
        return arca::kube::is_not_found(e);
      }
    }, std::chrono::seconds(30));
    ASSERT_TRUE(gone) << "namespace " << ns << " was not deleted";
  }

  std::vector<json> contents_of_namespace(const std::string& ns) {
    std::vector<json> out;
    for (auto& c : list(snap("volumesnapshotcontents"), ""))
      if (c.value("/spec/volumeSnapshotRef/namespace"_json_pointer, std::string()) == ns) out.push_back(c);
    return out;
  }
};

TEST_F(CsiIntegration, SnapshotBackupRestoresTheStatefulSetsDataByteForByte) {
  std::map<std::string, std::map<std::string, std::string>> before;
  for (const std::string claim : {"data-db-0", "data-db-1"}) {
    std::string dir = volume_dir("csi-app", claim);
    ASSERT_TRUE(testsupport::eventually([&] { return fs::exists(dir + "/done"); }, std::chrono::seconds(30)))
        << "the pod did not write into " << claim;
    before[claim] = read_tree(dir);
    ASSERT_EQ(before[claim].at("pages/seq.txt").size(), 168894u);  // seq 1 30000, written by the container
  }

  auto created = cluster->arca({"backup", "create", "snap", "--include-namespaces", "csi-app", "--wait"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  ASSERT_NE(created.out.find("Backup completed with status: Completed"), std::string::npos) << created.out;
  json backup = cluster->get_backup("snap");
  EXPECT_EQ(backup["status"]["csiVolumeSnapshotsAttempted"], 2);
  EXPECT_EQ(backup["status"]["csiVolumeSnapshotsCompleted"], 2);
  EXPECT_EQ(backup["status"]["backupItemOperationsAttempted"], 2);
  EXPECT_EQ(backup["status"]["backupItemOperationsCompleted"], 2);

  // The tarball: each claim names its VolumeSnapshot, which carries the content's handle; content and class too.
  auto entries = cluster->tarball("snap");
  std::set<std::string> handles;
  for (const std::string claim : {"data-db-0", "data-db-1"}) {
    auto pvc = json::parse(entries.at("resources/persistentvolumeclaims/namespaces/csi-app/" + claim + ".json"));
    std::string vs_name = pvc["metadata"]["annotations"].value("velero.io/volume-snapshot-name", "");
    ASSERT_FALSE(vs_name.empty()) << pvc.dump();
    EXPECT_EQ(pvc["metadata"]["labels"]["velero.io/volume-snapshot-name"], vs_name);
    auto vs = json::parse(
        entries.at("resources/volumesnapshots.snapshot.storage.k8s.io/namespaces/csi-app/" + vs_name + ".json"));
    EXPECT_EQ(vs["spec"]["source"]["persistentVolumeClaimName"], claim);
    EXPECT_FALSE(vs["spec"].contains("volumeSnapshotClassName"));
    EXPECT_EQ(vs["status"]["readyToUse"], true);
    std::string vsc_name = vs["status"]["boundVolumeSnapshotContentName"];
    auto vsc = json::parse(entries.at("resources/volumesnapshotcontents.snapshot.storage.k8s.io/cluster/" + vsc_name + ".json"));
    EXPECT_EQ(vsc["spec"]["deletionPolicy"], "Retain");
    EXPECT_EQ(vsc["metadata"]["labels"]["velero.io/backup-name"], "snap");
    std::string handle = vsc["status"]["snapshotHandle"];
    EXPECT_EQ(vs["metadata"]["annotations"]["velero.io/csi-volumesnapshot-handle"], handle);
    EXPECT_EQ(vs["metadata"]["annotations"]["velero.io/csi-driver-name"], "hostpath.csi.k8s.io");
    EXPECT_EQ(vs["metadata"]["annotations"]["velero.io/csi-volumesnapshot-restore-size"], "1Gi");
    // The point-in-time copy in the driver holds what the container wrote.
    EXPECT_EQ(read_tree(csi_root->path() + "/snapshots/" + handle), before[claim]);
    handles.insert(handle);
  }
  EXPECT_EQ(handles.size(), 2u);
  EXPECT_TRUE(entries.count(
      "resources/volumesnapshotclasses.snapshot.storage.k8s.io/cluster/csi-hostpath-snapclass.json"));

  // Item operations and volume information, in Velero's form.
  json ops = cluster->gz_json("snap", "snap-itemoperations.json.gz");
  ASSERT_EQ(ops.size(), 2u) << ops.dump();
  for (const auto& op : ops) {
    EXPECT_EQ(op["spec"]["backupItemAction"], "velero.io/csi-volumesnapshot-backupper");
    EXPECT_EQ(op["spec"]["ResourceIdentifier"]["Resource"], "volumesnapshots");
    EXPECT_EQ(op["status"]["phase"], "Completed");
    EXPECT_EQ(op["spec"]["PostOperationItems"].size(), 2u);
  }
  json info = cluster->gz_json("snap", "snap-volumeinfo.json.gz");
  ASSERT_EQ(info.size(), 2u) << info.dump();
  for (const auto& v : info) {
    EXPECT_EQ(v["backupMethod"], "CSISnapshot");
    EXPECT_EQ(v["result"], "succeeded");
    EXPECT_EQ(v["preserveLocalSnapshot"], true);
    EXPECT_EQ(v["snapshotDataMoved"], false);
    EXPECT_TRUE(handles.count(v["csiSnapshotInfo"]["snapshotHandle"].get<std::string>())) << v.dump();
    EXPECT_EQ(v["csiSnapshotInfo"]["driver"], "hostpath.csi.k8s.io");
    EXPECT_EQ(v["pvInfo"]["reclaimPolicy"], "Delete");
  }
  // The snapshot objects are gone from the cluster; the snapshots themselves stay (Retain) for the backup.
  EXPECT_TRUE(list(snap("volumesnapshots"), "csi-app").empty());
  EXPECT_TRUE(contents_of_namespace("csi-app").empty());

  delete_namespace("csi-app");
  auto restored = cluster->arca({"restore", "create", "back", "--from-backup", "snap", "--wait"});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_NE(restored.out.find("Restore completed with status: Completed"), std::string::npos) << restored.out;
  for (const std::string claim : {"data-db-0", "data-db-1"}) {
    json pvc = cluster->client().get(core("persistentvolumeclaims"), "csi-app", claim);
    EXPECT_EQ(pvc["spec"]["dataSource"]["kind"], "VolumeSnapshot") << pvc.dump();
    std::string dir = volume_dir("csi-app", claim);
    EXPECT_EQ(read_tree(dir).at("pages/seq.txt"), before[claim].at("pages/seq.txt"));
    EXPECT_EQ(read_tree(dir).at("who"), before[claim].at("who"));
  }
  // The restored snapshots are bound statically to contents on the backed-up handles.
  auto restored_vs = list(snap("volumesnapshots"), "csi-app");
  ASSERT_EQ(restored_vs.size(), 2u);
  for (const auto& vs : restored_vs) {
    json vsc = cluster->client().get(snap("volumesnapshotcontents"), "",
                                     vs["spec"]["source"]["volumeSnapshotContentName"].get<std::string>());
    EXPECT_TRUE(handles.count(vsc["spec"]["source"]["snapshotHandle"].get<std::string>())) << vsc.dump();
    EXPECT_EQ(vsc["spec"]["deletionPolicy"], "Retain");
  }

  // Restored again into another namespace, with a namespace filter: the contents come in as the snapshots'
  // additional items, their references mapped to the new namespace.
  auto copied = cluster->arca({"restore", "create", "copy", "--from-backup", "snap", "--include-namespaces", "csi-app",
                               "--namespace-mappings", "csi-app:csi-copy", "--wait"});
  ASSERT_EQ(copied.exit_code, 0) << copied.err;
  EXPECT_NE(copied.out.find("Restore completed with status: Completed"), std::string::npos) << copied.out;
  for (const std::string claim : {"data-db-0", "data-db-1"})
    EXPECT_EQ(read_tree(volume_dir("csi-copy", claim)).at("pages/seq.txt"), before[claim].at("pages/seq.txt"));
  EXPECT_EQ(contents_of_namespace("csi-copy").size(), 2u);
}

TEST_F(CsiIntegration, NeverReadySnapshotFailsItsVolumeAfterTheTimeoutAndLeavesNothing) {
  std::ofstream(volume_dir("csi-stuck", "ok-data") + "/f") << "kept";
  volume_dir("csi-stuck", "stuck-data");
  auto snapshot_dirs = [&] {
    std::set<std::string> out;
    if (fs::exists(csi_root->path() + "/snapshots"))
      for (const auto& e : fs::directory_iterator(csi_root->path() + "/snapshots")) out.insert(e.path().filename().string());
    return out;
  };
  const std::set<std::string> dirs_before = snapshot_dirs();
  auto created = cluster->arca(
      {"backup", "create", "stuck", "--include-namespaces", "csi-stuck", "--csi-snapshot-timeout", "3s"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  // While the snapshots are awaited the backup says so.
  json waiting = cluster->wait_for_phase("stuck", {"WaitingForPluginOperations", "PartiallyFailed", "Completed"});
  EXPECT_EQ(waiting["status"]["phase"], "WaitingForPluginOperations");
  json done = cluster->wait_for_phase("stuck", {"PartiallyFailed", "Completed", "Failed"}, 30);
  ASSERT_EQ(done["status"]["phase"], "PartiallyFailed") << done.dump();
  EXPECT_EQ(done["status"]["errors"], 1);
  EXPECT_EQ(done["status"]["backupItemOperationsFailed"], 1);
  EXPECT_EQ(done["status"]["csiVolumeSnapshotsCompleted"], 1);

  json results = json::parse(integration::gunzip(testsupport::read_file(cluster->backup_file("stuck", "stuck-results.gz"))));
  std::string error = results["errors"]["namespaces"]["csi-stuck"][0];
  EXPECT_NE(error.find("stuck-data is not ready to use within the CSI snapshot timeout 3s"), std::string::npos) << error;
  json info = cluster->gz_json("stuck", "stuck-volumeinfo.json.gz");
  std::map<std::string, std::string> result_of;
  for (const auto& v : info) result_of[v["pvcName"]] = v["result"];
  EXPECT_EQ(result_of, (std::map<std::string, std::string>{{"ok-data", "succeeded"}, {"stuck-data", "failed"}}));
  json ops = cluster->gz_json("stuck", "stuck-itemoperations.json.gz");
  int failed = 0;
  for (const auto& op : ops) failed += op["status"]["phase"] == "Failed";
  EXPECT_EQ(failed, 1) << ops.dump();
  // Nothing left: no VolumeSnapshot, no content; only the good volume's snapshot is kept in the driver.
  EXPECT_TRUE(list(snap("volumesnapshots"), "csi-stuck").empty());
  EXPECT_TRUE(testsupport::eventually([&] { return contents_of_namespace("csi-stuck").empty(); }, std::chrono::seconds(10)));
  std::string ok_handle;
  for (const auto& v : info)
    if (v["pvcName"] == "ok-data") ok_handle = v["csiSnapshotInfo"]["snapshotHandle"];
  std::set<std::string> new_dirs;
  for (const auto& d : snapshot_dirs())
    if (!dirs_before.count(d)) new_dirs.insert(d);
  EXPECT_EQ(new_dirs, std::set<std::string>{ok_handle}) << [&] {
    std::string all;
    for (const auto& d : new_dirs) {
      all += d + ":";
      for (const auto& [f, _] : read_tree(csi_root->path() + "/snapshots/" + d)) all += " " + f;
      all += "\n";
    }
    return all;
  }();
  auto entries = cluster->tarball("stuck");
  int snapshots_in_tarball = 0;
  for (const auto& [path, _] : entries)
    snapshots_in_tarball += path.rfind("resources/volumesnapshots.snapshot.storage.k8s.io/namespaces/", 0) == 0;
  EXPECT_EQ(snapshots_in_tarball, 1);
}

// --snapshot-volumes=false and a volume policy's skip action both leave the claim unsnapshotted, recorded as skipped
// in the volume information; a policy's snapshot action wins over --snapshot-volumes=false (Velero's volumehelper).
TEST_F(CsiIntegration, SnapshotVolumesFalseAndVolumePoliciesDecide) {
  volume_dir("csi-del", "data");
  auto configmaps = core("configmaps");
  auto policy = [&](const std::string& name, const std::string& action) {
    json cm = {{"apiVersion", "v1"},
               {"kind", "ConfigMap"},
               {"metadata", {{"name", name}, {"namespace", "velero"}}},
               {"data",
                {{"policy.yaml", "version: v1\nvolumePolicies:\n- conditions:\n    storageClass: [standard]\n"
                                 "    csi: {driver: hostpath.csi.k8s.io}\n  action:\n    type: " + action + "\n"}}}};
    cluster->client().create(configmaps, "velero", cm);
  };
  policy("skip-standard", "skip");
  policy("snapshot-standard", "snapshot");
  struct Case {
    std::string name;
    std::vector<std::string> flags;
    bool snapshotted;
    std::string skipped_reason;
  } cases[] = {{"no-snapshots", {"--snapshot-volumes=false"}, false, "skipped due to snapshotVolumes is false"},
               {"policy-skip", {"--resource-policies-configmap", "skip-standard"}, false, "skipped due to resource policy"},
               {"policy-snapshot", {"--snapshot-volumes=false", "--resource-policies-configmap", "snapshot-standard"}, true, ""}};
  for (const auto& c : cases) {
    std::vector<std::string> args = {"backup", "create", c.name, "--include-namespaces", "csi-del", "--wait"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    auto created = cluster->arca(args);
    ASSERT_EQ(created.exit_code, 0) << created.err;
    EXPECT_NE(created.out.find("Backup completed with status: Completed"), std::string::npos) << c.name << created.out;
    json info = cluster->gz_json(c.name, c.name + "-volumeinfo.json.gz");
    ASSERT_EQ(info.size(), 1u) << c.name << info.dump();
    EXPECT_EQ(info[0]["pvcName"], "data");
    if (c.snapshotted) {
      EXPECT_EQ(info[0]["backupMethod"], "CSISnapshot") << c.name;
      EXPECT_EQ(info[0]["result"], "succeeded") << c.name;
    } else {
      EXPECT_EQ(info[0]["skipped"], true) << c.name;
      EXPECT_EQ(info[0]["skippedReason"], c.skipped_reason) << c.name;
      EXPECT_EQ(cluster->get_backup(c.name)["status"].value("csiVolumeSnapshotsAttempted", 0), 0) << c.name;
      auto entries = cluster->tarball(c.name);
      auto pvc = json::parse(entries.at("resources/persistentvolumeclaims/namespaces/csi-del/data.json"));
      EXPECT_FALSE(pvc["metadata"].value("annotations", json::object()).contains("velero.io/volume-snapshot-name"));
    }
  }
  // The snapshot kept by the policy's backup goes with it.
  auto deleted = cluster->arca({"backup", "delete", "policy-snapshot", "--confirm"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
}

// The server is killed while a backup waits for its snapshots: after the restart the backup is Failed and its
// VolumeSnapshot is gone with its content.
TEST_F(CsiIntegration, SnapshotsOfARunInterruptedByARestartAreRemoved) {
  volume_dir("csi-stuck", "stuck-data");
  auto created = cluster->arca({"backup", "create", "cut", "--include-namespaces", "csi-stuck", "--csi-snapshot-timeout", "1h"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  json waiting = cluster->wait_for_phase("cut", {"WaitingForPluginOperations"});
  ASSERT_EQ(waiting["status"]["phase"], "WaitingForPluginOperations");
  ASSERT_EQ(list(snap("volumesnapshots"), "csi-stuck").size(), 2u);
  cluster->server().signal(SIGKILL);
  cluster->server().wait(std::chrono::seconds(10));
  cluster->start_server();
  json failed = cluster->wait_for_phase("cut", {"Failed"});
  EXPECT_EQ(failed["status"]["phase"], "Failed");
  EXPECT_TRUE(testsupport::eventually([&] {
    return list(snap("volumesnapshots"), "csi-stuck").empty() && contents_of_namespace("csi-stuck").empty();
  }, std::chrono::seconds(20))) << "the interrupted run's snapshots were left behind";
}

// An encrypted backup's volume information cannot be read by the server: its content stays in the cluster (Retain,
// labelled with the backup), and deleting the backup still deletes the driver's snapshot through it.
TEST_F(CsiIntegration, EncryptedBackupsSnapshotIsDeletedWithIt) {
  volume_dir("csi-del", "data");
  auto key = arca::crypt::generate_age_identity();
  fs::create_directories(cluster->store_root() + "/sealed");
  auto bsl = cluster->arca({"backup-location", "create", "sealed", "--provider", "local", "--bucket", "sealed",
                            "--config", "root=" + cluster->store_root() + ",encryptionRecipients=" + key.recipient});
  ASSERT_EQ(bsl.exit_code, 0) << bsl.err;
  ASSERT_TRUE(testsupport::eventually([&] {
    auto get = cluster->arca({"backup-location", "get", "sealed", "-o", "json"});
    return get.exit_code == 0 && json::parse(get.out).value("/status/phase"_json_pointer, "") == "Available";
  }, std::chrono::seconds(15)));
  auto created = cluster->arca(
      {"backup", "create", "sealed-snap", "--include-namespaces", "csi-del", "--storage-location", "sealed", "--wait"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  ASSERT_NE(created.out.find("Completed"), std::string::npos) << created.out;
  std::string handle;
  for (const auto& c : list(snap("volumesnapshotcontents"), ""))
    if (c.value("/metadata/labels/velero.io~1backup-name"_json_pointer, std::string()) == "sealed-snap") {
      EXPECT_EQ(c["spec"]["deletionPolicy"], "Retain");
      handle = c["status"]["snapshotHandle"];
    }
  ASSERT_FALSE(handle.empty()) << "no content kept for the encrypted backup";
  EXPECT_TRUE(list(snap("volumesnapshots"), "csi-del").empty());
  std::string snapshot_dir = csi_root->path() + "/snapshots/" + handle;
  ASSERT_TRUE(fs::is_directory(snapshot_dir));
  auto deleted = cluster->arca({"backup", "delete", "sealed-snap", "--confirm"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_TRUE(testsupport::eventually([&] { return !fs::exists(snapshot_dir); }, std::chrono::seconds(20)))
      << "the encrypted backup's snapshot outlived it";
}

// A volume a pod sends to file-system backup (opt-in annotation, or defaultVolumesToFsBackup less the opt-outs) is
// not snapshotted (Velero's volumehelper); the pod's other claim is.
TEST_F(CsiIntegration, VolumesGoingToFileSystemBackupAreNotSnapshotted) {
  volume_dir("csi-fs", "opted-in");
  volume_dir("csi-fs", "other");
  auto snapshotted = [&](const std::string& backup) {
    std::set<std::string> claims;
    for (const auto& v : cluster->gz_json(backup, backup + "-volumeinfo.json.gz"))
      if (v.value("backupMethod", "") == "CSISnapshot") claims.insert(v["pvcName"].get<std::string>());
    return claims;
  };
  // No node agent runs in this suite: the pod volume backups stay unfinished, so each backup bounds its wait on them
  // (velero.io/pod-volume-timeout) and ends PartiallyFailed; what is checked here is only the snapshot choice.
  const std::string short_wait = "velero.io/pod-volume-timeout=3s";
  auto created = cluster->arca(
      {"backup", "create", "fs-opt-in", "--include-namespaces", "csi-fs", "--annotations", short_wait, "--wait"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(snapshotted("fs-opt-in"), std::set<std::string>{"other"});
  // By default every pod volume goes to file-system backup: neither claim is snapshotted.
  created = cluster->arca({"backup", "create", "fs-default", "--include-namespaces", "csi-fs",
                           "--default-volumes-to-fs-backup", "--annotations", short_wait, "--wait"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(snapshotted("fs-default"), std::set<std::string>{});
}

TEST_F(CsiIntegration, DeletingTheBackupDeletesItsSnapshot) {
  std::ofstream(volume_dir("csi-del", "data") + "/f") << "to be deleted";
  auto created = cluster->arca({"backup", "create", "del", "--include-namespaces", "csi-del", "--wait"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  json info = cluster->gz_json("del", "del-volumeinfo.json.gz");
  ASSERT_EQ(info.size(), 1u);
  std::string snapshot_dir = csi_root->path() + "/snapshots/" + info[0]["csiSnapshotInfo"]["snapshotHandle"].get<std::string>();
  ASSERT_TRUE(fs::is_directory(snapshot_dir));
  auto deleted = cluster->arca({"backup", "delete", "del", "--confirm"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_TRUE(testsupport::eventually([&] { return !fs::exists(snapshot_dir); }, std::chrono::seconds(20)))
      << "the driver's snapshot outlived the backup";
  EXPECT_TRUE(testsupport::eventually([&] {
    for (const auto& c : list(snap("volumesnapshotcontents"), ""))
      if (c.value("/spec/source/snapshotHandle"_json_pointer, std::string()) ==
          info[0]["csiSnapshotInfo"]["snapshotHandle"])
        return false;
    return true;
  }, std::chrono::seconds(10))) << "a temporary content was left behind";
}

}  // namespace
