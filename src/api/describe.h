#pragma once
// Internal to src/api: the single description of every API type (field names, member, schema facets), from which
// api/mapping.h derives the JSON mapping and the OpenAPI schema. Adding a field to a struct means adding one line
// to its Describe<> below; JSON and CRD follow.
#include <tuple>
#include <type_traits>

#include "api/types.h"

namespace arca::api::mapping {

// Schema facets of one field that the C++ type does not carry (controller-gen markers in Velero's Go code).
struct FieldOptions {
  bool nullable = false;       // +nullable
  bool required = false;       // listed in the parent's `required`
  bool atomic_list = false;    // x-kubernetes-list-type: atomic
  bool preserve_unknown = false;
  bool default_empty = false;  // default: ""
  const char* format = nullptr;
  int min_items = 0;
  const char* enum_values = nullptr;  // ';'-separated as in +kubebuilder:validation:Enum, `""` for the empty string
};

template <class T, class M>
struct Field {
  std::string_view name;
  M T::*member;
  FieldOptions options{};
};

template <class T, class M>
constexpr Field<T, M> field(std::string_view name, M T::*member, FieldOptions options = {}) {
  return {name, member, options};
}

constexpr FieldOptions kNullable{.nullable = true};
constexpr FieldOptions kRequired{.required = true};

// Specialised for every struct: `static constexpr auto fields = std::tuple{field(...), ...};`, optionally
// `static constexpr bool atomic = true;` (x-kubernetes-map-type: atomic); resources also carry kind/apiVersion.
template <class T>
struct Describe;

template <class T>
concept Described = requires { Describe<T>::fields; };
template <class T>
concept Resource = requires { Describe<T>::kind; };

template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};
template <class T> struct is_vector : std::false_type {};
template <class T> struct is_vector<std::vector<T>> : std::true_type {};
template <class T> struct is_string_map : std::false_type {};
template <class V> struct is_string_map<std::map<std::string, V>> : std::true_type {};

// ---- descriptions ------------------------------------------------------------------------------------------
#define ARCA_F(T, json_name, member, ...) field(json_name, &T::member __VA_OPT__(, ) __VA_ARGS__)

template <> struct Describe<OwnerReference> {
  using T = OwnerReference;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "apiVersion", api_version), ARCA_F(T, "kind", kind), ARCA_F(T, "name", name),
      ARCA_F(T, "uid", uid), ARCA_F(T, "controller", controller),
      ARCA_F(T, "blockOwnerDeletion", block_owner_deletion)};
};

template <> struct Describe<ObjectMeta> {
  using T = ObjectMeta;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "name", name),
      ARCA_F(T, "generateName", generate_name),
      ARCA_F(T, "namespace", namespace_),
      ARCA_F(T, "uid", uid),
      ARCA_F(T, "resourceVersion", resource_version),
      ARCA_F(T, "generation", generation),
      ARCA_F(T, "creationTimestamp", creation_timestamp),
      ARCA_F(T, "deletionTimestamp", deletion_timestamp),
      ARCA_F(T, "labels", labels),
      ARCA_F(T, "annotations", annotations),
      ARCA_F(T, "finalizers", finalizers),
      ARCA_F(T, "ownerReferences", owner_references)};
};

template <> struct Describe<ObjectReference> {
  using T = ObjectReference;
  static constexpr bool atomic = true;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "apiVersion", api_version), ARCA_F(T, "fieldPath", field_path), ARCA_F(T, "kind", kind),
      ARCA_F(T, "name", name), ARCA_F(T, "namespace", namespace_), ARCA_F(T, "resourceVersion", resource_version),
      ARCA_F(T, "uid", uid)};
};

template <> struct Describe<SecretKeySelector> {
  using T = SecretKeySelector;
  static constexpr bool atomic = true;
  static constexpr auto fields = std::tuple{ARCA_F(T, "key", key, kRequired),
                                            ARCA_F(T, "name", name, FieldOptions{.default_empty = true}),
                                            ARCA_F(T, "optional", optional)};
};

