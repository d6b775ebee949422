// The node agent's pieces that need no cluster, and the repository helpers it shares with the server.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "controller/backup_repository_controller.h"
#include "controller/repositories.h"
#include "nodeagent/node_agent.h"
#include "nodeagent/repository_pool.h"
#include "nodeagent/slots.h"
#include "repo/repository.h"

namespace arca::nodeagent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "nodeagent-unit-XXXXXX").string();
    path = mkdtemp(t.data());
  }
  ~TempDir() { fs::remove_all(path); }
};

json configmap(const std::string& value) { return {{"data", {{"node-agent-config.json", value}}}}; }

TEST(NodeAgentConfig, LoadConcurrencyAsVeleroDocumentsIt) {
  // Velero's docs (node-agent-concurrency.md): the smallest number among matching per-node rules wins.
  auto config = parse_node_agent_config(configmap(R"({"loadConcurrency": {"globalConfig": 2, "perNodeConfig": [
      {"nodeSelector": {"matchLabels": {"kubernetes.io/hostname": "node1"}}, "number": 3},
      {"nodeSelector": {"matchLabels": {"beta.kubernetes.io/instance-type": "Standard_B4ms"}}, "number": 5},
      {"nodeSelector": {"matchLabels": {"bad": "rule"}}, "number": 0}]}})"));
  EXPECT_EQ(config.global, 2);
  ASSERT_EQ(config.per_node.size(), 3u);
  EXPECT_EQ(concurrency_for_node(config, {{"kubernetes.io/hostname", "node1"}}), 3);
  EXPECT_EQ(concurrency_for_node(config, {{"kubernetes.io/hostname", "node1"},
                                          {"beta.kubernetes.io/instance-type", "Standard_B4ms"}}),
            3);
  EXPECT_EQ(concurrency_for_node(config, {{"beta.kubernetes.io/instance-type", "Standard_B4ms"}}), 5);
  EXPECT_EQ(concurrency_for_node(config, {{"kubernetes.io/hostname", "node2"}}), 2);
  EXPECT_EQ(concurrency_for_node(config, {{"bad", "rule"}}), 2);  // a number below 1 is ignored
  EXPECT_EQ(concurrency_for_node(parse_node_agent_config(configmap("{}")), {}), 1);
  EXPECT_EQ(concurrency_for_node(parse_node_agent_config(configmap(R"({"loadConcurrency":{"globalConfig":0}})")), {}), 1);
}

