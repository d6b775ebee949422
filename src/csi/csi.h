#pragma once
// CSI snapshots as Velero takes and restores them, the parts that are pure functions on objects (Velero's
// pkg/util/csi/volume_snapshot.go, pkg/backup/actions/csi, pkg/restore/actions/csi, pkg/itemoperation and
// internal/resourcepolicies' volume conditions). backup_snapshots.h talks to the cluster.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/types.h"

namespace arca::csi {

using nlohmann::json;

// Labels and annotations Velero puts on the objects (pkg/apis/velero/v1/labels_annotations.go).
inline constexpr const char* kBackupNameLabel = "velero.io/backup-name";
inline constexpr const char* kVolumeSnapshotLabel = "velero.io/volume-snapshot-name";
inline constexpr const char* kMustIncludeAdditionalItems = "backup.velero.io/must-include-additional-items";
inline constexpr const char* kVSCDeletionPolicy = "velero.io/csi-vsc-deletion-policy";
inline constexpr const char* kSnapshotHandle = "velero.io/csi-volumesnapshot-handle";
inline constexpr const char* kDriverName = "velero.io/csi-driver-name";
inline constexpr const char* kRestoreSize = "velero.io/csi-volumesnapshot-restore-size";
inline constexpr const char* kClassSelectorLabel = "velero.io/csi-volumesnapshot-class";
inline constexpr const char* kClassPVCAnnotation = "velero.io/csi-volumesnapshot-class";
inline constexpr const char* kClassBackupAnnotationPrefix = "velero.io/csi-volumesnapshot-class";
inline constexpr const char* kClassStorageClassAnnotation = "velero.io/csi-volumesnapshot-class";
inline constexpr const char* kKubernetesDefaultClass = "snapshot.storage.kubernetes.io/is-default-class";
inline constexpr const char* kSnapshotGroup = "snapshot.storage.k8s.io";
inline constexpr const char* kDataUploadNameAnnotation = "velero.io/data-upload-name";
inline constexpr const char* kAsyncOperationIdLabel = "velero.io/async-operation-id";
inline constexpr const char* kDynamicPVRestoreLabel = "velero.io/dynamic-pv-restore";

// The controller owner reference velero.io/v1 `kind` `name` (`uid`) that DataUploads and DataDownloads carry.
api::OwnerReference controller_owner(const std::string& kind, const std::string& name, const std::string& uid);

// The string at `p`, "" when absent or not a string.
std::string string_at(const json& j, const json::json_pointer& p);

// The VolumeSnapshotClass Velero's GetVolumeSnapshotClass picks for a PVC of `driver`: the PVC's
// velero.io/csi-volumesnapshot-class annotation, the StorageClass's, the Backup's
// velero.io/csi-volumesnapshot-class_<driver>, then the driver's class labelled velero.io/csi-volumesnapshot-class,
// then its Kubernetes default, then its only class. nullopt with `error` set (Velero's message) when none fits.
std::optional<json> choose_snapshot_class(const std::vector<json>& classes, const std::string& driver,
                                          const json& pvc, const json& storage_class, const json& backup,
                                          std::string& error);

// Kubernetes quantities ("10Gi", "500M", "1.5Gi", "1e3"): bytes, nullopt when not a quantity.
std::optional<int64_t> parse_quantity(const std::string& text);
// resource.NewQuantity(n, BinarySI).String(): "1Gi", "1536", "100Mi".
std::string format_binary_quantity(int64_t bytes);

// A volume policy's conditions (Velero's internal/resourcepolicies volume conditions): capacity "low,high",
// storageClass, csi {driver, volumeAttributes}, pvcLabels, pvcPhase, volumeTypes. nfs never matches a CSI volume.
bool volume_conditions_match(const json& conditions, const json& pvc, const json& pv);

// Velero's util.GenerateSha256FromRestoreUIDAndVsName: the name a restore gives a VolumeSnapshot and its content.
std::string restored_snapshot_name(const std::string& restore_uid, const std::string& vs_name);

// One entry of <backup>-itemoperations.json.gz (Velero's pkg/itemoperation.BackupOperation; its spec's last three
// fields carry malformed json tags in Velero, so encoding/json writes them under their Go names).
struct ResourceIdentifier {
  std::string group, resource, namespace_name, name;
};
struct BackupOperation {
  std::string backup_name, backup_uid, action;
  ResourceIdentifier item;
  std::string operation_id;
  std::vector<ResourceIdentifier> post_operation_items;
  std::string phase;  // New | InProgress | Completed | Failed
  std::string error;
  std::string created, started, updated;  // RFC 3339, "" when unknown
};
json to_json(const BackupOperation& op);

// ---- restore actions (pkg/restore/actions/csi): `item` has had its metadata reset; `from_backup` is as backed up.
struct RestoreContext {
  std::string restore_uid;
  std::map<std::string, std::string> namespace_mapping;
  bool restore_pvs = true;
  // A VolumeSnapshotClass of the driver in the target cluster, "" when none (the content is then classless).
  std::function<std::string(const std::string& driver)> class_for_driver;
  // The velero.io/csi-volumesnapshot-restore-size annotation of a restored VolumeSnapshot, "" when unknown.
  std::function<std::string(const std::string& ns, const std::string& name)> restore_size_of;
  // The data mover (Velero's restore pvc_action.go for a backup with snapshotMoveData): the backup's DataUploads
  // are handed to `on_data_upload` (never restored themselves: Velero's dataupload_retrieve_action.go keeps their
  // results for the PVC action), and a PVC naming one goes to `restore_moved_pvc`, which starts its DataDownload
  // and returns the error that fails the item.
  bool backup_moved_data = false;
  std::function<void(const json& data_upload)> on_data_upload;
  std::function<std::string(json& pvc, const json& from_backup, const std::string& target_ns)> restore_moved_pvc;
};
// Whether `group_resource` ("volumesnapshots.snapshot.storage.k8s.io", ...) has a CSI restore action.
bool has_restore_action(const std::string& group_resource);
// Runs it; returns the error that fails the item, "" when fine. `skip` set: the item is not restored.
std::string run_restore_action(const std::string& group_resource, json& item, const json& from_backup,
                               const std::string& target_ns, const RestoreContext& context, bool& skip);

}  // namespace arca::csi