template <> struct Describe<TypedLocalObjectReference> {
  using T = TypedLocalObjectReference;
  static constexpr bool atomic = true;
  static constexpr auto fields = std::tuple{ARCA_F(T, "apiGroup", api_group), ARCA_F(T, "kind", kind, kRequired),
                                            ARCA_F(T, "name", name, kRequired)};
};

template <> struct Describe<ExecHook> {
  using T = ExecHook;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "command", command, FieldOptions{.required = true, .min_items = 1}),
      ARCA_F(T, "container", container), ARCA_F(T, "onError", on_error), ARCA_F(T, "timeout", timeout)};
};

template <> struct Describe<BackupResourceHook> {
  using T = BackupResourceHook;
  static constexpr auto fields = std::tuple{ARCA_F(T, "exec", exec, kRequired)};
};

template <> struct Describe<BackupResourceHookSpec> {
  using T = BackupResourceHookSpec;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "excludedNamespaces", excluded_namespaces, kNullable),
      ARCA_F(T, "excludedResources", excluded_resources, kNullable),
      ARCA_F(T, "includedNamespaces", included_namespaces, kNullable),
      ARCA_F(T, "includedResources", included_resources, kNullable),
      ARCA_F(T, "labelSelector", label_selector, kNullable),
      ARCA_F(T, "name", name, kRequired),
      ARCA_F(T, "post", post),
      ARCA_F(T, "pre", pre)};
};

template <> struct Describe<BackupHooks> {
  using T = BackupHooks;
  static constexpr auto fields = std::tuple{ARCA_F(T, "resources", resources, kNullable)};
};

template <> struct Describe<BackupTemplateMetadata> {
  using T = BackupTemplateMetadata;
  static constexpr auto fields = std::tuple{ARCA_F(T, "labels", labels)};
};

template <> struct Describe<BackupUploaderConfig> {
  using T = BackupUploaderConfig;
  static constexpr auto fields = std::tuple{ARCA_F(T, "parallelFilesUpload", parallel_files_upload)};
};

template <> struct Describe<BackupSpec> {
  using T = BackupSpec;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "backupType", backup_type, FieldOptions{.enum_values = "Full;Incremental;\"\""}),
      ARCA_F(T, "csiSnapshotTimeout", csi_snapshot_timeout),
      ARCA_F(T, "datamover", datamover),
      ARCA_F(T, "defaultVolumesToFsBackup", default_volumes_to_fs_backup, kNullable),
      ARCA_F(T, "defaultVolumesToRestic", default_volumes_to_restic, kNullable),
      ARCA_F(T, "excludedClusterScopedResources", excluded_cluster_scoped_resources, kNullable),
      ARCA_F(T, "excludedNamespaceScopedResources", excluded_namespace_scoped_resources, kNullable),
      ARCA_F(T, "excludedNamespaces", excluded_namespaces, kNullable),
      ARCA_F(T, "excludedResources", excluded_resources, kNullable),
      ARCA_F(T, "hooks", hooks),
      ARCA_F(T, "includeClusterResources", include_cluster_resources, kNullable),
      ARCA_F(T, "includedClusterScopedResources", included_cluster_scoped_resources, kNullable),
      ARCA_F(T, "includedNamespaceScopedResources", included_namespace_scoped_resources, kNullable),
      ARCA_F(T, "includedNamespaces", included_namespaces, kNullable),
      ARCA_F(T, "includedResources", included_resources, kNullable),
      ARCA_F(T, "itemOperationTimeout", item_operation_timeout),
      ARCA_F(T, "labelSelector", label_selector, kNullable),
      ARCA_F(T, "metadata", metadata),
      ARCA_F(T, "orLabelSelectors", or_label_selectors, kNullable),
      ARCA_F(T, "orderedResources", ordered_resources, kNullable),
      ARCA_F(T, "resourcePolicy", resource_policy),
      ARCA_F(T, "snapshotMoveData", snapshot_move_data, kNullable),
      ARCA_F(T, "snapshotVolumes", snapshot_volumes, kNullable),
      ARCA_F(T, "storageLocation", storage_location),
      ARCA_F(T, "ttl", ttl),
      ARCA_F(T, "uploaderConfig", uploader_config, kNullable),
      ARCA_F(T, "volumeGroupSnapshotLabelKey", volume_group_snapshot_label_key),
      ARCA_F(T, "volumeSnapshotLocations", volume_snapshot_locations)};
};

