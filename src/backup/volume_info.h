#pragma once
// The backup's volume information, `<backup>-volumeinfo.json.gz` (Velero's internal/volume/volumes_information.go):
// one entry per volume the backup saw, saying how its data was backed up (file-system backup, CSI snapshot,
// snapshot data movement) or why it was skipped, and with what result. `velero backup describe --details` and
// restores of PVs read it; field names and JSON keys are Velero's (some Go fields carry no json tag and keep
// their Go names: "ReadyToUse", "Phase").
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace arca::backup {

// Velero's volume.Method.
inline constexpr const char* kMethodNativeSnapshot = "NativeSnapshot";
inline constexpr const char* kMethodPodVolumeBackup = "PodVolumeBackup";
inline constexpr const char* kMethodCSISnapshot = "CSISnapshot";
inline constexpr const char* kMethodPodVolumeRestore = "PodVolumeRestore";
// Velero's volume.VolumeResult.
inline constexpr const char* kVolumeSucceeded = "succeeded";
inline constexpr const char* kVolumeFailed = "failed";

struct CSISnapshotInfo {
  std::string snapshot_handle;  // the storage provider's snapshot ID (VolumeSnapshotContent status)
  int64_t size = 0;             // the VolumeSnapshot's restoreSize
  std::string driver;
  std::string vsc_name;
  std::string operation_id;     // the async item operation's ID
  std::optional<bool> ready_to_use;
};

struct SnapshotDataMovementInfo {
  std::string data_mover = "velero";
  std::string uploader_type;      // "restic" for arca's engine
  std::string retained_snapshot;  // the VolumeSnapshot kept while the data moved
  std::string snapshot_handle;    // the repository snapshot ID
  std::string operation_id;
  int64_t size = 0;
  std::string phase;              // the DataUpload's status.phase
};

struct PodVolumeInfo {
  std::string snapshot_handle;  // the repository snapshot ID
  int64_t size = 0;
  std::string uploader_type;
  std::string volume_name;      // the pod's name for the volume
  std::string pod_name, pod_namespace;
  std::string node_name;        // empty for a restore
  std::string phase;            // the PodVolumeBackup's (or Restore's) status.phase
};

struct PVInfo {
  std::string reclaim_policy;
  std::map<std::string, std::string> labels;
};

struct BackupVolumeInfo {
  std::string pvc_name, pvc_namespace, pv_name;
  std::string backup_method;  // kMethod…; "" for a skipped volume
  bool snapshot_data_moved = false;
  bool preserve_local_snapshot = false;
  bool skipped = false;
  std::string skipped_reason;
  std::string start_timestamp, completion_timestamp;  // RFC 3339, "" when unknown
  std::string result;                                 // kVolumeSucceeded / kVolumeFailed, "" while unknown
  std::optional<CSISnapshotInfo> csi_snapshot_info;
  std::optional<SnapshotDataMovementInfo> snapshot_data_movement_info;
  std::optional<PodVolumeInfo> pvb_info;
  std::optional<PVInfo> pv_info;
};

nlohmann::json to_json(const BackupVolumeInfo& info);
BackupVolumeInfo backup_volume_info_from_json(const nlohmann::json& j);  // throws nlohmann::json::exception

// Collects entries from the backup's workers (pod volumes, CSI snapshots, skipped PVs) as they finish; the
// controller serialises them into volumeinfo_json when the backup is uploaded.
class VolumeInfoCollector {
 public:
  void add(BackupVolumeInfo info);
  std::vector<BackupVolumeInfo> entries() const;
  // The JSON array Velero writes (an empty backup writes "[]").
  std::string json_text() const;

 private:
  mutable std::mutex mutex_;
  std::vector<BackupVolumeInfo> entries_;
};

}  // namespace arca::backup
