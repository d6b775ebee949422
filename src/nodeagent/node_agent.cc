// The node agent's server: start-up as Velero's (in-flight operations of this node marked Failed, the
// concurrency from the node-agent ConfigMap), one controller for PodVolumeBackups and one for PodVolumeRestores,
// and the data transfers on their own threads, at most `loadConcurrency` at a time on this node.
#include <signal.h>
#include <unistd.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "api/types.h"
#include "controller/repositories.h"
#include "controller/context.h"
#include "controller/runtime.h"
#include "controller/server.h"
#include "kube/discovery.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "kube/transport.h"
#include "nodeagent/agent.h"
#include "nodeagent/node_agent.h"
#include "repo/repository.h"
#include "util/timestamp.h"

namespace arca::nodeagent {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using Phase = api::VolumeOperationPhase;

constexpr const char* kRestoreWaitContainer = "restore-wait";  // Velero's restorehelper.WaitInitContainer
constexpr const char* kHostName = "velero";  // the --host Velero's restic uploader records in snapshots



std::string kopia_message(const std::string& what) {
  return "uploader type kopia is not supported: arca reads and writes restic-format repositories only, so this " +
         what + " (made for Velero's kopia uploader) cannot be processed";
}


// Accepted, then Prepared (the volume is reachable on this node: arca needs no exposer pod), then InProgress.
void advance(Agent& a, const kube::ApiResource& r, const std::string& name, json accepted_extra) {
  json accepted = {{"phase", "Accepted"}, {"acceptedTimestamp", now_text()}};
  accepted.update(accepted_extra);
  a.patch_status(r, name, accepted);
  a.patch_status(r, name, {{"phase", "Prepared"}});
}

// Velero 1.19's backupType (block data mover design, "File System Data Mover"): a Full backup reads every file
// again instead of trusting the parent snapshot's metadata (restic's --force); the owning Backup says which.
bool full_backup_requested(Agent& a, const api::PodVolumeBackup& pvb) {
  auto backup_name = pvb.metadata.labels.find("velero.io/backup-name");
  if (backup_name == pvb.metadata.labels.end()) return false;
  try {
    return a.get(a.backups, a.options.namespace_name, backup_name->second)["spec"].value("backupType", "") == "Full";
  } catch (const kube::KubeError& e) {
    spdlog::warn("PodVolumeBackup {}: backup {} not readable ({}); backing up incrementally", pvb.metadata.name,
                 backup_name->second, e.what());
    return false;
  }
}

void run_backup(Agent& a, api::PodVolumeBackup pvb) {
  const std::string& name = pvb.metadata.name;
  std::string where = "volume " + pvb.spec.volume + " of pod " + pvb.spec.pod.namespace_ + "/" + pvb.spec.pod.name;
  std::string step = "error exposing host path for pod volume", started;
  try {
    auto pod = a.get(a.pods, pvb.spec.pod.namespace_, pvb.spec.pod.name);
    if (!pvb.spec.pod.uid.empty() && pod["metadata"].value("uid", "") != pvb.spec.pod.uid)
      throw std::runtime_error("pod " + pvb.spec.pod.namespace_ + "/" + pvb.spec.pod.name + " has UID " +
                               pod["metadata"].value("uid", "") + ", not " + pvb.spec.pod.uid + " (recreated)");
    auto [host, real] = a.volume_paths(pod, pvb.spec.volume);
    step = "error to initialize data path";
    auto repository = a.open_repository(pvb.spec.backup_storage_location, pvb.spec.pod.namespace_);
    started = now_text();
    a.patch_status(a.pvbs, name, {{"phase", "InProgress"}, {"startTimestamp", started}, {"path", host}});
    spdlog::info("PodVolumeBackup {}: backing up {} ({})", name, where, real);
    step = "data path backup failed";
    repo::Progress last;
    repo::BackupOptions o;
    o.source = real;
    o.tags = restic_tags(pvb.spec.tags);
    o.host = kHostName;
    o.retry_lock = std::chrono::seconds(60);  // a maintenance holding the exclusive lock
    o.progress = a.progress(a.pvbs, name, last);
    o.force = full_backup_requested(a, pvb);
    o.canceled = [&a, key = "pvb/" + name] { return a.cancel_requested(key); };
    auto result = repo::backup(*repository, o);
    repository.keep();
    int64_t total = static_cast<int64_t>(std::max(last.bytes_total, last.bytes_done));
    std::string completed = a.complete(a.pvbs, name, total, {{"snapshotID", result.snapshot_id}, {"path", host}});
    // Velero's latency: startTimestamp (InProgress) to completionTimestamp, whole seconds.
    auto backup_name = pvb.metadata.labels.find("velero.io/backup-name");
    controller::record_pod_volume_backup_latency(
        a.metrics, a.node, name,
        name + "-" + pvb.spec.backup_storage_location + "-" + pvb.spec.pod.namespace_ + "-" +
            std::string(api::to_string(pvb.spec.uploader_type)) + "-backup",
        a.options.namespace_name + "/" +
            (backup_name == pvb.metadata.labels.end() ? std::string() : backup_name->second),
        double((parse_rfc3339(completed) - parse_rfc3339(started)).count()));
    spdlog::info("PodVolumeBackup {} Completed: snapshot {} ({} bytes read, {} added)", name,
                 result.snapshot_id.substr(0, 8), result.bytes_read, result.bytes_added);
  } catch (const std::exception& e) {
    if (!a.cancel_requested("pvb/" + name)) return a.fail(a.pvbs, name, step + ": " + where + ": " + e.what());
    // What the upload stored is unreferenced until the next prune.
    a.canceled(a.pvbs, name, "the transfer of " + where + " stopped");
  }
}

void run_restore(Agent& a, api::PodVolumeRestore pvr, json pod, std::string uid) {
  const std::string& name = pvr.metadata.name;
  std::string where = "volume " + pvr.spec.volume + " of pod " + pvr.spec.pod.namespace_ + "/" + pvr.spec.pod.name;
  std::string step = "error exposing host path for pod volume";
  try {
    auto [host, real] = a.volume_paths(pod, pvr.spec.volume);
    step = "error to initialize data path";
    std::string source_ns = pvr.spec.source_namespace.empty() ? pvr.spec.pod.namespace_ : pvr.spec.source_namespace;
    auto repository = a.open_repository(pvr.spec.backup_storage_location, source_ns);
    a.patch_status(a.pvrs, name,
                   {{"phase", "InProgress"},
                    {"startTimestamp", now_text()},
                    {"progress", {{"totalBytes", pvr.spec.snapshot_size}, {"bytesDone", 0}}}});
    spdlog::info("PodVolumeRestore {}: restoring snapshot {} into {} ({})", name, pvr.spec.snapshot_id, where, real);
    step = "data path restore failed";
    repo::Progress last;
    repo::RestoreOptions o;
    o.snapshot = pvr.spec.snapshot_id;
    o.target = real;
    o.progress = a.progress(a.pvrs, name, last);
    o.canceled = [&a, key = "pvr/" + name] { return a.cancel_requested(key); };
    auto result = repo::restore(*repository, o);
    repository.keep();
    step = "error writing done file";
    write_done_file(real, uid);
    int64_t total = static_cast<int64_t>(std::max<uint64_t>(last.bytes_done, result.bytes));
    a.complete(a.pvrs, name, total);
    spdlog::info("PodVolumeRestore {} Completed: {} files, {} bytes", name, result.files, result.bytes);
  } catch (const std::exception& e) {
    if (!a.cancel_requested("pvr/" + name)) return a.fail(a.pvrs, name, step + ": " + where + ": " + e.what());
    // The volume keeps what was written; the restore helper is not released.
    a.canceled(a.pvrs, name, "the transfer into " + where + " stopped");
  }
}

controller::ReconcileResult reconcile_backup(Agent& a, const std::string& object_key, const kube::ObjectPtr& cached) {
  // Velero's pod_volume_backup_controller.go: spec.cancel on a running transfer, or its PodVolumeBackup deleted,
  // stops the upload (the engine checks between files and chunks).
  if (!cached) {
    a.request_cancel("pvb/" + object_key.substr(object_key.find('/') + 1));
    return {};
  }
  auto pvb = cached->get<api::PodVolumeBackup>();
  std::string key = "pvb/" + pvb.metadata.name;
  if (a.is_running(key)) {
    if (pvb.spec.cancel) a.request_cancel(key);
    return {};
  }
  if (pvb.spec.node != a.node || !is_new(pvb.status.phase)) return {};
  // The informer may lag behind this agent's own writes: decide on the stored object.
  try {
    pvb = a.get(a.pvbs, a.options.namespace_name, pvb.metadata.name).get<api::PodVolumeBackup>();
  } catch (const kube::KubeError& e) {
    if (kube::is_not_found(e)) return {};
    throw;
  }
  if (!is_new(pvb.status.phase)) return {};
  const std::string& name = pvb.metadata.name;
  if (pvb.spec.cancel) {
    a.patch_status(a.pvbs, name, {{"phase", "Canceled"}, {"completionTimestamp", now_text()}});
    return {};
  }
  if (pvb.spec.uploader_type == api::RepositoryType::kopia) {
    a.fail(a.pvbs, name, kopia_message("PodVolumeBackup"));
    return {};
  }
  if (!a.try_start(key)) return {1s};  // Velero requeues when the concurrency limit is reached
  try {
    advance(a, a.pvbs, name, json::object());
  } catch (...) {
    a.finish(key);
    throw;
  }
  controller::record_pod_volume_backup_enqueue(a.metrics, a.node);
  a.spawn([&a, pvb, key] {
    run_backup(a, pvb);
    controller::record_pod_volume_backup_dequeue(a.metrics, a.node);
    a.finish(key);
  });
  return {};
}

bool init_container_running(const json& pod, const std::string& container) {
  for (const auto& s : pod.value("status", json::object()).value("initContainerStatuses", json::array()))
    if (s.value("name", "") == container) return s.value("state", json::object()).contains("running");
  return false;
}

bool has_init_container(const json& pod, const std::string& container) {
  for (const auto& c : pod["spec"].value("initContainers", json::array()))
    if (c.value("name", "") == container) return true;
  return false;
}

controller::ReconcileResult reconcile_restore(Agent& a, const kube::ObjectPtr& cached) {
  if (!cached) return {};
  auto pvr = cached->get<api::PodVolumeRestore>();
  std::string key = "pvr/" + pvr.metadata.name;
  // Velero's pod_volume_restore_controller.go: spec.cancel stops a running transfer (the engine checks between
  // files and packs).
  if (a.is_running(key)) {
    if (pvr.spec.cancel) a.request_cancel(key);
    return {};
  }
  if (!is_new(pvr.status.phase)) return {};
  json pod;
  try {
    pod = a.get(a.pods, pvr.spec.pod.namespace_, pvr.spec.pod.name);
  } catch (const kube::KubeError& e) {
    if (kube::is_not_found(e)) return {2s};  // the restore creates the pod right after its PodVolumeRestores
    throw;
  }
  std::string pod_node = pod["spec"].value("nodeName", "");
  if (pod_node.empty()) return {1s};  // not scheduled yet
  if (pod_node != a.node) return {};
  // As Velero's shouldProcess: the restore helper must be waiting (it is the volume's first user); a pod without
  // it is restored into once the kubelet has set its volumes up.
  if (has_init_container(pod, kRestoreWaitContainer) && !init_container_running(pod, kRestoreWaitContainer))
    return {1s};
  try {
    a.volume_paths(pod, pvr.spec.volume);
  } catch (const std::exception&) {
    return {1s};  // the kubelet has not made the volume's directory yet
  }
  try {
    pvr = a.get(a.pvrs, a.options.namespace_name, pvr.metadata.name).get<api::PodVolumeRestore>();
  } catch (const kube::KubeError& e) {
    if (kube::is_not_found(e)) return {};
    throw;
  }
  if (!is_new(pvr.status.phase)) return {};
  const std::string& name = pvr.metadata.name;
  if (pvr.spec.cancel) {
    a.patch_status(a.pvrs, name, {{"phase", "Canceled"}, {"completionTimestamp", now_text()}});
    return {};
  }
  if (pvr.spec.uploader_type == api::RepositoryType::kopia) {
    a.fail(a.pvrs, name, kopia_message("PodVolumeRestore"));
    return {};
  }
  if (!a.try_start(key)) return {1s};
  try {
    advance(a, a.pvrs, name, {{"node", a.node}});
  } catch (...) {
    a.finish(key);
    throw;
  }
  std::string uid = restore_uid(a.get(a.pvrs, a.options.namespace_name, name));
  a.spawn([&a, pvr, pod, uid, key] {
    run_restore(a, pvr, pod, uid);
    a.finish(key);
  });
  return {};
}

bool in_flight(Phase p) { return p == Phase::Accepted || p == Phase::Prepared || p == Phase::InProgress; }

// Velero's markInProgressPVBsFailed / markInProgressPVRsFailed: a transfer this node was running cannot survive the
// node agent's restart (its process is gone; the repository keeps only whole packs and the lock goes stale).
void fail_interrupted(Agent& a) {
  kube::DynamicClient client(a.transport);
  std::vector<std::pair<std::string, std::string>> pvbs, pvrs;  // name, phase
  std::set<std::pair<std::string, std::string>> touched;         // (location, volume namespace)
  client.list(a.pvbs, a.options.namespace_name, {}, [&](const kube::ListItem& item) {
    auto pvb = item.parse().get<api::PodVolumeBackup>();
    if (pvb.spec.node != a.node || !in_flight(pvb.status.phase)) return;
    pvbs.emplace_back(pvb.metadata.name, std::string(api::to_string(pvb.status.phase)));
    touched.emplace(pvb.spec.backup_storage_location, pvb.spec.pod.namespace_);
  });
  client.list(a.pvrs, a.options.namespace_name, {}, [&](const kube::ListItem& item) {
    auto pvr = item.parse().get<api::PodVolumeRestore>();
    if (pvr.status.node != a.node || !in_flight(pvr.status.phase)) return;
    pvrs.emplace_back(pvr.metadata.name, std::string(api::to_string(pvr.status.phase)));
    touched.emplace(pvr.spec.backup_storage_location,
                    pvr.spec.source_namespace.empty() ? pvr.spec.pod.namespace_ : pvr.spec.source_namespace);
  });
  // The interrupted transfers' repository locks first (so that a Failed phase means the repository is usable):
  // stale for arca, but restic refuses an exclusive lock while they exist, and a restarted container may run with
  // its predecessor's PID. Velero unlocks before using a repository.
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  for (const auto& [location_name, volume_namespace] : touched) {
    try {
      auto location = a.get(a.locations, a.options.namespace_name, location_name).get<api::BackupStorageLocation>();
      std::string password = controller::ensure_repository_password(a.transport, a.secrets, a.options.namespace_name);
      auto repository =
          controller::open_volume_repository(a.transport, a.secrets, location, volume_namespace, password, false);
      size_t removed = repo::unlock(repository, [&](const std::string& hostname, int64_t pid) {
        return hostname == host && pid == static_cast<int64_t>(getpid());
      });
      if (removed) spdlog::info("removed {} stale lock(s) of the repository of namespace {} in location {}", removed,
                                volume_namespace, location_name);
    } catch (const std::exception& e) {
      spdlog::warn("cannot unlock the repository of namespace {} in location {}: {}", volume_namespace, location_name,
                   e.what());
    }
  }
  for (const auto& [name, phase] : pvbs)
    a.fail(a.pvbs, name,
           "found a podvolumebackup with status \"" + phase + "\" during the server starting, mark it as \"Failed\"");
  for (const auto& [name, phase] : pvrs)
    a.fail(a.pvrs, name, "cannot survive from node-agent restart: found a podvolumerestore with status \"" + phase +
                             "\" during the server starting, mark it as \"Failed\"");
}

}  // namespace