template <> struct Describe<HookStatus> {
  using T = HookStatus;
  static constexpr auto fields =
      std::tuple{ARCA_F(T, "hooksAttempted", hooks_attempted), ARCA_F(T, "hooksFailed", hooks_failed)};
};

template <> struct Describe<BackupProgress> {
  using T = BackupProgress;
  static constexpr auto fields =
      std::tuple{ARCA_F(T, "itemsBackedUp", items_backed_up), ARCA_F(T, "totalItems", total_items)};
};

template <> struct Describe<BackupStatus> {
  using T = BackupStatus;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "backupItemOperationsAttempted", backup_item_operations_attempted),
      ARCA_F(T, "backupItemOperationsCompleted", backup_item_operations_completed),
      ARCA_F(T, "backupItemOperationsFailed", backup_item_operations_failed),
      ARCA_F(T, "completionTimestamp", completion_timestamp, kNullable),
      ARCA_F(T, "csiVolumeSnapshotsAttempted", csi_volume_snapshots_attempted),
      ARCA_F(T, "csiVolumeSnapshotsCompleted", csi_volume_snapshots_completed),
      ARCA_F(T, "errors", errors),
      ARCA_F(T, "expiration", expiration, kNullable),
      ARCA_F(T, "failureReason", failure_reason),
      ARCA_F(T, "formatVersion", format_version),
      ARCA_F(T, "hookStatus", hook_status, kNullable),
      ARCA_F(T, "phase", phase),
      ARCA_F(T, "progress", progress, kNullable),
      ARCA_F(T, "queuePosition", queue_position),
      ARCA_F(T, "startTimestamp", start_timestamp, kNullable),
      ARCA_F(T, "validationErrors", validation_errors, kNullable),
      ARCA_F(T, "version", version),
      ARCA_F(T, "volumeSnapshotsAttempted", volume_snapshots_attempted),
      ARCA_F(T, "volumeSnapshotsCompleted", volume_snapshots_completed),
      ARCA_F(T, "warnings", warnings)};
};

template <> struct Describe<Backup> {
  using T = Backup;
  static constexpr const char* kind = "Backup";
  static constexpr const char* api_version = kApiVersionV1;
  static constexpr auto fields =
      std::tuple{ARCA_F(T, "metadata", metadata), ARCA_F(T, "spec", spec), ARCA_F(T, "status", status)};
};

template <> struct Describe<RestoreStatusSpec> {
  using T = RestoreStatusSpec;
  static constexpr auto fields = std::tuple{ARCA_F(T, "excludedResources", excluded_resources, kNullable),
                                            ARCA_F(T, "includedResources", included_resources, kNullable)};
};

template <> struct Describe<ExecRestoreHook> {
  using T = ExecRestoreHook;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "command", command, FieldOptions{.required = true, .min_items = 1}),
      ARCA_F(T, "container", container),
      ARCA_F(T, "execTimeout", exec_timeout),
      ARCA_F(T, "onError", on_error),
      ARCA_F(T, "waitForReady", wait_for_ready, kNullable),
      ARCA_F(T, "waitTimeout", wait_timeout)};
};

template <> struct Describe<InitRestoreHook> {
  using T = InitRestoreHook;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "initContainers", init_containers, FieldOptions{.preserve_unknown = true}),
      ARCA_F(T, "timeout", timeout)};
};

template <> struct Describe<RestoreResourceHook> {
  using T = RestoreResourceHook;
  static constexpr auto fields = std::tuple{ARCA_F(T, "exec", exec), ARCA_F(T, "init", init)};
};

