#pragma once
// Backup sync (velero-backup.md §2.5): backups stored in a location but missing in the cluster are created
// as Backup objects (the migration path: point a new cluster at the bucket, then restore), and Completed or
// PartiallyFailed Backups of the location whose stored metadata is gone are deleted.
#include <memory>
#include <optional>

#include "api/types.h"
#include "controller/context.h"
#include "controller/runtime.h"

namespace arca::controller {

// The Backup to create in the cluster from a stored velero-backup.json, or nullopt when Velero skips it
// (a Waiting*/Finalizing* backup that has not expired yet). Expired ones of those come in as PartiallyFailed.
std::optional<api::Backup> backup_to_import(api::Backup stored, const std::string& location_name,
                                            const std::string& server_namespace, Timestamp now);

// Reconciles BackupStorageLocations: syncs an Available one every spec.backupSyncPeriod (else `default_period`;
// zero disables).
ReconcileFn backup_sync_reconciler(ServerContext& context, Duration default_period);

std::unique_ptr<Controller> make_backup_sync_controller(ServerContext& context,
                                                        Duration default_period = std::chrono::minutes(1));

}  // namespace arca::controller