TEST(NodeAgentConfig, BadConfigMapNamesTheKey) {
  try {
    parse_node_agent_config(configmap("{not json"));
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("node-agent-config.json"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_node_agent_config(json{{"data", json::object()}}), std::invalid_argument);
}

TEST(NodeAgentVolumes, DirectoryNamesAsTheKubeletLaysThemOut) {
  json pod = {{"metadata", {{"name", "p"}, {"namespace", "app"}, {"uid", "u1"}}},
              {"spec",
               {{"volumes",
                 {{{"name", "scratch"}, {"emptyDir", json::object()}},
                  {{"name", "data"}, {"persistentVolumeClaim", {{"claimName", "claim"}}}},
                  {{"name", "legacy"}, {"persistentVolumeClaim", {{"claimName", "old"}}}}}}}}};
  Getter get = [](const std::string& resource, const std::string& ns, const std::string& name) -> json {
    if (resource == "persistentvolumeclaims") {
      EXPECT_EQ(ns, "app");
      return {{"spec", {{"volumeName", name == "claim" ? "pvc-123" : "pv-local"}}}};
    }
    if (name == "pvc-123") return {{"spec", {{"csi", {{"driver", "hostpath.csi.k8s.io"}}}}}};
    return {{"spec", {{"local", {{"path", "/mnt"}}}}}};
  };
  EXPECT_EQ(volume_directory(pod, "scratch", get), "scratch");
  EXPECT_EQ(volume_directory(pod, "data", get), "pvc-123/mount");
  EXPECT_EQ(volume_directory(pod, "legacy", get), "pv-local");
  EXPECT_THROW(volume_directory(pod, "missing", get), std::runtime_error);
}

TEST(NodeAgentVolumes, FindsExactlyOneHostPath) {
  TempDir dir;
  fs::create_directories(dir.path / "u1/volumes/kubernetes.io~empty-dir/scratch");
  fs::create_directories(dir.path / "u1/volumes/kubernetes.io~csi/pvc-123/mount");
  EXPECT_EQ(find_volume_path(dir.path.string(), "u1", "scratch"),
            (dir.path / "u1/volumes/kubernetes.io~empty-dir/scratch").string());
  EXPECT_EQ(find_volume_path(dir.path.string(), "u1", "pvc-123/mount"),
            (dir.path / "u1/volumes/kubernetes.io~csi/pvc-123/mount").string());
  EXPECT_THROW(find_volume_path(dir.path.string(), "u2", "scratch"), std::runtime_error);
  fs::create_directories(dir.path / "u1/volumes/other~plugin/scratch");
  EXPECT_THROW(find_volume_path(dir.path.string(), "u1", "scratch"), std::runtime_error);
}

TEST(NodeAgentVolumes, PodsDirectoryFromAKubeliteNode) {
  Options o;
  o.host_pods_dir = "/nonexistent-host-pods";
  json node = {{"metadata", {{"annotations", {{"kubelite.dev/kubelet-root", "/tmp/k/node-0"}}}}}};
  EXPECT_EQ(pods_dir_for_node(o, node), "/tmp/k/node-0/pods");
  o.host_pods_dir_given = true;
  EXPECT_EQ(pods_dir_for_node(o, node), "/nonexistent-host-pods");
}

TEST(NodeAgentRestore, DoneFileReplacesEarlierOnes) {
  TempDir dir;
  fs::create_directories(dir.path / ".velero");
  std::ofstream(dir.path / ".velero/old-restore") << "x";
  json pvr = {{"metadata",
               {{"ownerReferences",
                 {{{"kind", "Restore"}, {"name", "r"}, {"uid", "not-controller"}},
                  {{"kind", "Restore"}, {"name", "r"}, {"uid", "restore-uid-1"}, {"controller", true}}}}}}};
  std::string uid = restore_uid(pvr);
  EXPECT_EQ(uid, "restore-uid-1");
  write_done_file(dir.path.string(), uid);
  EXPECT_TRUE(fs::is_regular_file(dir.path / ".velero/restore-uid-1"));
  EXPECT_EQ(fs::file_size(dir.path / ".velero/restore-uid-1"), 0u);
  EXPECT_FALSE(fs::exists(dir.path / ".velero/old-restore"));
  EXPECT_THROW(write_done_file(dir.path.string(), ""), std::runtime_error);
}

TEST(NodeAgentBackup, ResticTagsSortedKeyValue) {
  EXPECT_EQ(restic_tags({{"volume", "data"}, {"backup", "b1"}, {"pod-uid", "u"}}),
            (std::vector<std::string>{"backup=b1", "pod-uid=u", "volume=data"}));
}

TEST(Repositories, ResticIdentifierAsVelero) {
  api::BackupStorageLocation l;
  l.spec.provider = "aws";
  l.spec.object_storage.bucket = "bucket";
  l.spec.object_storage.prefix = "cluster-a/";
  l.spec.config["s3Url"] = "http://minio:9000/";
  EXPECT_EQ(controller::restic_identifier(l, "app"), "s3:http://minio:9000/bucket/cluster-a/restic/app");
  l.spec.config.clear();
  EXPECT_EQ(controller::restic_identifier(l, "app"), "s3:s3.amazonaws.com/bucket/cluster-a/restic/app");
  l.spec.provider = "velero.io/azure";
  l.spec.object_storage.prefix = "";
  EXPECT_EQ(controller::restic_identifier(l, "app"), "azure:bucket:/restic/app");
  l.spec.config["resticRepoPrefix"] = "s3:custom/repos/";
  EXPECT_EQ(controller::restic_identifier(l, "app"), "s3:custom/repos/app");
  l.spec.provider = "local";
  l.spec.config = {{"root", "/srv/store"}};
  EXPECT_EQ(controller::restic_identifier(l, "app"), "/srv/store/bucket/restic/app");
}

TEST(Repositories, MaintenanceForgetsOnlyTaggedSnapshotsOfDeletedBackups) {
  auto snap = [](std::string id, std::vector<std::string> tags) {
    repo::SnapshotInfo s;
    s.id = std::move(id);
    s.tags = std::move(tags);
    return s;
  };
  std::vector<repo::SnapshotInfo> snapshots = {snap("a", {"backup=kept-in-cluster", "volume=data"}),
                                               snap("b", {"backup=kept-in-store"}), snap("c", {"backup=deleted", "pod=p"}),
                                               snap("d", {"by-hand"}), snap("e", {})};
  auto stale = controller::snapshots_of_deleted_backups(snapshots, {"kept-in-cluster"}, {"kept-in-store"});
  EXPECT_EQ(stale, std::vector<std::string>{"c"});
}

TEST(NodeAgentSlots, ATransferTurnedAwayIsHandedBackWhenASlotFrees) {
  Slots slots(2);
  EXPECT_TRUE(slots.try_start("pvb/a"));
  EXPECT_FALSE(slots.try_start("pvb/a"));  // running already: not a waiter
  EXPECT_TRUE(slots.try_start("pvr/b"));
  EXPECT_FALSE(slots.try_start("pvb/c"));  // full: waits
  EXPECT_FALSE(slots.try_start("du/d"));
  EXPECT_FALSE(slots.try_start("pvb/c"));  // asked again: still one waiter
  EXPECT_EQ(slots.finish("pvb/a"), (std::vector<std::string>{"du/d", "pvb/c"}));
  EXPECT_TRUE(slots.finish("pvr/b").empty());  // the waiters were handed back once
  EXPECT_TRUE(slots.try_start("pvb/c"));
  EXPECT_TRUE(slots.try_start("du/d"));
  EXPECT_EQ(slots.running(), (std::set<std::string>{"du/d", "pvb/c"}));
  slots.request_cancel("pvb/c");
  slots.request_cancel("pvb/x");  // not running here: nothing to cancel
  EXPECT_TRUE(slots.cancel_requested("pvb/c"));
  EXPECT_FALSE(slots.cancel_requested("pvb/x"));
  slots.finish("pvb/c");
  EXPECT_FALSE(slots.cancel_requested("pvb/c"));
  EXPECT_FALSE(slots.is_running("pvb/c"));
}

void write_random(const fs::path& file, size_t size, unsigned seed) {
  fs::create_directories(file.parent_path());
  std::mt19937_64 rng(seed);
  std::string data(size, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  std::ofstream(file, std::ios::binary) << data;
}

TEST(RepositoryPool, AKeptRepositoryIsReusedAndSeesOtherWritersAndPrunes) {
  TempDir dir;
  const std::string store = (dir.path / "repo").string();
  repo::init_repository(repo::local_backend(store), "pw");
  write_random(dir.path / "a" / "file", 1 << 20, 1);
  write_random(dir.path / "b" / "file", 1 << 20, 2);
  int opens = 0;
  auto open = [&] {
    ++opens;
    return repo::open_repository(repo::local_backend(store), "pw");
  };
  auto backup = [&](repo::Repository& r, const fs::path& source) {
    repo::BackupOptions o;
    o.source = source.string();
    o.host = "test";
    return repo::backup(r, o);
  };
  RepositoryPool pool;
  {
    auto lease = pool.take("k", open);
    EXPECT_FALSE(lease.reused());
    EXPECT_GE(backup(*lease, dir.path / "a").bytes_added, 1u << 20);
    lease.keep();
  }
  EXPECT_EQ(pool.idle(), 1u);
  // Another writer (the other node's agent) stores b's data: the kept repository reads the index file it added.
  auto other = open();
  auto b_snapshot = backup(other, dir.path / "b").snapshot_id;
  fs::copy(dir.path / "b", dir.path / "b2", fs::copy_options::recursive);
  std::string b2_snapshot;
  {
    auto lease = pool.take("k", open);
    EXPECT_TRUE(lease.reused());
    auto result = backup(*lease, dir.path / "b2");
    EXPECT_LT(result.bytes_added, 100000u) << "b's data was stored again: the other writer's index was not read";
    b2_snapshot = result.snapshot_id;
    lease.keep();
  }
  EXPECT_EQ(opens, 2);  // the first and `other`
  // A prune removes b's data and supersedes every index file: the kept repository must not trust what it read.
  repo::ForgetPolicy forget;
  forget.snapshot_ids = {b_snapshot, b2_snapshot};
  repo::forget(other, forget);
  std::ostringstream log;
  EXPECT_GT(repo::prune(other, log).packs_deleted + repo::prune(other, log).packs_rewritten, 0u) << log.str();
  {
    auto lease = pool.take("k", open);
    EXPECT_TRUE(lease.reused());
    EXPECT_GE(backup(*lease, dir.path / "b").bytes_added, 1u << 20) << "b's pruned data was taken as stored";
    EXPECT_TRUE(repo::check(*lease, {true}, log).ok()) << log.str();
    // A failed transfer does not give its repository back.
  }
  EXPECT_EQ(pool.idle(), 0u);
  {
    auto lease = pool.take("k", open);
    EXPECT_FALSE(lease.reused());
    EXPECT_EQ(opens, 3);
    lease.keep();
  }
  // Another key (another namespace or location) never gets it; a repository replaced in the store is opened anew.
  {
    auto lease = pool.take("other", open);
    EXPECT_FALSE(lease.reused());
  }
  fs::remove_all(store);
  repo::init_repository(repo::local_backend(store), "pw");
  {
    auto lease = pool.take("k", open);
    EXPECT_FALSE(lease.reused());
    EXPECT_EQ(opens, 5);
    EXPECT_TRUE(backup(*lease, dir.path / "a").bytes_added >= 1u << 20);
  }
}

}  // namespace
}  // namespace arca::nodeagent
