#pragma once
// Which pod volumes a backup copies with file-system backup, as Velero decides it (Velero's
// internal/volumehelper/volume_policy_helper.go ShouldPerformFSBackup, pkg/util/podvolume/pod_volume.go, and the
// volume conditions of internal/resourcepolicies): opt-in by the pod annotation backup.velero.io/backup-volumes,
// opt-out with defaultVolumesToFsBackup and backup.velero.io/backup-volumes-excludes, volume policies with the
// actions fs-backup / skip, and the volumes that are never copied (hostPath, secret, configMap, projected,
// downwardAPI, the default service-account token). Pure functions on parsed objects.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace arca::podvolume {

using nlohmann::json;

inline constexpr const char* kVolumesToBackupAnnotation = "backup.velero.io/backup-volumes";
inline constexpr const char* kVolumesToExcludeAnnotation = "backup.velero.io/backup-volumes-excludes";
// On a PodVolumeBackup of a PVC volume (Velero's pkg/podvolume/util.go PVCNameAnnotation).
inline constexpr const char* kPVCNameAnnotation = "velero.io/pvc-name";
// Old backups recorded snapshot IDs on the pod as snapshot.velero.io/<volume> (read on restore only).
inline constexpr const char* kPodSnapshotAnnotationPrefix = "snapshot.velero.io/";

// The string at a JSON pointer of an object, "" when absent or not a string.
std::string string_at(const json& object, const char* pointer);

// A velero.io/v1 object that a Backup or Restore creates and owns (Velero's newPodVolumeBackup/Restore): in the
// owner's namespace, generateName "<owner>-", the owner as its controller reference, `labels` set.
json owned_object(const char* kind, const char* owner_kind, const std::string& owner_namespace,
                  const std::string& owner_name, const std::string& owner_uid, json labels);

// One entry of the resource policy's volumePolicies: its conditions as written, and the action type.
struct VolumePolicyRule {
  json conditions;
  std::string action;  // skip | snapshot | fs-backup | custom
};

// What a volume policy condition looks at (Velero's structuredVolume): from the PV of a PVC volume, or the pod
// volume itself, and the PVC.
struct VolumeFacts {
  std::optional<long double> capacity;  // the PV's spec.capacity.storage in bytes; unset for pod volumes
  std::string storage_class;
  std::optional<std::pair<std::string, std::string>> nfs;  // server, path
  std::optional<std::string> csi_driver;
  std::map<std::string, std::string> csi_volume_attributes;
  std::string volume_type;  // Velero's SupportedVolume name: csi, nfs, emptyDir, hostPath, ...
  std::map<std::string, std::string> pvc_labels;
  std::string pvc_phase;
};

// Facts of a PVC volume (its PV and PVC objects; either may be null when unknown) or of a pod volume.
VolumeFacts facts_from_pv(const json& pv, const json& pvc);
VolumeFacts facts_from_pod_volume(const json& volume);

// A Kubernetes quantity ("10Gi", "500M", "1.5", "100m") in base units; nullopt when it is not one.
std::optional<long double> parse_quantity(std::string_view text);

// Velero's Policies.GetMatchAction: the action of the first rule whose every condition matches, or nullopt.
std::optional<std::string> match_volume_policy(const std::vector<VolumePolicyRule>& rules, const VolumeFacts& volume);

// Velero's GetVolumesToBackup / GetVolumesToExclude: the annotation split on commas ("" → none).
std::vector<std::string> volumes_to_backup_annotation(const json& pod);
std::vector<std::string> volumes_to_exclude_annotation(const json& pod);

// Why a volume is never copied (hostPath, secret, configMap, projected, downwardAPI, default-token-*, or a PVC
// when the backup excludes PVCs), or "" when it may be.
std::string never_backed_up_reason(const json& volume, bool backup_excludes_pvcs);

struct SelectionOptions {
  bool default_volumes_to_fs_backup = false;
  // Velero's backupExcludePVC: PVCs are excluded by the backup's resource filters.
  bool backup_excludes_pvcs = false;
  const std::vector<VolumePolicyRule>* policies = nullptr;  // null or empty: none
  // The PVC a pod volume claims and the PV bound to it; they may return null (not found). Only asked when a
  // policy has to be matched against a PVC volume.
  std::function<json(const std::string& pvc_name)> get_pvc;
  std::function<json(const std::string& pv_name)> get_pv;
};

struct VolumeDecision {
  std::string volume;
  bool back_up = false;
  std::string why;  // the log line (Velero's wording)
};

// Velero's ShouldPerformFSBackup for each of the pod's volumes, in spec order.
std::vector<VolumeDecision> decide_pod_volumes(const json& pod, const SelectionOptions& options);

// The snapshots to restore into a restored pod (Velero's pkg/podvolume/util.go getVolumeBackupInfoForPod):
// PodVolumeBackups of this pod (by source namespace and name) with a snapshot ID, except volumes that are
// projected or downwardAPI in the pod; with none, the old snapshot.velero.io/<volume> pod annotations.
struct VolumeSnapshot {
  std::string volume, snapshot_id, uploader_type, repository_type;
  int64_t size = 0;
};
std::vector<VolumeSnapshot> snapshots_for_pod(const std::vector<json>& pod_volume_backups, const json& pod,
                                              const std::string& source_namespace);

}  // namespace arca::podvolume
