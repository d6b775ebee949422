#pragma once
// Backup sync (Velero's pkg/controller/backup_sync_controller.go): backups stored in a location but missing in the cluster are created
// as Backup objects (the migration path: point a new cluster at the bucket, then restore), and Completed or
// PartiallyFailed Backups of the location whose stored metadata is gone are deleted. The PodVolumeBackups
// stored with an imported backup are created beside it.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "controller/context.h"
#include "controller/runtime.h"

namespace arca::controller {

// The Backup to create in the cluster from a stored velero-backup.json, or nullopt when Velero skips it
// (a Waiting*/Finalizing* backup that has not expired yet). Expired ones of those come in as PartiallyFailed.
std::optional<api::Backup> backup_to_import(api::Backup stored, const std::string& location_name,
                                            const std::string& server_namespace, Timestamp now);

// The PodVolumeBackups to create with an imported backup, from its stored B-podvolumebackups.json (a JSON
// array, or `null`): each is re-pointed at the new Backup (ownerReference UID and velero.io/backup-uid label
// when present, as Velero does), the server namespace and this location; identity fields of the old cluster
// are dropped. arca writes `null` there (it runs no node agent, so it makes no file-system backups), but
// backups that Velero wrote carry them, and a restore finds a backup's pod volume data through them.
std::vector<nlohmann::json> pod_volume_backups_to_import(const std::string& stored_json, const std::string& backup_name,
                                                         const std::string& backup_uid, const std::string& location_name,
                                                         const std::string& server_namespace);

// Reconciles BackupStorageLocations: syncs an Available one every spec.backupSyncPeriod (else `default_period`;
// zero disables).
ReconcileFn backup_sync_reconciler(ServerContext& context, Duration default_period);

std::unique_ptr<Controller> make_backup_sync_controller(ServerContext& context,
                                                        Duration default_period = std::chrono::minutes(1));

}  // namespace arca::controller
