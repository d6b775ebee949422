#pragma once
// velero.io/v1 (and v2alpha1 DataUpload/DataDownload) objects as plain structs. Field meanings follow Velero's
// pkg/apis/velero/v1 (backup_types.go, restore_types.go, schedule_types.go, …). JSON uses Velero's field
// names, omits empty fields like Go's omitempty, and keeps fields arca does not know in `unknown` so objects
// written by Velero survive a load/save round trip. Durations are Go duration strings, timestamps RFC 3339.
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/enum_names.h"
#include "util/duration.h"
#include "util/label_selector.h"
#include "util/timestamp.h"

namespace arca::api {

using nlohmann::json;
using StringMap = std::map<std::string, std::string>;

inline constexpr const char* kGroup = "velero.io";
inline constexpr const char* kApiVersionV1 = "velero.io/v1";
inline constexpr const char* kApiVersionV2Alpha1 = "velero.io/v2alpha1";

// A JSON document that does not fit a type: one line with the field path, e.g. `spec.ttl: time: unknown unit…`.
struct DecodeError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// ---- enums (exact strings from Velero's CRDs; `unset` is the empty string, which is omitted) ----------------
enum class BackupPhase {
  unset, New, Queued, ReadyToStart, FailedValidation, InProgress, WaitingForPluginOperations,
  WaitingForPluginOperationsPartiallyFailed, Finalizing, FinalizingPartiallyFailed, Completed, PartiallyFailed,
  Failed, Deleting
};
enum class RestorePhase {
  unset, New, FailedValidation, InProgress, WaitingForPluginOperations, WaitingForPluginOperationsPartiallyFailed,
  Completed, PartiallyFailed, Failed, Finalizing, FinalizingPartiallyFailed
};
enum class SchedulePhase { unset, New, Enabled, FailedValidation };
enum class LocationPhase { unset, Available, Unavailable };  // BackupStorageLocation and VolumeSnapshotLocation
enum class AccessMode { unset, ReadOnly, ReadWrite };
enum class DeleteBackupRequestPhase { unset, New, InProgress, Processed };
enum class DownloadRequestPhase { unset, New, Processed };
enum class ServerStatusRequestPhase { unset, New, Processed };
enum class DownloadTargetKind {
  unset, BackupLog, BackupContents, BackupVolumeSnapshots, BackupItemOperations, BackupResourceList, BackupResults,
  RestoreLog, RestoreResults, RestoreResourceList, RestoreItemOperations, CSIBackupVolumeSnapshots,
  CSIBackupVolumeSnapshotContents, BackupVolumeInfos, RestoreVolumeInfo
};
enum class BackupRepositoryPhase { unset, New, Ready, NotReady };
enum class RepositoryType { unset, kopia, restic };  // also the uploader type of pod volume operations
enum class MaintenanceResult { unset, Succeeded, Failed };
// Phases shared by PodVolumeBackup/Restore and DataUpload/DataDownload.
enum class VolumeOperationPhase { unset, New, Accepted, Prepared, InProgress, Canceling, Canceled, Completed, Failed };
enum class NodeOS { unset, auto_, linux, windows };  // auto_: "auto" is a C++ keyword
enum class HookErrorMode { unset, Continue, Fail };

template <> struct EnumNames<BackupPhase> {
  static constexpr std::array<std::string_view, 14> names{
      "", "New", "Queued", "ReadyToStart", "FailedValidation", "InProgress", "WaitingForPluginOperations",
      "WaitingForPluginOperationsPartiallyFailed", "Finalizing", "FinalizingPartiallyFailed", "Completed",
      "PartiallyFailed", "Failed", "Deleting"};
};
template <> struct EnumNames<RestorePhase> {
  static constexpr std::array<std::string_view, 11> names{
      "", "New", "FailedValidation", "InProgress", "WaitingForPluginOperations",
      "WaitingForPluginOperationsPartiallyFailed", "Completed", "PartiallyFailed", "Failed", "Finalizing",
      "FinalizingPartiallyFailed"};
};
template <> struct EnumNames<SchedulePhase> {
  static constexpr std::array<std::string_view, 4> names{"", "New", "Enabled", "FailedValidation"};
};
template <> struct EnumNames<LocationPhase> {
  static constexpr std::array<std::string_view, 3> names{"", "Available", "Unavailable"};
};
template <> struct EnumNames<AccessMode> {
  static constexpr std::array<std::string_view, 3> names{"", "ReadOnly", "ReadWrite"};
};
template <> struct EnumNames<DeleteBackupRequestPhase> {
  static constexpr std::array<std::string_view, 4> names{"", "New", "InProgress", "Processed"};
};
template <> struct EnumNames<DownloadRequestPhase> {
  static constexpr std::array<std::string_view, 3> names{"", "New", "Processed"};
};
template <> struct EnumNames<ServerStatusRequestPhase> {
  static constexpr std::array<std::string_view, 3> names{"", "New", "Processed"};
};
template <> struct EnumNames<DownloadTargetKind> {
  static constexpr std::array<std::string_view, 15> names{
      "", "BackupLog", "BackupContents", "BackupVolumeSnapshots", "BackupItemOperations", "BackupResourceList",
      "BackupResults", "RestoreLog", "RestoreResults", "RestoreResourceList", "RestoreItemOperations",
      "CSIBackupVolumeSnapshots", "CSIBackupVolumeSnapshotContents", "BackupVolumeInfos", "RestoreVolumeInfo"};
};
template <> struct EnumNames<BackupRepositoryPhase> {
  static constexpr std::array<std::string_view, 4> names{"", "New", "Ready", "NotReady"};
};
template <> struct EnumNames<RepositoryType> {
  static constexpr std::array<std::string_view, 3> names{"", "kopia", "restic"};
  static constexpr bool empty_is_listed = true;  // Velero's CRD lists "" among the allowed values
};
template <> struct EnumNames<MaintenanceResult> {
  static constexpr std::array<std::string_view, 3> names{"", "Succeeded", "Failed"};
};
template <> struct EnumNames<VolumeOperationPhase> {
  static constexpr std::array<std::string_view, 9> names{"",         "New",      "Accepted",  "Prepared", "InProgress",
                                                         "Canceling", "Canceled", "Completed", "Failed"};
};
template <> struct EnumNames<NodeOS> {
  static constexpr std::array<std::string_view, 4> names{"", "auto", "linux", "windows"};
};
template <> struct EnumNames<HookErrorMode> {
  static constexpr std::array<std::string_view, 3> names{"", "Continue", "Fail"};
};

// ---- metadata ----------------------------------------------------------------------------------------------
struct OwnerReference {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string uid;
  std::optional<bool> controller;
  std::optional<bool> block_owner_deletion;
  json unknown;
};

struct ObjectMeta {
  std::string name;
  std::string generate_name;
  std::string namespace_;
  std::string uid;
  std::string resource_version;
  int64_t generation = 0;
  std::optional<Timestamp> creation_timestamp;
  std::optional<Timestamp> deletion_timestamp;
  Labels labels;
  StringMap annotations;
  std::vector<std::string> finalizers;
  std::vector<OwnerReference> owner_references;
  json unknown;  // managedFields, selfLink, … kept verbatim
};

// corev1.ObjectReference
struct ObjectReference {
  std::string kind;
  std::string namespace_;
  std::string name;
  std::string uid;
  std::string api_version;
  std::string resource_version;
  std::string field_path;
  json unknown;
};

// corev1.SecretKeySelector
struct SecretKeySelector {
  std::string name;
  std::string key;
  std::optional<bool> optional;
  json unknown;
};

// corev1.TypedLocalObjectReference
struct TypedLocalObjectReference {
  std::string api_group;
  std::string kind;
  std::string name;
  json unknown;
};

// ---- Backup ------------------------------------------------------------------------------------------------
struct ExecHook {
  std::string container;
  std::vector<std::string> command;
  HookErrorMode on_error = HookErrorMode::unset;
  std::optional<Duration> timeout;
  json unknown;
};

struct BackupResourceHook {
  std::optional<ExecHook> exec;
  json unknown;
};

struct BackupResourceHookSpec {
  std::string name;
  std::vector<std::string> included_namespaces;
  std::vector<std::string> excluded_namespaces;
  std::vector<std::string> included_resources;
  std::vector<std::string> excluded_resources;
  std::optional<LabelSelector> label_selector;
  std::vector<BackupResourceHook> pre;
  std::vector<BackupResourceHook> post;
  json unknown;
};

struct BackupHooks {
  std::vector<BackupResourceHookSpec> resources;
  json unknown;
};

// The labels a Schedule's template puts on the Backups it creates.
struct BackupTemplateMetadata {
  Labels labels;
  json unknown;
};

struct BackupUploaderConfig {
  int parallel_files_upload = 0;
  json unknown;
};

struct BackupSpec {
  BackupTemplateMetadata metadata;
  std::vector<std::string> included_namespaces;
  std::vector<std::string> excluded_namespaces;
  std::vector<std::string> included_resources;
  std::vector<std::string> excluded_resources;
  std::vector<std::string> included_cluster_scoped_resources;
  std::vector<std::string> excluded_cluster_scoped_resources;
  std::vector<std::string> included_namespace_scoped_resources;
  std::vector<std::string> excluded_namespace_scoped_resources;
  std::optional<LabelSelector> label_selector;
  std::vector<LabelSelector> or_label_selectors;
  std::optional<bool> snapshot_volumes;
  std::optional<Duration> ttl;
  std::optional<bool> include_cluster_resources;
  BackupHooks hooks;
  std::string storage_location;
  std::vector<std::string> volume_snapshot_locations;
  std::optional<bool> default_volumes_to_restic;
  std::optional<bool> default_volumes_to_fs_backup;
  StringMap ordered_resources;
  std::optional<Duration> csi_snapshot_timeout;
  std::optional<Duration> item_operation_timeout;
  std::optional<TypedLocalObjectReference> resource_policy;
  std::optional<bool> snapshot_move_data;
  std::string datamover;
  std::optional<BackupUploaderConfig> uploader_config;
  std::string volume_group_snapshot_label_key;
  // Velero 1.19 (pkg/apis/velero/v1/backup_types.go BackupType): "Full" makes the data movers (file-system backup,
  // the CSI data mover) upload every volume without a parent snapshot; "" and "Incremental" use the last one.
  std::string backup_type;
  json unknown;
};

struct HookStatus {
  int hooks_attempted = 0;
  int hooks_failed = 0;
  json unknown;
};

struct BackupProgress {
  int total_items = 0;
  int items_backed_up = 0;
  json unknown;
};

struct BackupStatus {
  int version = 0;
  std::string format_version;
  std::optional<Timestamp> expiration;
  BackupPhase phase = BackupPhase::unset;
  std::vector<std::string> validation_errors;
  std::optional<Timestamp> start_timestamp;
  std::optional<Timestamp> completion_timestamp;
  int volume_snapshots_attempted = 0;
  int volume_snapshots_completed = 0;
  std::string failure_reason;
  int warnings = 0;
  int errors = 0;
  std::optional<BackupProgress> progress;
  int csi_volume_snapshots_attempted = 0;
  int csi_volume_snapshots_completed = 0;
  int backup_item_operations_attempted = 0;
  int backup_item_operations_completed = 0;
  int backup_item_operations_failed = 0;
  std::optional<HookStatus> hook_status;
  int queue_position = 0;
  json unknown;
};

struct Backup {
  ObjectMeta metadata;
  BackupSpec spec;
  BackupStatus status;
  json unknown;
};

// ---- Restore -----------------------------------------------------------------------------------------------
struct RestoreStatusSpec {
  std::vector<std::string> included_resources;
  std::vector<std::string> excluded_resources;
  json unknown;
};

struct ExecRestoreHook {
  std::string container;
  std::vector<std::string> command;
  HookErrorMode on_error = HookErrorMode::unset;
  std::optional<Duration> exec_timeout;
  std::optional<Duration> wait_timeout;
  std::optional<bool> wait_for_ready;
  json unknown;
};

struct InitRestoreHook {
  std::vector<json> init_containers;  // corev1.Container objects, kept as given
  std::optional<Duration> timeout;
  json unknown;
};

struct RestoreResourceHook {
  std::optional<ExecRestoreHook> exec;
  std::optional<InitRestoreHook> init;
  json unknown;
};

struct RestoreResourceHookSpec {
  std::string name;
  std::vector<std::string> included_namespaces;
  std::vector<std::string> excluded_namespaces;
  std::vector<std::string> included_resources;
  std::vector<std::string> excluded_resources;
  std::optional<LabelSelector> label_selector;
  std::vector<RestoreResourceHook> post_hooks;
  json unknown;
};

struct RestoreHooks {
  std::vector<RestoreResourceHookSpec> resources;
  json unknown;
};

struct RestoreUploaderConfig {
  std::optional<bool> write_sparse_files;
  int parallel_files_download = 0;
  json unknown;
};

struct RestoreSpec {
  std::string backup_name;
  std::string schedule_name;
  std::vector<std::string> included_namespaces;
  std::vector<std::string> excluded_namespaces;
  std::vector<std::string> included_resources;
  std::vector<std::string> excluded_resources;
  std::optional<RestoreStatusSpec> restore_status;
  std::optional<bool> include_cluster_resources;
  StringMap namespace_mapping;
  std::optional<LabelSelector> label_selector;
  std::vector<LabelSelector> or_label_selectors;
  std::optional<bool> restore_pvs;
  std::optional<bool> preserve_node_ports;
  RestoreHooks hooks;
  std::string existing_resource_policy;  // "", "none" or "update" (checked by validate_restore)
  std::optional<Duration> item_operation_timeout;
  std::optional<TypedLocalObjectReference> resource_modifier;
  std::optional<RestoreUploaderConfig> uploader_config;
  // Velero 1.19 (pkg/apis/velero/v1/restore_types.go): true skips the server's --default-resource-modifier-configmap.
  std::optional<bool> skip_default_resource_modifier;
  // Velero 1.19 (fine-grained restore filters design): a ConfigMap whose namespacedFilterPolicies and
  // clusterScopedFilterPolicy narrow what is restored, per namespace and per kind.
  std::optional<TypedLocalObjectReference> resource_policy;
  json unknown;
};

struct RestoreProgress {
  int total_items = 0;
  int items_restored = 0;
  json unknown;
};

struct RestoreStatus {
  RestorePhase phase = RestorePhase::unset;
  std::vector<std::string> validation_errors;
  int warnings = 0;
  int errors = 0;
  std::string failure_reason;
  std::optional<Timestamp> start_timestamp;
  std::optional<Timestamp> completion_timestamp;
  std::optional<RestoreProgress> progress;
  int restore_item_operations_attempted = 0;
  int restore_item_operations_completed = 0;
  int restore_item_operations_failed = 0;
  std::optional<HookStatus> hook_status;
  json unknown;
};

struct Restore {
  ObjectMeta metadata;
  RestoreSpec spec;
  RestoreStatus status;
  json unknown;
};

// ---- Schedule ----------------------------------------------------------------------------------------------
struct ScheduleSpec {
  BackupSpec backup_template;  // JSON "template"
  std::string schedule;
  std::optional<bool> use_owner_references_in_backup;
  bool paused = false;
  std::optional<bool> skip_immediately;
  json unknown;
};

struct ScheduleStatus {
  SchedulePhase phase = SchedulePhase::unset;
  std::optional<Timestamp> last_backup;
  std::optional<Timestamp> last_skipped;
  std::vector<std::string> validation_errors;
  json unknown;
};

struct Schedule {
  ObjectMeta metadata;
  ScheduleSpec spec;
  ScheduleStatus status;
  json unknown;
};

// ---- BackupStorageLocation / VolumeSnapshotLocation --------------------------------------------------------
struct ObjectStorageLocation {
  std::string bucket;
  std::string prefix;
  std::string ca_cert;  // base64 text, as in the JSON (deprecated by Velero in favour of caCertRef)
  std::optional<SecretKeySelector> ca_cert_ref;
  json unknown;
};

struct BackupStorageLocationSpec {
  std::string provider;
  StringMap config;
  std::optional<SecretKeySelector> credential;
  ObjectStorageLocation object_storage;
  bool is_default = false;  // JSON "default"
  std::optional<Duration> backup_sync_period;
  std::optional<Duration> validation_frequency;
  AccessMode access_mode = AccessMode::unset;
  json unknown;
};

struct BackupStorageLocationStatus {
  LocationPhase phase = LocationPhase::unset;
  std::optional<Timestamp> last_synced_time;
  std::optional<Timestamp> last_validation_time;
  std::string message;
  std::string last_synced_revision;
  AccessMode access_mode = AccessMode::unset;
  json unknown;
};

struct BackupStorageLocation {
  ObjectMeta metadata;
  BackupStorageLocationSpec spec;
  BackupStorageLocationStatus status;
  json unknown;
};

struct VolumeSnapshotLocationSpec {
  std::string provider;
  StringMap config;
  std::optional<SecretKeySelector> credential;
  json unknown;
};

struct VolumeSnapshotLocationStatus {
  LocationPhase phase = LocationPhase::unset;
  json unknown;
};

struct VolumeSnapshotLocation {
  ObjectMeta metadata;
  VolumeSnapshotLocationSpec spec;
  VolumeSnapshotLocationStatus status;
  json unknown;
};

// ---- requests ----------------------------------------------------------------------------------------------
struct DeleteBackupRequestSpec {
  std::string backup_name;
  json unknown;
};

struct DeleteBackupRequestStatus {
  DeleteBackupRequestPhase phase = DeleteBackupRequestPhase::unset;
  std::vector<std::string> errors;
  json unknown;
};

struct DeleteBackupRequest {
  ObjectMeta metadata;
  DeleteBackupRequestSpec spec;
  DeleteBackupRequestStatus status;
  json unknown;
};

struct DownloadTarget {
  DownloadTargetKind kind = DownloadTargetKind::unset;
  std::string name;
  json unknown;
};

struct DownloadRequestSpec {
  DownloadTarget target;
  json unknown;
};

struct DownloadRequestStatus {
  DownloadRequestPhase phase = DownloadRequestPhase::unset;
  std::string download_url;
  std::optional<Timestamp> expiration;
  json unknown;
};

struct DownloadRequest {
  ObjectMeta metadata;
  DownloadRequestSpec spec;
  DownloadRequestStatus status;
  json unknown;
};

struct ServerStatusRequestSpec {
  json unknown;
};

struct PluginInfo {
  std::string name;
  std::string kind;
  json unknown;
};

struct ServerStatusRequestStatus {
  ServerStatusRequestPhase phase = ServerStatusRequestPhase::unset;
  std::optional<Timestamp> processed_timestamp;
  std::string server_version;
  std::vector<PluginInfo> plugins;
  json unknown;
};

struct ServerStatusRequest {
  ObjectMeta metadata;
  ServerStatusRequestSpec spec;
  ServerStatusRequestStatus status;
  json unknown;
};

// ---- BackupRepository --------------------------------------------------------------------------------------
struct BackupRepositorySpec {
  std::string volume_namespace;
  std::string backup_storage_location;
  RepositoryType repository_type = RepositoryType::unset;
  std::string restic_identifier;
  std::optional<Duration> maintenance_frequency;
  StringMap repository_config;
  json unknown;
};

struct BackupRepositoryMaintenanceStatus {
  MaintenanceResult result = MaintenanceResult::unset;
  std::optional<Timestamp> start_timestamp;
  std::optional<Timestamp> complete_timestamp;
  std::string message;
  json unknown;
};

struct BackupRepositoryStatus {
  BackupRepositoryPhase phase = BackupRepositoryPhase::unset;
  std::string message;
  std::optional<Timestamp> last_maintenance_time;
  std::vector<BackupRepositoryMaintenanceStatus> recent_maintenance;
  json unknown;
};

struct BackupRepository {
  ObjectMeta metadata;
  BackupRepositorySpec spec;
  BackupRepositoryStatus status;
  json unknown;
};

// ---- pod volume operations and data movement ---------------------------------------------------------------
struct DataMoveProgress {
  int64_t total_bytes = 0;
  int64_t bytes_done = 0;
  json unknown;
};

struct PodVolumeBackupSpec {
  std::string node;
  ObjectReference pod;
  std::string volume;
  std::string backup_storage_location;
  std::string repo_identifier;
  RepositoryType uploader_type = RepositoryType::unset;
  StringMap tags;
  StringMap uploader_settings;
  bool cancel = false;
  json unknown;
};

struct PodVolumeBackupStatus {
  VolumeOperationPhase phase = VolumeOperationPhase::unset;
  std::string path;
  std::string snapshot_id;
  std::string message;
  std::optional<Timestamp> start_timestamp;
  std::optional<Timestamp> completion_timestamp;
  DataMoveProgress progress;
  int64_t incremental_bytes = 0;
  std::optional<Timestamp> accepted_timestamp;
  json unknown;
};

struct PodVolumeBackup {
  ObjectMeta metadata;
  PodVolumeBackupSpec spec;
  PodVolumeBackupStatus status;
  json unknown;
};

struct PodVolumeRestoreSpec {
  ObjectReference pod;
  std::string volume;
  std::string backup_storage_location;
  std::string repo_identifier;
  RepositoryType uploader_type = RepositoryType::unset;
  std::string snapshot_id;
  std::string source_namespace;
  StringMap uploader_settings;
  bool cancel = false;
  int64_t snapshot_size = 0;
  json unknown;
};

struct PodVolumeRestoreStatus {
  VolumeOperationPhase phase = VolumeOperationPhase::unset;
  std::string message;
  std::optional<Timestamp> start_timestamp;
  std::optional<Timestamp> completion_timestamp;
  DataMoveProgress progress;
  std::optional<Timestamp> accepted_timestamp;
  std::string node;
  json unknown;
};

struct PodVolumeRestore {
  ObjectMeta metadata;
  PodVolumeRestoreSpec spec;
  PodVolumeRestoreStatus status;
  json unknown;
};

struct CSISnapshotSpec {
  std::string volume_snapshot;
  std::string storage_class;
  std::string snapshot_class;
  std::string driver;
  json unknown;
};

struct DataUploadSpec {
  std::string snapshot_type;
  std::optional<CSISnapshotSpec> csi_snapshot;
  std::string source_pvc;
  std::string datamover;
  std::string backup_storage_location;
  std::string source_namespace;
  StringMap data_mover_config;
  bool cancel = false;
  std::optional<Duration> operation_timeout;
  // Velero 1.19 (block data mover design): "" or "auto" (the volume's latest snapshot is the parent), "none" (a
  // full backup, set for a Backup whose backupType is Full) or a snapshot ID.
  std::string parent_snapshot;
  json unknown;
};

struct DataUploadStatus {
  VolumeOperationPhase phase = VolumeOperationPhase::unset;
  std::string path;
  std::string snapshot_id;
  StringMap data_mover_result;
  std::string message;
  std::optional<Timestamp> start_timestamp;
  std::optional<Timestamp> completion_timestamp;
  DataMoveProgress progress;
  int64_t incremental_bytes = 0;
  std::string node;
  NodeOS node_os = NodeOS::unset;
  std::string accepted_by_node;
  std::optional<Timestamp> accepted_timestamp;
  json unknown;
};

struct DataUpload {
  ObjectMeta metadata;
  DataUploadSpec spec;
  DataUploadStatus status;
  json unknown;
};

struct TargetVolumeSpec {
  std::string pvc;
  std::string pv;
  std::string namespace_;
  json unknown;
};

struct DataDownloadSpec {
  TargetVolumeSpec target_volume;
  std::string backup_storage_location;
  std::string datamover;
  std::string snapshot_id;
  std::string source_namespace;
  StringMap data_mover_config;
  bool cancel = false;
  std::optional<Duration> operation_timeout;
  NodeOS node_os = NodeOS::unset;
  int64_t snapshot_size = 0;
  json unknown;
};

struct DataDownloadStatus {
  VolumeOperationPhase phase = VolumeOperationPhase::unset;
  std::string message;
  std::optional<Timestamp> start_timestamp;
  std::optional<Timestamp> completion_timestamp;
  DataMoveProgress progress;
  std::string node;
  std::string accepted_by_node;
  std::optional<Timestamp> accepted_timestamp;
  json unknown;
};

struct DataDownload {
  ObjectMeta metadata;
  DataDownloadSpec spec;
  DataDownloadStatus status;
  json unknown;
};

// ---- JSON (apiVersion and kind are written by to_json and checked by from_json) ----------------------------
// Every kind and its spec and status convert with nlohmann (`json j = backup; j.get<Backup>()`); from_json
// throws DecodeError naming the field path. The list is shared with types.cc.
#define ARCA_API_JSON_TYPES(X)                                                                                 \
  X(ObjectMeta)                                                                                                 \
  X(Backup) X(BackupSpec) X(BackupStatus)                                                                       \
  X(Restore) X(RestoreSpec) X(RestoreStatus)                                                                    \
  X(Schedule) X(ScheduleSpec) X(ScheduleStatus)                                                                 \
  X(BackupStorageLocation) X(BackupStorageLocationSpec) X(BackupStorageLocationStatus)                          \
  X(VolumeSnapshotLocation) X(VolumeSnapshotLocationSpec) X(VolumeSnapshotLocationStatus)                       \
  X(DeleteBackupRequest) X(DeleteBackupRequestSpec) X(DeleteBackupRequestStatus)                                \
  X(DownloadRequest) X(DownloadRequestSpec) X(DownloadRequestStatus)                                            \
  X(ServerStatusRequest) X(ServerStatusRequestSpec) X(ServerStatusRequestStatus)                                \
  X(BackupRepository) X(BackupRepositorySpec) X(BackupRepositoryStatus)                                         \
  X(PodVolumeBackup) X(PodVolumeBackupSpec) X(PodVolumeBackupStatus)                                            \
  X(PodVolumeRestore) X(PodVolumeRestoreSpec) X(PodVolumeRestoreStatus)                                         \
  X(DataUpload) X(DataUploadSpec) X(DataUploadStatus)                                                           \
  X(DataDownload) X(DataDownloadSpec) X(DataDownloadStatus)

#define ARCA_API_DECLARE_JSON(T)         \
  void to_json(json& j, const T& value); \
  void from_json(const json& j, T& value);
ARCA_API_JSON_TYPES(ARCA_API_DECLARE_JSON)
#undef ARCA_API_DECLARE_JSON

}  // namespace arca::api
