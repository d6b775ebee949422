#pragma once
// The BackupController (Velero's backup_types.go phases; Velero's pkg/controller/backup_controller.go prepareBackupRequest; Velero's pkg/backup/backup.go): validates a new Backup, runs it, uploads it and
// records phases, progress, counts and expiration on the object.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "controller/context.h"
#include "controller/resource_policy.h"
#include "controller/runtime.h"

namespace arca::controller {

// What a finished backup stored, on the Backup (and in its velero-backup.json, so a synced cluster has it too):
// the tarball's bytes, and the volume data its PodVolumeBackups read (before deduplication). Velero records no
// size; the console charts these.
inline constexpr const char* kTarballBytesAnnotation = "arca.dev/tarball-bytes";
inline constexpr const char* kVolumeBytesAnnotation = "arca.dev/volume-bytes";
void annotate_sizes(api::Backup& backup, long tarball_bytes, const std::vector<nlohmann::json>& pod_volume_backups);

// The API server's /version, recorded on every Backup (velero.io/source-cluster-k8s-* annotations) so a
// restore into another cluster can tell where the objects came from.
struct ClusterVersion {
  std::string git_version, major, minor;
};

// What Velero's pkg/controller/backup_controller.go prepareBackupRequest needs from the cluster, gathered by the caller so the preparation itself is pure.
struct PreparationInputs {
  Timestamp now;
  Duration default_ttl = std::chrono::hours(720);
  std::string default_location = "default";  // when no BSL has spec.default
  // The BSL the backup names (or the default one); nullptr when it does not exist.
  const api::BackupStorageLocation* location = nullptr;
  std::string location_name;  // the resolved name, for messages
  std::vector<std::string> namespaces_excluded_by_label;
  // Whether a resource name of an include list resolves through discovery.
  std::function<bool(const std::string&)> resource_known;
  ClusterVersion cluster_version;
  std::vector<api::VolumeSnapshotLocation> snapshot_locations;  // every VSL in the server's namespace
  std::map<std::string, std::string> default_snapshot_locations;  // provider → VSL name (server default)
  // The data of the ConfigMap spec.resourcePolicy names, nullopt when it does not exist. Only asked when
  // the spec names one.
  std::function<std::optional<std::map<std::string, std::string>>(const std::string& name)> config_map_data;
  bool default_volumes_to_fs_backup = false;  // the server's --default-volumes-to-fs-backup
  bool default_snapshot_move_data = false;    // the server's --default-snapshot-move-data
};

// Velero's pkg/controller/backup_controller.go prepareBackupRequest step 4: every named VSL must exist, at most one per provider; a provider the spec does not name
// gets its only VSL, or the server default when it has several. Rewrites spec.volumeSnapshotLocations to
// the result (sorted by provider) and returns the validation errors. Nothing to resolve when
// snapshotVolumes is false: the list is cleared.
std::vector<std::string> resolve_snapshot_locations(api::BackupSpec& spec,
                                                    const std::vector<api::VolumeSnapshotLocation>& all,
                                                    const std::map<std::string, std::string>& defaults);

// Fills the spec defaults and status fields Velero fills before a run, adds the storage-location label and
// the source-cluster annotations, and returns every validation error (empty: the backup may run). The
// loaded resource policy goes to `policies` when the spec names one.
std::vector<std::string> prepare_backup(api::Backup& backup, const PreparationInputs& inputs,
                                        std::optional<ResourcePolicies>* policies = nullptr);

// Picks the BSL for spec.storageLocation "": the one with spec.default, else the server default's name.
std::string resolve_location_name(const std::string& requested, const std::vector<api::BackupStorageLocation>& all,
                                  const std::string& server_default);

ReconcileFn backup_reconciler(ServerContext& context);

// Server start: every InProgress backup was interrupted by a restart; it becomes Failed, and files a
// killed run left in storage without velero-backup.json are removed.
void fail_interrupted_backups(ServerContext& context);

}  // namespace arca::controller