template <> struct Describe<RestoreResourceHookSpec> {
  using T = RestoreResourceHookSpec;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "excludedNamespaces", excluded_namespaces, kNullable),
      ARCA_F(T, "excludedResources", excluded_resources, kNullable),
      ARCA_F(T, "includedNamespaces", included_namespaces, kNullable),
      ARCA_F(T, "includedResources", included_resources, kNullable),
      ARCA_F(T, "labelSelector", label_selector, kNullable),
      ARCA_F(T, "name", name, kRequired),
      ARCA_F(T, "postHooks", post_hooks)};
};

template <> struct Describe<RestoreHooks> {
  using T = RestoreHooks;
  static constexpr auto fields = std::tuple{ARCA_F(T, "resources", resources)};
};

template <> struct Describe<RestoreUploaderConfig> {
  using T = RestoreUploaderConfig;
  static constexpr auto fields = std::tuple{ARCA_F(T, "parallelFilesDownload", parallel_files_download),
                                            ARCA_F(T, "writeSparseFiles", write_sparse_files, kNullable)};
};

template <> struct Describe<RestoreSpec> {
  using T = RestoreSpec;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "backupName", backup_name),
      ARCA_F(T, "excludedNamespaces", excluded_namespaces, kNullable),
      ARCA_F(T, "excludedResources", excluded_resources, kNullable),
      ARCA_F(T, "existingResourcePolicy", existing_resource_policy, kNullable),
      ARCA_F(T, "hooks", hooks),
      ARCA_F(T, "includeClusterResources", include_cluster_resources, kNullable),
      ARCA_F(T, "includedNamespaces", included_namespaces, kNullable),
      ARCA_F(T, "includedResources", included_resources, kNullable),
      ARCA_F(T, "itemOperationTimeout", item_operation_timeout),
      ARCA_F(T, "labelSelector", label_selector, kNullable),
      ARCA_F(T, "namespaceMapping", namespace_mapping),
      ARCA_F(T, "orLabelSelectors", or_label_selectors, kNullable),
      ARCA_F(T, "preserveNodePorts", preserve_node_ports, kNullable),
      ARCA_F(T, "resourceModifier", resource_modifier, kNullable),
      ARCA_F(T, "resourcePolicy", resource_policy, kNullable),
      ARCA_F(T, "restorePVs", restore_pvs, kNullable),
      ARCA_F(T, "restoreStatus", restore_status, kNullable),
      ARCA_F(T, "scheduleName", schedule_name),
      ARCA_F(T, "skipDefaultResourceModifier", skip_default_resource_modifier, kNullable),
      ARCA_F(T, "uploaderConfig", uploader_config, kNullable)};
};

template <> struct Describe<RestoreProgress> {
  using T = RestoreProgress;
  static constexpr auto fields =
      std::tuple{ARCA_F(T, "itemsRestored", items_restored), ARCA_F(T, "totalItems", total_items)};
};

template <> struct Describe<RestoreStatus> {
  using T = RestoreStatus;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "completionTimestamp", completion_timestamp, kNullable),
      ARCA_F(T, "errors", errors),
      ARCA_F(T, "failureReason", failure_reason),
      ARCA_F(T, "hookStatus", hook_status, kNullable),
      ARCA_F(T, "phase", phase),
      ARCA_F(T, "progress", progress, kNullable),
      ARCA_F(T, "restoreItemOperationsAttempted", restore_item_operations_attempted),
      ARCA_F(T, "restoreItemOperationsCompleted", restore_item_operations_completed),
      ARCA_F(T, "restoreItemOperationsFailed", restore_item_operations_failed),
      ARCA_F(T, "startTimestamp", start_timestamp, kNullable),
      ARCA_F(T, "validationErrors", validation_errors, kNullable),
      ARCA_F(T, "warnings", warnings)};
};

template <> struct Describe<Restore> {
  using T = Restore;
  static constexpr const char* kind = "Restore";
  static constexpr const char* api_version = kApiVersionV1;
  static constexpr auto fields =
      std::tuple{ARCA_F(T, "metadata", metadata), ARCA_F(T, "spec", spec), ARCA_F(T, "status", status)};
};

