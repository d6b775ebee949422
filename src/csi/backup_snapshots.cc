#include "csi/backup_snapshots.h"

#include <thread>

#include "kube/errors.h"
#include "crypt/primitives.h"
#include "util/names.h"

namespace arca::csi {
namespace {


std::string key(const std::string& group, const std::string& resource, const std::string& ns, const std::string& name) {
  return group + "|" + resource + "|" + ns + "|" + name;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!part.empty() && part.front() == ' ') part.erase(part.begin());
    while (!part.empty() && part.back() == ' ') part.pop_back();
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string seconds_text(std::chrono::milliseconds d) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  return std::to_string(s) + "s";
}

}  // namespace

CsiSnapshotter::CsiSnapshotter(kube::Transport& transport, kube::Discovery& discovery, const api::Backup& backup,
                               backup::BackupLog& log, backup::VolumeInfoCollector* volume_info,
                               SnapshotterOptions options)
    : client_(transport),
      discovery_(discovery),
      backup_(backup),
      log_(log),
      volume_info_(volume_info),
      options_(std::move(options)) {
  auto data = discovery_.data();
  const auto* vs = data->preferred(kSnapshotGroup, "volumesnapshots");
  const auto* vsc = data->preferred(kSnapshotGroup, "volumesnapshotcontents");
  const auto* cls = data->preferred(kSnapshotGroup, "volumesnapshotclasses");
  const auto* sc = data->preferred("storage.k8s.io", "storageclasses");
  const auto* pods = data->preferred("", "pods");
  have_snapshot_api_ = vs && vsc && cls && sc && pods;
  if (have_snapshot_api_) {
    snapshots_ = *vs;
    contents_ = *vsc;
    classes_ = *cls;
    storage_classes_ = *sc;
    pods_ = *pods;
  }
  if (options_.move_data) {
    const auto* dus = data->preferred("velero.io", "datauploads");
    if (dus) data_uploads_ = *dus;
    else options_.move_data = false;  // no DataUpload CRD: snapshots stay in the driver, as without the flag
  }
}

std::vector<json>& CsiSnapshotter::snapshot_classes() {
  if (!class_list_) {
    class_list_.emplace();
    client_.list(classes_, "", {}, [&](const kube::ListItem& item) { class_list_->push_back(item.parse()); });
  }
  return *class_list_;
}

// Velero's pkg/util/podvolume GetVolumesByPod: a PVC that a pod's volume sends to file-system backup is not
// snapshotted (opt-in annotation backup.velero.io/backup-volumes, or defaultVolumesToFsBackup less the opt-outs).
bool CsiSnapshotter::goes_to_fs_backup(const json& pvc) {
  std::string ns = string_at(pvc, "/metadata/namespace"_json_pointer), name = string_at(pvc, "/metadata/name"_json_pointer);
  auto [it, inserted] = pods_by_ns_.try_emplace(ns);
  if (inserted)
    client_.list(pods_, ns, {}, [&](const kube::ListItem& item) {
      if (item.json.find("persistentVolumeClaim") != std::string_view::npos) it->second.push_back(item.parse());
    });
  const bool by_default = backup_.spec.default_volumes_to_fs_backup.value_or(false);
  for (const auto& pod : it->second) {
    std::string phase = string_at(pod, "/status/phase"_json_pointer);
    if (phase == "Succeeded" || phase == "Failed") continue;
    auto includes = split_list(string_at(pod, "/metadata/annotations/backup.velero.io~1backup-volumes"_json_pointer));
    auto excludes =
        split_list(string_at(pod, "/metadata/annotations/backup.velero.io~1backup-volumes-excludes"_json_pointer));
    for (const auto& volume : pod.value("/spec/volumes"_json_pointer, json::array())) {
      if (string_at(volume, "/persistentVolumeClaim/claimName"_json_pointer) != name) continue;
      std::string volume_name = volume.value("name", "");
      bool listed = std::find(includes.begin(), includes.end(), volume_name) != includes.end();
      bool excluded = std::find(excludes.begin(), excludes.end(), volume_name) != excludes.end();
      if (by_default ? !excluded : listed) return true;
    }
  }
  return false;
}