void run_node_agent(const Options& options) {
  if (options.node_name.empty())
    throw std::invalid_argument("the node name is required: --node-name or the NODE_NAME environment variable");
  sigset_t signals = controller::block_termination_signals();

  auto config = kube::load_config(options.kube);
  config.qps = options.client_qps;
  config.burst = options.client_burst;
  kube::Transport transport(config);
  kube::Discovery discovery(transport);
  auto lookup = [&](const char* group, const char* resource) { return controller::lookup_v1(discovery, group, resource); };
  Agent a(options, transport);
  a.pvbs = lookup("velero.io", "podvolumebackups");
  a.pvrs = lookup("velero.io", "podvolumerestores");
  a.pods = lookup("", "pods");
  a.pvcs = lookup("", "persistentvolumeclaims");
  a.pvs = lookup("", "persistentvolumes");
  a.secrets = lookup("", "secrets");
  a.repositories = lookup("velero.io", "backuprepositories");
  a.locations = lookup("velero.io", "backupstoragelocations");
  a.backups = lookup("velero.io", "backups");
  a.dus = discovery.lookup("velero.io", "v2alpha1", "datauploads");
  a.dds = discovery.lookup("velero.io", "v2alpha1", "datadownloads");
  {
    auto data = discovery.data();
    const auto* vs = data->preferred("snapshot.storage.k8s.io", "volumesnapshots");
    const auto* vsc = data->preferred("snapshot.storage.k8s.io", "volumesnapshotcontents");
    a.have_snapshots = vs && vsc;
    if (a.have_snapshots) {
      a.snapshots = *vs;
      a.contents = *vsc;
    }
  }
  a.node = options.node_name;
  json node = json::object({{"metadata", json::object()}});
  try {
    node = a.get(lookup("", "nodes"), "", a.node);
  } catch (const kube::KubeError& e) {
    if (!kube::is_not_found(e)) throw;
    spdlog::warn("node {} not found; using the pods directory {}", a.node, options.host_pods_dir);
  }
  a.pods_dir = pods_dir_for_node(options, node);
  if (!options.node_agent_configmap.empty()) {
    try {
      auto cm = a.get(lookup("", "configmaps"), options.namespace_name, options.node_agent_configmap);
      a.slots.set_limit(concurrency_for_node(parse_node_agent_config(cm),
                                     node["metadata"].value("labels", std::map<std::string, std::string>{})));
    } catch (const kube::KubeError& e) {
      if (!kube::is_not_found(e)) throw;
      spdlog::warn("node-agent ConfigMap {}/{} not found; concurrency 1", options.namespace_name,
                   options.node_agent_configmap);
    }
  }
  controller::ensure_repository_password(transport, a.secrets, options.namespace_name);
  fail_interrupted(a);

  controller::Controller backups("podvolumebackup", transport, a.pvbs, options.namespace_name,
                                 [&a](const std::string& key, const kube::ObjectPtr& o) { return reconcile_backup(a, key, o); });
  controller::Controller restores("podvolumerestore", transport, a.pvrs, options.namespace_name,
                                  [&a](const std::string&, const kube::ObjectPtr& o) { return reconcile_restore(a, o); });
  controller::Controller uploads("dataupload", transport, a.dus, options.namespace_name,
                                  [&a](const std::string&, const kube::ObjectPtr& o) { return reconcile_data_upload(a, o); });
  controller::Controller downloads("datadownload", transport, a.dds, options.namespace_name,
                                   [&a](const std::string&, const kube::ObjectPtr& o) { return reconcile_data_download(a, o); });
  controller::init_pod_volume_metrics(a.metrics, a.node);
  std::atomic<bool> running{false};
  controller::TextEndpoint endpoint(
      options.metrics_address,
      {{"/metrics", [&a] { return controller::TextEndpoint::Answer{200, a.metrics.exposition()}; }},
       {"/healthz", [&running] {
          return running ? controller::TextEndpoint::Answer{200, "ok\n"}
                         : controller::TextEndpoint::Answer{503, "the node agent is not running its controllers\n"};
        }}});
  a.wake = [&](const std::string& key) {
    auto slash = key.find('/');
    std::string kind = key.substr(0, slash), object = options.namespace_name + "/" + key.substr(slash + 1);
    (kind == "pvb" ? backups : kind == "pvr" ? restores : kind == "du" ? uploads : downloads).enqueue(object);
  };
  backups.start();
  restores.start();
  uploads.start();
  downloads.start();
  running = true;
  spdlog::info("arca node agent started on node {} (pods directory {}, concurrency {}) in namespace {}", a.node,
               a.pods_dir, a.slots.limit(), options.namespace_name);

  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("received signal {}, shutting down", received);
  running = false;
  for (auto* c : {&backups, &restores, &uploads, &downloads}) c->request_stop();
  for (auto* c : {&backups, &restores, &uploads, &downloads}) c->stop();
  std::set<std::string> interrupted = a.slots.running();
  if (!interrupted.empty()) {
    // The transfers are not waited for (a restore cannot be interrupted mid-way); what they wrote so far is
    // unreferenced data a prune removes.
    for (const auto& key : interrupted) {
      auto slash = key.find('/');
      std::string kind = key.substr(0, slash);
      const kube::ApiResource& r = kind == "pvb" ? a.pvbs : kind == "pvr" ? a.pvrs : kind == "du" ? a.dus : a.dds;
      a.fail(r, key.substr(slash + 1), "the node agent was stopped (signal " + std::to_string(received) +
                                           ") during the data transfer");
    }
    spdlog::info("arca node agent stopped");
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }
  for (auto& t : a.threads) t.join();
  spdlog::info("arca node agent stopped");
}

}  // namespace arca::nodeagent