template <> struct Describe<ScheduleSpec> {
  using T = ScheduleSpec;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "paused", paused),
      ARCA_F(T, "schedule", schedule, kRequired),
      ARCA_F(T, "skipImmediately", skip_immediately),
      ARCA_F(T, "template", backup_template, kRequired),
      ARCA_F(T, "useOwnerReferencesInBackup", use_owner_references_in_backup, kNullable)};
};

template <> struct Describe<ScheduleStatus> {
  using T = ScheduleStatus;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "lastBackup", last_backup, kNullable), ARCA_F(T, "lastSkipped", last_skipped, kNullable),
      ARCA_F(T, "phase", phase), ARCA_F(T, "validationErrors", validation_errors)};
};

template <> struct Describe<Schedule> {
  using T = Schedule;
  static constexpr const char* kind = "Schedule";
  static constexpr const char* api_version = kApiVersionV1;
  static constexpr auto fields =
      std::tuple{ARCA_F(T, "metadata", metadata), ARCA_F(T, "spec", spec), ARCA_F(T, "status", status)};
};

template <> struct Describe<ObjectStorageLocation> {
  using T = ObjectStorageLocation;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "bucket", bucket, kRequired), ARCA_F(T, "caCert", ca_cert, FieldOptions{.format = "byte"}),
      ARCA_F(T, "caCertRef", ca_cert_ref), ARCA_F(T, "prefix", prefix)};
};

template <> struct Describe<BackupStorageLocationSpec> {
  using T = BackupStorageLocationSpec;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "accessMode", access_mode),
      ARCA_F(T, "backupSyncPeriod", backup_sync_period, kNullable),
      ARCA_F(T, "config", config),
      ARCA_F(T, "credential", credential),
      ARCA_F(T, "default", is_default),
      ARCA_F(T, "objectStorage", object_storage, kRequired),
      ARCA_F(T, "provider", provider, kRequired),
      ARCA_F(T, "validationFrequency", validation_frequency, kNullable)};
};

template <> struct Describe<BackupStorageLocationStatus> {
  using T = BackupStorageLocationStatus;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "accessMode", access_mode),
      ARCA_F(T, "lastSyncedRevision", last_synced_revision),
      ARCA_F(T, "lastSyncedTime", last_synced_time, kNullable),
      ARCA_F(T, "lastValidationTime", last_validation_time, kNullable),
      ARCA_F(T, "message", message),
      ARCA_F(T, "phase", phase)};
};

template <> struct Describe<BackupStorageLocation> {
  using T = BackupStorageLocation;
  static constexpr const char* kind = "BackupStorageLocation";
  static constexpr const char* api_version = kApiVersionV1;
  static constexpr auto fields =
      std::tuple{ARCA_F(T, "metadata", metadata), ARCA_F(T, "spec", spec), ARCA_F(T, "status", status)};
};

template <> struct Describe<VolumeSnapshotLocationSpec> {
  using T = VolumeSnapshotLocationSpec;
  static constexpr auto fields = std::tuple{ARCA_F(T, "config", config), ARCA_F(T, "credential", credential),
                                            ARCA_F(T, "provider", provider, kRequired)};
};

template <> struct Describe<VolumeSnapshotLocationStatus> {
  using T = VolumeSnapshotLocationStatus;
  static constexpr auto fields = std::tuple{ARCA_F(T, "phase", phase)};
};

template <> struct Describe<VolumeSnapshotLocation> {
  using T = VolumeSnapshotLocation;
  static constexpr const char* kind = "VolumeSnapshotLocation";
  static constexpr const char* api_version = kApiVersionV1;
  static constexpr auto fields =
      std::tuple{ARCA_F(T, "metadata", metadata), ARCA_F(T, "spec", spec), ARCA_F(T, "status", status)};
};

template <> struct Describe<DeleteBackupRequestSpec> {
  using T = DeleteBackupRequestSpec;
  static constexpr auto fields = std::tuple{ARCA_F(T, "backupName", backup_name, kRequired)};
};

template <> struct Describe<DeleteBackupRequestStatus> {
  using T = DeleteBackupRequestStatus;
  static constexpr auto fields = std::tuple{ARCA_F(T, "errors", errors, kNullable), ARCA_F(T, "phase", phase)};
};