void CsiSnapshotter::record_skipped(const json& pvc, const json& pv, const std::string& reason) {
  if (!volume_info_) return;
  backup::BackupVolumeInfo info;
  info.pvc_name = string_at(pvc, "/metadata/name"_json_pointer);
  info.pvc_namespace = string_at(pvc, "/metadata/namespace"_json_pointer);
  info.pv_name = string_at(pv, "/metadata/name"_json_pointer);
  info.skipped = true;
  info.skipped_reason = reason;
  backup::PVInfo pv_info;
  pv_info.reclaim_policy = string_at(pv, "/spec/persistentVolumeReclaimPolicy"_json_pointer);
  if (pv.is_object() && pv.contains("/metadata/labels"_json_pointer))
    for (const auto& [k, v] : pv["metadata"]["labels"].items())
      if (v.is_string()) pv_info.labels[k] = v.get<std::string>();
  info.pv_info = pv_info;
  volume_info_->add(std::move(info));
}

// pkg/backup/actions/csi/pvc_action.go Execute.
bool CsiSnapshotter::on_pvc(json& pvc, const json& pv) {
  if (!have_snapshot_api_ || !pv.is_object() || !pv.contains("/spec/csi"_json_pointer)) return false;
  if (string_at(pvc, "/status/phase"_json_pointer) != "Bound") return false;
  const std::string ns = string_at(pvc, "/metadata/namespace"_json_pointer);
  const std::string name = string_at(pvc, "/metadata/name"_json_pointer);
  backup::LogFields fields{"persistentvolumeclaims", ns, name, true};
  // volumehelper.ShouldPerformSnapshotWithBackup: a matching volume policy decides; else snapshotVolumes, then
  // whether a pod sends the volume to file-system backup.
  bool by_policy = false;
  for (const auto& rule : options_.volume_policies) {
    if (!volume_conditions_match(rule.conditions, pvc, pv)) continue;
    if (rule.action != "snapshot") {
      if (rule.action == "skip") record_skipped(pvc, pv, "skipped due to resource policy");
      log_.info("Skipping the CSI snapshot of the PVC: volume policy action " + rule.action, fields);
      return false;
    }
    by_policy = true;
    break;
  }
  if (!by_policy && backup_.spec.snapshot_volumes == false) {
    record_skipped(pvc, pv, "skipped due to snapshotVolumes is false");
    log_.info("Skipping the CSI snapshot of the PVC: the backup's snapshotVolumes is false", fields);
    return false;
  }
  try {
    if (!by_policy && goes_to_fs_backup(pvc)) {
      log_.info("Skipping the CSI snapshot of the PVC: its volume goes to file-system backup", fields);
      return false;
    }
  } catch (const kube::KubeError& e) {
    log_.error("Error listing the pods that use the PVC", fields, e.what());
    return false;
  }
  try {
    std::string storage_class_name = string_at(pvc, "/spec/storageClassName"_json_pointer);
    if (storage_class_name.empty()) {
      log_.error("Cannot snapshot PVC " + ns + "/" + name + ", PVC has no storage class.", fields);
      return false;
    }
    json storage_class = client_.get(storage_classes_, "", storage_class_name);
    const std::string driver = storage_class.value("provisioner", "");
    std::string error;
    auto chosen = choose_snapshot_class(snapshot_classes(), driver, pvc, storage_class,
                                        json{{"metadata", {{"annotations", backup_.metadata.annotations}}}}, error);
    if (!chosen) {
      log_.error("Error executing item actions",
                 fields, "failed to get VolumeSnapshotClass for StorageClass " + storage_class_name + ": " + error);
      return false;
    }
    Op op;
    op.pvc_ns = ns;
    op.pvc_name = name;
    op.pv = pv;
    op.pv_name = string_at(pv, "/metadata/name"_json_pointer);
    op.class_name = string_at(*chosen, "/metadata/name"_json_pointer);
    op.driver = string_at(pv, "/spec/csi/driver"_json_pointer);
    op.storage_class = storage_class_name;
    op.pvc_uid = string_at(pvc, "/metadata/uid"_json_pointer);
    if (options_.move_data)  // named now: the PVC written to the tarball names its DataUpload
      op.du_name = valid_label_value(backup_.metadata.name + "-" + crypt::hex(crypt::random_bytes(3)).substr(0, 5));
    json labels = pvc["metadata"].value("labels", json::object());
    labels[kBackupNameLabel] = valid_label_value(backup_.metadata.name);
    json vs = {{"apiVersion", "snapshot.storage.k8s.io/v1"},
               {"kind", "VolumeSnapshot"},
               {"metadata", {{"generateName", "velero-" + name + "-"}, {"namespace", ns}, {"labels", labels}}},
               {"spec", {{"source", {{"persistentVolumeClaimName", name}}}, {"volumeSnapshotClassName", op.class_name}}}};
    op.vs = client_.create(snapshots_, ns, vs);
    op.vs_name = string_at(op.vs, "/metadata/name"_json_pointer);
    op.started = std::chrono::steady_clock::now();
    log_.info("Created VolumeSnapshot " + ns + "/" + op.vs_name + " with VolumeSnapshotClass " + op.class_name, fields);
    std::string now = options_.now ? options_.now() : "";
    op.record.backup_name = backup_.metadata.name;
    op.record.backup_uid = backup_.metadata.uid;
    op.record.action = "velero.io/csi-volumesnapshot-backupper";
    op.record.item = {kSnapshotGroup, "volumesnapshots", ns, op.vs_name};
    op.record.operation_id = ns + "/" + op.vs_name + "/" + now;
    op.record.phase = "InProgress";
    op.record.created = op.record.started = now;
    deferred_.insert(key(kSnapshotGroup, "volumesnapshots", ns, op.vs_name));
    deferred_.insert(key(kSnapshotGroup, "volumesnapshotcontents", "",
                         "snapcontent-" + string_at(op.vs, "/metadata/uid"_json_pointer)));
    deferred_.insert(key(kSnapshotGroup, "volumesnapshotclasses", "", op.class_name));
    ops_.push_back(std::move(op));
    // The labels and annotations a restore reads to find the snapshot.
    pvc["metadata"]["labels"][kVolumeSnapshotLabel] = ops_.back().vs_name;
    pvc["metadata"]["labels"][kBackupNameLabel] = backup_.metadata.name;
    pvc["metadata"]["annotations"][kVolumeSnapshotLabel] = ops_.back().vs_name;
    pvc["metadata"]["annotations"][kMustIncludeAdditionalItems] = "true";
    if (options_.move_data) pvc["metadata"]["annotations"][kDataUploadNameAnnotation] = ops_.back().du_name;
    return true;
  } catch (const std::exception& e) {
    log_.error("Error executing item actions", fields, std::string("error creating volume snapshot: ") + e.what());
    return false;
  }
}

