// The node agent's DataUpload controller (Velero's pkg/controller/data_upload_controller.go with the CSI snapshot
// exposer, pkg/exposer/csi_snapshot.go): a New DataUpload is accepted by one agent (an update guarded by the
// object's resourceVersion: the others get a Conflict), which exposes the VolumeSnapshot on its node, uploads the
// mounted data with arca's engine into the restic-format repository of (source namespace, storage location), records
// the snapshot ID, then removes the exposer and the snapshot. Phases New -> Accepted -> Prepared -> InProgress ->
// Completed / Failed / Canceled.
#include <thread>

#include "kube/errors.h"
#include "nodeagent/agent.h"
#include "nodeagent/exposer.h"

namespace arca::nodeagent {
namespace {

using namespace std::chrono_literals;
using Phase = api::VolumeOperationPhase;

constexpr const char* kDataUploadLabel = "velero.io/data-upload";


// Velero's csi_snapshot.go Expose: the snapshot is handed over to a VolumeSnapshot and content in the velero
// namespace named after the DataUpload (the same driver handle, deletionPolicy Delete, so removing them at the end
// removes the driver's snapshot), the originals are deleted (their content first set to Retain so that the handle
// survives), then a claim is provisioned from the new snapshot and a pod on this node mounts it.
void expose(Agent& a, const api::DataUpload& du, const json& du_json) {
  kube::DynamicClient client(a.transport);
  const std::string& ns = a.options.namespace_name;
  const std::string& name = du.metadata.name;
  if (!a.have_snapshots) throw std::runtime_error("the cluster serves no snapshot.storage.k8s.io API");
  if (!du.spec.csi_snapshot) throw std::runtime_error("the DataUpload has no spec.csiSnapshot");
  const auto& csi = *du.spec.csi_snapshot;
  json vs = client.get(a.snapshots, du.spec.source_namespace, csi.volume_snapshot);
  std::string vsc_name = vs.value("/status/boundVolumeSnapshotContentName"_json_pointer, std::string());
  if (vsc_name.empty() || !vs.value("/status/readyToUse"_json_pointer, false))
    throw std::runtime_error("volume snapshot " + du.spec.source_namespace + "/" + csi.volume_snapshot +
                             " is not ready to use");
  json vsc = client.get(a.contents, "", vsc_name);
  std::string handle = vsc.value("/status/snapshotHandle"_json_pointer, std::string());
  if (handle.empty()) throw std::runtime_error("volume snapshot content " + vsc_name + " has no snapshot handle");
  std::string restore_size = vs.value("/status/restoreSize"_json_pointer, std::string());
  if (restore_size.empty() && vsc.contains("/status/restoreSize"_json_pointer))
    restore_size = std::to_string(vsc["status"]["restoreSize"].get<int64_t>());
  if (restore_size.empty()) restore_size = "1Gi";

  json labels = {{kDataUploadLabel, name}};
  json backup_vsc = {{"apiVersion", "snapshot.storage.k8s.io/v1"},
                     {"kind", "VolumeSnapshotContent"},
                     {"metadata", {{"name", name}, {"labels", labels}}},
                     {"spec",
                      {{"deletionPolicy", "Delete"},
                       {"driver", vsc["spec"].value("driver", "")},
                       {"source", {{"snapshotHandle", handle}}},
                       {"volumeSnapshotRef",
                        {{"apiVersion", "snapshot.storage.k8s.io/v1"},
                         {"kind", "VolumeSnapshot"},
                         {"namespace", ns},
                         {"name", name}}}}}};
  if (vsc["spec"].contains("volumeSnapshotClassName"))
    backup_vsc["spec"]["volumeSnapshotClassName"] = vsc["spec"]["volumeSnapshotClassName"];
  client.create(a.contents, "", backup_vsc);
  json backup_vs = {{"apiVersion", "snapshot.storage.k8s.io/v1"},
                    {"kind", "VolumeSnapshot"},
                    {"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}},
                    {"spec", {{"source", {{"volumeSnapshotContentName", name}}}}}};
  client.create(a.snapshots, ns, backup_vs);
  // The originals go; the driver's snapshot now belongs to the content above.
  client.patch(a.contents, "", vsc_name, kube::PatchType::Merge, R"({"spec":{"deletionPolicy":"Retain"}})");
  try {
    client.remove(a.snapshots, du.spec.source_namespace, csi.volume_snapshot);
  } catch (const kube::KubeError& e) {
    if (!kube::is_not_found(e)) throw;
  }
  try {
    client.remove(a.contents, "", vsc_name);
  } catch (const kube::KubeError& e) {
    if (!kube::is_not_found(e)) throw;
  }

  json pvc = {{"apiVersion", "v1"},
              {"kind", "PersistentVolumeClaim"},
              {"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}},
              {"spec",
               {{"accessModes", json::array({"ReadWriteOnce"})},
                {"resources", {{"requests", {{"storage", restore_size}}}}},
                {"dataSource", {{"apiGroup", "snapshot.storage.k8s.io"}, {"kind", "VolumeSnapshot"}, {"name", name}}}}}};
  if (!csi.storage_class.empty()) pvc["spec"]["storageClassName"] = csi.storage_class;
  client.create(a.pvcs, ns, pvc);
  client.create(a.pods, ns, exposer_pod(name, ns, a.node, name, du_json, kDataUploadLabel));
}

// Velero's exposer CleanUp: the pod, the claim (its volume goes with it) and the handed-over snapshot with its data;
// the originals too when the exposure stopped before taking them over.
void clean_up(Agent& a, const api::DataUpload& du) {
  const std::string& name = du.metadata.name;
  try {
    remove_pod_and_claim(a, name);
    delete_snapshot(a, a.options.namespace_name, name, name);
    if (du.spec.csi_snapshot) delete_snapshot(a, du.spec.source_namespace, du.spec.csi_snapshot->volume_snapshot, "");
  } catch (const std::exception& e) {
    spdlog::error("DataUpload {}: cleaning up the exposer failed: {}", name, e.what());
  }
}

void run_upload(Agent& a, api::DataUpload du, json du_json) {
  const std::string& name = du.metadata.name;
  std::string key = "du/" + name;
  auto canceled = [&] { return a.cancel_requested(key); };
  std::string step = "error exposing the snapshot";
  auto canceled_now = [&] {
    clean_up(a, du);
    a.patch_status(a.dus, name, {{"phase", "Canceled"}, {"completionTimestamp", now_text()}});
    spdlog::info("DataUpload {} Canceled", name);
  };
  try {
    expose(a, du, du_json);
    auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(a.options.resource_timeout);
    auto [host, real] = wait_exposed(a, name, timeout, canceled);
    a.patch_status(a.dus, name, {{"phase", "Prepared"}, {"node", a.node}});
    if (canceled()) return canceled_now();
    step = "error to initialize data path";
    auto repository = a.open_repository(du.spec.backup_storage_location, du.spec.source_namespace);
    a.patch_status(a.dus, name, {{"phase", "InProgress"}, {"startTimestamp", now_text()}, {"path", host}, {"node", a.node}});
    spdlog::info("DataUpload {}: uploading the snapshot of PVC {}/{} ({})", name, du.spec.source_namespace,
                 du.spec.source_pvc, real);
    step = "data path backup failed";
    repo::Progress last;
    repo::BackupOptions o;
    o.source = real;
    // Velero's data mover tags its snapshots with the operation (and the uploader's requester).
    std::map<std::string, std::string> tags = {{"snapshot-requester", "DataUpload"},
                                               {"snapshot-uploader", "restic"},
                                               {"ns", du.spec.source_namespace},
                                               {"pvc", du.spec.source_pvc}};
    for (const char* label : {"velero.io/backup-name", "velero.io/async-operation-id"})
      if (auto it = du.metadata.labels.find(label); it != du.metadata.labels.end()) tags[label] = it->second;
    o.tags = restic_tags(tags);
    o.host = "velero";
    o.retry_lock = std::chrono::seconds(60);
    o.progress = a.progress(a.dus, name, last);
    // parentSnapshot (Velero 1.19): "none" is a full backup, every file read again; an ID names the parent.
    if (du.spec.parent_snapshot == "none")
      o.force = true;
    else if (!du.spec.parent_snapshot.empty() && du.spec.parent_snapshot != "auto")
      o.parent = du.spec.parent_snapshot;
    auto result = repo::backup(*repository, o);
    repository.keep();
    // The engine cannot stop half way: a cancel asked for meanwhile wins when it returns (the snapshot it wrote
    // is unreferenced and goes with the next forget/prune of the repository).
    if (canceled()) {
      repo::ForgetPolicy forget;
      forget.snapshot_ids = {result.snapshot_id};
      try {
        repo::forget(*repository, forget);
      } catch (const std::exception& e) {
        spdlog::warn("DataUpload {}: cannot forget the canceled snapshot: {}", name, e.what());
      }
      return canceled_now();
    }
    int64_t total = static_cast<int64_t>(std::max(last.bytes_total, last.bytes_done));
    step = "error cleaning up the exposer";
    clean_up(a, du);
    a.complete(a.dus, name, total, {{"snapshotID", result.snapshot_id}, {"path", host}});
    spdlog::info("DataUpload {} Completed: snapshot {} ({} bytes read, {} added)", name,
                 result.snapshot_id.substr(0, 8), result.bytes_read, result.bytes_added);
  } catch (const std::exception& e) {
    if (canceled()) return canceled_now();
    clean_up(a, du);
    a.fail(a.dus, name, step + ": " + e.what());
  }
}

}  // namespace

controller::ReconcileResult reconcile_data_upload(Agent& a, const kube::ObjectPtr& cached) {
  if (!cached) return {};
  auto du = cached->get<api::DataUpload>();
  if (!du.spec.datamover.empty() && du.spec.datamover != "velero") return {};
  const std::string& name = du.metadata.name;
  std::string key = "du/" + name;
  if (a.is_running(key)) {
    if (du.spec.cancel) a.request_cancel(key);
    return {};
  }
  if (!is_new(du.status.phase)) return {};
  json stored;
  try {
    stored = a.get(a.dus, a.options.namespace_name, name);
  } catch (const kube::KubeError& e) {
    if (kube::is_not_found(e)) return {};
    throw;
  }
  du = stored.get<api::DataUpload>();
  if (!is_new(du.status.phase)) return {};
  if (du.spec.cancel) {
    a.patch_status(a.dus, name, {{"phase", "Canceled"}, {"completionTimestamp", now_text()}});
    spdlog::info("DataUpload {} Canceled before it started", name);
    return {};
  }
  if (!a.try_start(key)) return {1s};  // the node's loadConcurrency is used up: asked again
  // Accepted through an update guarded by the resourceVersion: of several agents exactly one wins.
  try {
    json accepted = stored;
    accepted["status"]["phase"] = "Accepted";
    accepted["status"]["acceptedByNode"] = a.node;
    accepted["status"]["acceptedTimestamp"] = now_text();
    stored = kube::DynamicClient(a.transport).update(a.dus, a.options.namespace_name, accepted, {},
                                                            a.dus.subresource("status") ? "status" : "");
  } catch (const kube::KubeError& e) {
    a.finish(key);
    if (kube::is_conflict(e)) return {};  // another node accepted it
    if (kube::is_not_found(e)) return {};
    throw;
  }
  spdlog::info("DataUpload {} accepted on node {}", name, a.node);
  a.spawn([&a, du, stored, key] {
    run_upload(a, du, stored);
    a.finish(key);
  });
  return {};
}

}  // namespace arca::nodeagent