template <> struct Describe<DeleteBackupRequest> {
  using T = DeleteBackupRequest;
  static constexpr const char* kind = "DeleteBackupRequest";
  static constexpr const char* api_version = kApiVersionV1;
  static constexpr auto fields =
      std::tuple{ARCA_F(T, "metadata", metadata), ARCA_F(T, "spec", spec), ARCA_F(T, "status", status)};
};

template <> struct Describe<DownloadTarget> {
  using T = DownloadTarget;
  static constexpr auto fields = std::tuple{ARCA_F(T, "kind", kind, kRequired), ARCA_F(T, "name", name, kRequired)};
};

template <> struct Describe<DownloadRequestSpec> {
  using T = DownloadRequestSpec;
  static constexpr auto fields = std::tuple{ARCA_F(T, "target", target, kRequired)};
};

template <> struct Describe<DownloadRequestStatus> {
  using T = DownloadRequestStatus;
  static constexpr auto fields = std::tuple{ARCA_F(T, "downloadURL", download_url),
                                            ARCA_F(T, "expiration", expiration, kNullable), ARCA_F(T, "phase", phase)};
};

template <> struct Describe<DownloadRequest> {
  using T = DownloadRequest;
  static constexpr const char* kind = "DownloadRequest";
  static constexpr const char* api_version = kApiVersionV1;
  static constexpr auto fields =
      std::tuple{ARCA_F(T, "metadata", metadata), ARCA_F(T, "spec", spec), ARCA_F(T, "status", status)};
};

template <> struct Describe<ServerStatusRequestSpec> {
  static constexpr auto fields = std::tuple{};
};

template <> struct Describe<PluginInfo> {
  using T = PluginInfo;
  static constexpr auto fields = std::tuple{ARCA_F(T, "kind", kind, kRequired), ARCA_F(T, "name", name, kRequired)};
};

template <> struct Describe<ServerStatusRequestStatus> {
  using T = ServerStatusRequestStatus;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "phase", phase), ARCA_F(T, "plugins", plugins, kNullable),
      ARCA_F(T, "processedTimestamp", processed_timestamp, kNullable), ARCA_F(T, "serverVersion", server_version)};
};

template <> struct Describe<ServerStatusRequest> {
  using T = ServerStatusRequest;
  static constexpr const char* kind = "ServerStatusRequest";
  static constexpr const char* api_version = kApiVersionV1;
  static constexpr auto fields =
      std::tuple{ARCA_F(T, "metadata", metadata), ARCA_F(T, "spec", spec), ARCA_F(T, "status", status)};
};

template <> struct Describe<BackupRepositorySpec> {
  using T = BackupRepositorySpec;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "backupStorageLocation", backup_storage_location, kRequired),
      ARCA_F(T, "maintenanceFrequency", maintenance_frequency, kRequired),
      ARCA_F(T, "repositoryConfig", repository_config, kNullable),
      ARCA_F(T, "repositoryType", repository_type),
      ARCA_F(T, "resticIdentifier", restic_identifier),
      ARCA_F(T, "volumeNamespace", volume_namespace, kRequired)};
};

template <> struct Describe<BackupRepositoryMaintenanceStatus> {
  using T = BackupRepositoryMaintenanceStatus;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "completeTimestamp", complete_timestamp, kNullable), ARCA_F(T, "message", message),
      ARCA_F(T, "result", result), ARCA_F(T, "startTimestamp", start_timestamp, kNullable)};
};

template <> struct Describe<BackupRepositoryStatus> {
  using T = BackupRepositoryStatus;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "lastMaintenanceTime", last_maintenance_time, kNullable), ARCA_F(T, "message", message),
      ARCA_F(T, "phase", phase), ARCA_F(T, "recentMaintenance", recent_maintenance)};
};

template <> struct Describe<BackupRepository> {
  using T = BackupRepository;
  static constexpr const char* kind = "BackupRepository";
  static constexpr const char* api_version = kApiVersionV1;
  static constexpr auto fields =
      std::tuple{ARCA_F(T, "metadata", metadata), ARCA_F(T, "spec", spec), ARCA_F(T, "status", status)};
};