bool CsiSnapshotter::defers(const std::string& group, const std::string& resource, const std::string& ns,
                            const std::string& name) const {
  return group == kSnapshotGroup && deferred_.count(key(group, resource, ns, name)) > 0;
}

// volumesnapshot_action.go Progress: done when the content is readyToUse, failed on the content's error.
void CsiSnapshotter::poll(Op& op) {
  try {
    op.vs = client_.get(snapshots_, op.pvc_ns, op.vs_name);
    std::string bound = string_at(op.vs, "/status/boundVolumeSnapshotContentName"_json_pointer);
    if (!bound.empty()) {
      op.vsc = client_.get(contents_, "", bound);
      if (op.vsc.value("/status/readyToUse"_json_pointer, false)) {
        op.done = true;
        return;
      }
      std::string message = string_at(op.vsc, "/status/error/message"_json_pointer);
      if (!message.empty()) {
        op.done = true;
        op.error = message;
        return;
      }
    }
  } catch (const kube::KubeError& e) {
    if (kube::is_not_found(e)) {
      op.done = true;
      op.error = std::string("error getting volumesnapshot: ") + e.what();
      return;
    }
    // Anything else may pass: the next poll tries again until the timeout.
  }
  if (std::chrono::steady_clock::now() - op.started >= options_.timeout) {
    std::string message = "volume snapshot " + op.pvc_ns + "/" + op.vs_name + " of PVC " + op.pvc_ns + "/" +
                          op.pvc_name + " is not ready to use within the CSI snapshot timeout " +
                          seconds_text(options_.timeout);
    std::string vs_error = string_at(op.vs, "/status/error/message"_json_pointer);
    if (!vs_error.empty()) message += ", errors: [" + vs_error + "]";
    op.done = true;
    op.error = message;
  }
}

void CsiSnapshotter::wait_for_all() {
  for (;;) {
    bool pending = false;
    for (auto& op : ops_)
      if (!op.done) {
        poll(op);
        pending |= !op.done;
      }
    if (!pending) return;
    std::this_thread::sleep_for(options_.poll);
  }
}

