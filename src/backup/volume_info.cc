#include "backup/volume_info.h"

namespace arca::backup {

using nlohmann::json;

namespace {

// `omitempty` of Go's encoding/json: the key is left out for a zero value.
void put_nonempty(json& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}
void put_nonzero(json& j, const char* key, int64_t value) {
  if (value != 0) j[key] = value;
}

std::string text(const json& j, const char* key) { return j.contains(key) ? j.at(key).get<std::string>() : ""; }
int64_t number(const json& j, const char* key) { return j.contains(key) ? j.at(key).get<int64_t>() : 0; }

}  // namespace

json to_json(const BackupVolumeInfo& info) {
  json j = json::object();
  put_nonempty(j, "pvcName", info.pvc_name);
  put_nonempty(j, "pvcNamespace", info.pvc_namespace);
  put_nonempty(j, "pvName", info.pv_name);
  put_nonempty(j, "backupMethod", info.backup_method);
  j["snapshotDataMoved"] = info.snapshot_data_moved;
  j["preserveLocalSnapshot"] = info.preserve_local_snapshot;
  j["skipped"] = info.skipped;
  put_nonempty(j, "skippedReason", info.skipped_reason);
  put_nonempty(j, "startTimestamp", info.start_timestamp);
  put_nonempty(j, "completionTimestamp", info.completion_timestamp);
  put_nonempty(j, "result", info.result);
  if (const auto& csi = info.csi_snapshot_info) {
    json c = {{"snapshotHandle", csi->snapshot_handle}, {"size", csi->size}, {"driver", csi->driver},
              {"vscName", csi->vsc_name}};
    put_nonempty(c, "operationID", csi->operation_id);
    c["ReadyToUse"] = csi->ready_to_use ? json(*csi->ready_to_use) : json(nullptr);
    j["csiSnapshotInfo"] = std::move(c);
  }
  if (const auto& moved = info.snapshot_data_movement_info) {
    json m = {{"dataMover", moved->data_mover}, {"uploaderType", moved->uploader_type}};
    put_nonempty(m, "retainedSnapshot", moved->retained_snapshot);
    m["snapshotHandle"] = moved->snapshot_handle;
    m["operationID"] = moved->operation_id;
    m["size"] = moved->size;
    m["Phase"] = moved->phase;
    j["snapshotDataMovementInfo"] = std::move(m);
  }
  if (const auto& pvb = info.pvb_info) {
    json p = json::object();
    put_nonempty(p, "snapshotHandle", pvb->snapshot_handle);
    put_nonzero(p, "size", pvb->size);
    p["uploaderType"] = pvb->uploader_type;
    p["volumeName"] = pvb->volume_name;
    p["podName"] = pvb->pod_name;
    p["podNamespace"] = pvb->pod_namespace;
    put_nonempty(p, "nodeName", pvb->node_name);
    p["Phase"] = pvb->phase;
    j["pvbInfo"] = std::move(p);
  }
  if (const auto& pv = info.pv_info) j["pvInfo"] = {{"reclaimPolicy", pv->reclaim_policy}, {"labels", pv->labels}};
  return j;
}

BackupVolumeInfo backup_volume_info_from_json(const json& j) {
  BackupVolumeInfo info;
  info.pvc_name = text(j, "pvcName");
  info.pvc_namespace = text(j, "pvcNamespace");
  info.pv_name = text(j, "pvName");
  info.backup_method = text(j, "backupMethod");
  info.snapshot_data_moved = j.value("snapshotDataMoved", false);
  info.preserve_local_snapshot = j.value("preserveLocalSnapshot", false);
  info.skipped = j.value("skipped", false);
  info.skipped_reason = text(j, "skippedReason");
  info.start_timestamp = text(j, "startTimestamp");
  info.completion_timestamp = text(j, "completionTimestamp");
  info.result = text(j, "result");
  if (j.contains("csiSnapshotInfo")) {
    const json& c = j.at("csiSnapshotInfo");
    CSISnapshotInfo csi{text(c, "snapshotHandle"), number(c, "size"), text(c, "driver"), text(c, "vscName"),
                        text(c, "operationID"), std::nullopt};
    if (c.contains("ReadyToUse") && c.at("ReadyToUse").is_boolean()) csi.ready_to_use = c.at("ReadyToUse").get<bool>();
    info.csi_snapshot_info = std::move(csi);
  }
  if (j.contains("snapshotDataMovementInfo")) {
    const json& m = j.at("snapshotDataMovementInfo");
    info.snapshot_data_movement_info =
        SnapshotDataMovementInfo{text(m, "dataMover"), text(m, "uploaderType"), text(m, "retainedSnapshot"),
                                 text(m, "snapshotHandle"), text(m, "operationID"), number(m, "size"), text(m, "Phase")};
  }
  if (j.contains("pvbInfo")) {
    const json& p = j.at("pvbInfo");
    info.pvb_info = PodVolumeInfo{text(p, "snapshotHandle"), number(p, "size"),     text(p, "uploaderType"),
                                  text(p, "volumeName"),     text(p, "podName"),    text(p, "podNamespace"),
                                  text(p, "nodeName"),       text(p, "Phase")};
  }
  if (j.contains("pvInfo")) {
    const json& pv = j.at("pvInfo");
    PVInfo out{text(pv, "reclaimPolicy"), {}};
    if (pv.contains("labels") && pv.at("labels").is_object())
      out.labels = pv.at("labels").get<std::map<std::string, std::string>>();
    info.pv_info = std::move(out);
  }
  return info;
}

void VolumeInfoCollector::add(BackupVolumeInfo info) {
  std::lock_guard lock(mutex_);
  entries_.push_back(std::move(info));
}

std::vector<BackupVolumeInfo> VolumeInfoCollector::entries() const {
  std::lock_guard lock(mutex_);
  return entries_;
}

std::string VolumeInfoCollector::json_text() const {
  json array = json::array();
  for (const auto& entry : entries()) array.push_back(to_json(entry));
  return array.dump();
}

}  // namespace arca::backup