template <> struct Describe<DataMoveProgress> {
  using T = DataMoveProgress;
  static constexpr auto fields = std::tuple{ARCA_F(T, "bytesDone", bytes_done), ARCA_F(T, "totalBytes", total_bytes)};
};

template <> struct Describe<PodVolumeBackupSpec> {
  using T = PodVolumeBackupSpec;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "backupStorageLocation", backup_storage_location, kRequired),
      ARCA_F(T, "cancel", cancel),
      ARCA_F(T, "node", node, kRequired),
      ARCA_F(T, "pod", pod, kRequired),
      ARCA_F(T, "repoIdentifier", repo_identifier, kRequired),
      ARCA_F(T, "tags", tags),
      ARCA_F(T, "uploaderSettings", uploader_settings, kNullable),
      ARCA_F(T, "uploaderType", uploader_type),
      ARCA_F(T, "volume", volume, kRequired)};
};

template <> struct Describe<PodVolumeBackupStatus> {
  using T = PodVolumeBackupStatus;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "acceptedTimestamp", accepted_timestamp, kNullable),
      ARCA_F(T, "completionTimestamp", completion_timestamp, kNullable),
      ARCA_F(T, "incrementalBytes", incremental_bytes),
      ARCA_F(T, "message", message),
      ARCA_F(T, "path", path),
      ARCA_F(T, "phase", phase),
      ARCA_F(T, "progress", progress),
      ARCA_F(T, "snapshotID", snapshot_id),
      ARCA_F(T, "startTimestamp", start_timestamp, kNullable)};
};

template <> struct Describe<PodVolumeBackup> {
  using T = PodVolumeBackup;
  static constexpr const char* kind = "PodVolumeBackup";
  static constexpr const char* api_version = kApiVersionV1;
  static constexpr auto fields =
      std::tuple{ARCA_F(T, "metadata", metadata), ARCA_F(T, "spec", spec), ARCA_F(T, "status", status)};
};

template <> struct Describe<PodVolumeRestoreSpec> {
  using T = PodVolumeRestoreSpec;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "backupStorageLocation", backup_storage_location, kRequired),
      ARCA_F(T, "cancel", cancel),
      ARCA_F(T, "pod", pod, kRequired),
      ARCA_F(T, "repoIdentifier", repo_identifier, kRequired),
      ARCA_F(T, "snapshotID", snapshot_id, kRequired),
      ARCA_F(T, "snapshotSize", snapshot_size),
      ARCA_F(T, "sourceNamespace", source_namespace, kRequired),
      ARCA_F(T, "uploaderSettings", uploader_settings, kNullable),
      ARCA_F(T, "uploaderType", uploader_type),
      ARCA_F(T, "volume", volume, kRequired)};
};

template <> struct Describe<PodVolumeRestoreStatus> {
  using T = PodVolumeRestoreStatus;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "acceptedTimestamp", accepted_timestamp, kNullable),
      ARCA_F(T, "completionTimestamp", completion_timestamp, kNullable),
      ARCA_F(T, "message", message),
      ARCA_F(T, "node", node),
      ARCA_F(T, "phase", phase),
      ARCA_F(T, "progress", progress),
      ARCA_F(T, "startTimestamp", start_timestamp, kNullable)};
};

template <> struct Describe<PodVolumeRestore> {
  using T = PodVolumeRestore;
  static constexpr const char* kind = "PodVolumeRestore";
  static constexpr const char* api_version = kApiVersionV1;
  static constexpr auto fields =
      std::tuple{ARCA_F(T, "metadata", metadata), ARCA_F(T, "spec", spec), ARCA_F(T, "status", status)};
};

template <> struct Describe<CSISnapshotSpec> {
  using T = CSISnapshotSpec;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "driver", driver), ARCA_F(T, "snapshotClass", snapshot_class),
      ARCA_F(T, "storageClass", storage_class, kRequired), ARCA_F(T, "volumeSnapshot", volume_snapshot, kRequired)};
};