backup::BackupVolumeInfo CsiSnapshotter::volume_info_of(const Op& op, bool ok) const {
  backup::BackupVolumeInfo info;
  info.pvc_name = op.pvc_name;
  info.pvc_namespace = op.pvc_ns;
  info.pv_name = op.pv_name;
  info.backup_method = backup::kMethodCSISnapshot;
  info.preserve_local_snapshot = true;  // the snapshot stays in the driver (no data movement)
  info.start_timestamp = string_at(op.vs, "/metadata/creationTimestamp"_json_pointer);
  if (ok) info.completion_timestamp = string_at(op.vs, "/status/creationTime"_json_pointer);
  info.result = ok ? backup::kVolumeSucceeded : backup::kVolumeFailed;
  backup::CSISnapshotInfo csi;
  csi.snapshot_handle = string_at(op.vsc, "/status/snapshotHandle"_json_pointer);
  csi.size = op.vsc.is_object() ? op.vsc.value("/status/restoreSize"_json_pointer, int64_t{0}) : 0;
  csi.driver = op.driver;
  csi.vsc_name = string_at(op.vsc, "/metadata/name"_json_pointer);
  csi.operation_id = op.record.operation_id;
  if (op.vsc.is_object() && op.vsc.contains("/status/readyToUse"_json_pointer))
    csi.ready_to_use = op.vsc["status"]["readyToUse"].get<bool>();
  info.csi_snapshot_info = csi;
  backup::PVInfo pv_info;
  pv_info.reclaim_policy = string_at(op.pv, "/spec/persistentVolumeReclaimPolicy"_json_pointer);
  if (op.pv.contains("/metadata/labels"_json_pointer))
    for (const auto& [k, v] : op.pv["metadata"]["labels"].items())
      if (v.is_string()) pv_info.labels[k] = v.get<std::string>();
  info.pv_info = pv_info;
  return info;
}

void CsiSnapshotter::record_volume_info(const Op& op, bool ok) {
  if (volume_info_) volume_info_->add(volume_info_of(op, ok));
}

// volumesnapshot_action.go Execute (annotations, the content labelled with the backup, class and content as additional
// items) and, at finalizing, csi.DeleteReadyVolumeSnapshot: the content is set to Retain, then it and the
// VolumeSnapshot are deleted, so the snapshot stays in the driver for as long as the backup.
void CsiSnapshotter::complete(Op& op, const AddItem& add) {
  backup::LogFields fields{"volumesnapshots.snapshot.storage.k8s.io", op.pvc_ns, op.vs_name, true};
  const std::string vsc_name = string_at(op.vsc, "/metadata/name"_json_pointer);
  json annotations = {{kVSCDeletionPolicy, string_at(op.vsc, "/spec/deletionPolicy"_json_pointer)},
                      {kSnapshotHandle, string_at(op.vsc, "/status/snapshotHandle"_json_pointer)},
                      {kDriverName, string_at(op.vsc, "/spec/driver"_json_pointer)}};
  if (op.vsc.contains("/status/restoreSize"_json_pointer))
    annotations[kRestoreSize] = format_binary_quantity(op.vsc["status"]["restoreSize"].get<int64_t>());
  op.vs = json::parse(client_.patch(snapshots_, op.pvc_ns, op.vs_name, kube::PatchType::Merge,
                                    json{{"metadata", {{"annotations", annotations}}}}.dump()));
  json vsc_patch = {{"metadata", {{"labels", {{kBackupNameLabel, valid_label_value(backup_.metadata.name)}}}}},
                    {"spec", {{"deletionPolicy", "Retain"}}}};
  op.vsc = json::parse(client_.patch(contents_, "", vsc_name, kube::PatchType::Merge, vsc_patch.dump()));

  json backed_up_vs = op.vs;
  backed_up_vs["metadata"]["annotations"][kMustIncludeAdditionalItems] = "true";
  backed_up_vs["spec"].erase("volumeSnapshotClassName");  // the restore does not depend on the class
  if (!op.class_name.empty()) {
    for (const auto& c : snapshot_classes())
      if (string_at(c, "/metadata/name"_json_pointer) == op.class_name) add(kSnapshotGroup, "volumesnapshotclasses", "", op.class_name, c.dump());
  }
  add(kSnapshotGroup, "volumesnapshotcontents", "", vsc_name, op.vsc.dump());
  add(kSnapshotGroup, "volumesnapshots", op.pvc_ns, op.vs_name, backed_up_vs.dump());
  op.record.post_operation_items = {{kSnapshotGroup, "volumesnapshots", op.pvc_ns, op.vs_name},
                                    {kSnapshotGroup, "volumesnapshotcontents", "", vsc_name}};
  try {
    if (!options_.keep_contents) client_.remove(contents_, "", vsc_name);
    client_.remove(snapshots_, op.pvc_ns, op.vs_name);
    log_.info("Deleted VolumeSnapshot " + op.pvc_ns + "/" + op.vs_name + " and VolumeSnapshotContent " + vsc_name +
                  " (retained: the snapshot " + string_at(op.vsc, "/status/snapshotHandle"_json_pointer) +
                  " stays for the backup's lifetime)",
              fields);
  } catch (const kube::KubeError& e) {
    if (!kube::is_not_found(e)) log_.warning("Failed to delete the VolumeSnapshot or its content", fields, e.what());
  }
}