template <> struct Describe<DataUploadSpec> {
  using T = DataUploadSpec;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "backupStorageLocation", backup_storage_location, kRequired),
      ARCA_F(T, "cancel", cancel),
      ARCA_F(T, "csiSnapshot", csi_snapshot, kNullable),
      ARCA_F(T, "dataMoverConfig", data_mover_config, kNullable),
      ARCA_F(T, "datamover", datamover),
      ARCA_F(T, "operationTimeout", operation_timeout, kRequired),
      ARCA_F(T, "parentSnapshot", parent_snapshot),
      ARCA_F(T, "snapshotType", snapshot_type, kRequired),
      ARCA_F(T, "sourceNamespace", source_namespace, kRequired),
      ARCA_F(T, "sourcePVC", source_pvc, kRequired)};
};

template <> struct Describe<DataUploadStatus> {
  using T = DataUploadStatus;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "acceptedByNode", accepted_by_node),
      ARCA_F(T, "acceptedTimestamp", accepted_timestamp, kNullable),
      ARCA_F(T, "completionTimestamp", completion_timestamp, kNullable),
      ARCA_F(T, "dataMoverResult", data_mover_result, kNullable),
      ARCA_F(T, "incrementalBytes", incremental_bytes),
      ARCA_F(T, "message", message),
      ARCA_F(T, "node", node),
      ARCA_F(T, "nodeOS", node_os),
      ARCA_F(T, "path", path),
      ARCA_F(T, "phase", phase),
      ARCA_F(T, "progress", progress),
      ARCA_F(T, "snapshotID", snapshot_id),
      ARCA_F(T, "startTimestamp", start_timestamp, kNullable)};
};

template <> struct Describe<DataUpload> {
  using T = DataUpload;
  static constexpr const char* kind = "DataUpload";
  static constexpr const char* api_version = kApiVersionV2Alpha1;
  static constexpr auto fields =
      std::tuple{ARCA_F(T, "metadata", metadata), ARCA_F(T, "spec", spec), ARCA_F(T, "status", status)};
};

template <> struct Describe<TargetVolumeSpec> {
  using T = TargetVolumeSpec;
  static constexpr auto fields = std::tuple{ARCA_F(T, "namespace", namespace_, kRequired),
                                            ARCA_F(T, "pv", pv, kRequired), ARCA_F(T, "pvc", pvc, kRequired)};
};

template <> struct Describe<DataDownloadSpec> {
  using T = DataDownloadSpec;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "backupStorageLocation", backup_storage_location, kRequired),
      ARCA_F(T, "cancel", cancel),
      ARCA_F(T, "dataMoverConfig", data_mover_config),
      ARCA_F(T, "datamover", datamover),
      ARCA_F(T, "nodeOS", node_os),
      ARCA_F(T, "operationTimeout", operation_timeout, kRequired),
      ARCA_F(T, "snapshotID", snapshot_id, kRequired),
      ARCA_F(T, "snapshotSize", snapshot_size),
      ARCA_F(T, "sourceNamespace", source_namespace, kRequired),
      ARCA_F(T, "targetVolume", target_volume, kRequired)};
};

template <> struct Describe<DataDownloadStatus> {
  using T = DataDownloadStatus;
  static constexpr auto fields = std::tuple{
      ARCA_F(T, "acceptedByNode", accepted_by_node),
      ARCA_F(T, "acceptedTimestamp", accepted_timestamp, kNullable),
      ARCA_F(T, "completionTimestamp", completion_timestamp, kNullable),
      ARCA_F(T, "message", message),
      ARCA_F(T, "node", node),
      ARCA_F(T, "phase", phase),
      ARCA_F(T, "progress", progress),
      ARCA_F(T, "startTimestamp", start_timestamp, kNullable)};
};

template <> struct Describe<DataDownload> {
  using T = DataDownload;
  static constexpr const char* kind = "DataDownload";
  static constexpr const char* api_version = kApiVersionV2Alpha1;
  static constexpr auto fields =
      std::tuple{ARCA_F(T, "metadata", metadata), ARCA_F(T, "spec", spec), ARCA_F(T, "status", status)};
};

#undef ARCA_F

}  // namespace arca::api::mapping