// csi.CleanupVolumeSnapshot: the content is set to Delete so that the driver's snapshot goes with the VolumeSnapshot.
// Waits (bounded) until both are gone, so that a failed backup leaves nothing behind.
void CsiSnapshotter::clean_up_failed(Op& op) {
  std::string bound;
  try {
    op.vs = client_.get(snapshots_, op.pvc_ns, op.vs_name);
    bound = string_at(op.vs, "/status/boundVolumeSnapshotContentName"_json_pointer);
    if (!bound.empty())
      client_.patch(contents_, "", bound, kube::PatchType::Merge, R"({"spec":{"deletionPolicy":"Delete"}})");
    client_.remove(snapshots_, op.pvc_ns, op.vs_name);
  } catch (const kube::KubeError& e) {
    if (!kube::is_not_found(e)) {
      log_.warning("Failed to delete the VolumeSnapshot of a failed snapshot",
                   {"volumesnapshots.snapshot.storage.k8s.io", op.pvc_ns, op.vs_name, true}, e.what());
      return;
    }
  }
  auto gone = [&](const kube::ApiResource& r, const std::string& ns, const std::string& name) {
    if (name.empty()) return true;
    try {
      client_.get(r, ns, name);
      return false;
    } catch (const kube::KubeError& e) {
      return kube::is_not_found(e);
    }
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!(gone(snapshots_, op.pvc_ns, op.vs_name) && gone(contents_, "", bound)) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(options_.poll);
}

void CsiSnapshotter::finish(const AddItem& add) {
  if (ops_.empty()) return;
  auto phase = [&](api::BackupPhase plain, api::BackupPhase partial) {
    if (options_.set_phase) options_.set_phase(log_.errors() > 0 ? partial : plain);
  };
  phase(api::BackupPhase::WaitingForPluginOperations, api::BackupPhase::WaitingForPluginOperationsPartiallyFailed);
  wait_for_all();
  for (auto& op : ops_)
    if (!op.error.empty()) {
      log_.error("Error waiting for the CSI snapshot of the PVC",
                 {"persistentvolumeclaims", op.pvc_ns, op.pvc_name, true}, op.error);
    }
  if (options_.move_data) {
    for (auto& op : ops_)
      if (op.error.empty()) start_upload(op);
    wait_for_uploads();
  }
  phase(api::BackupPhase::Finalizing, api::BackupPhase::FinalizingPartiallyFailed);
  for (auto& op : ops_) {
    bool ok = op.error.empty();
    if (ok) {
      try {
        options_.move_data ? complete_moved(op, add) : complete(op, add);
      } catch (const std::exception& e) {
        ok = false;
        op.error = e.what();
        log_.error("Error backing up the CSI snapshot of the PVC",
                   {"persistentvolumeclaims", op.pvc_ns, op.pvc_name, true}, e.what());
      }
    }
    if (!ok) clean_up_failed(op);
    op.record.phase = ok ? "Completed" : "Failed";
    op.record.error = op.error;
    op.record.updated = options_.now ? options_.now() : "";
    ok ? ++completed_ : ++failed_;
    options_.move_data ? record_moved_volume_info(op, ok) : record_volume_info(op, ok);
  }
}

std::string CsiSnapshotter::item_operations_json() const {
  if (ops_.empty()) return "null";
  json out = json::array();
  for (const auto& op : ops_) out.push_back(to_json(op.record));
  return out.dump();
}

}  // namespace arca::csi
