#pragma once
// The backup-repo controller (Velero's pkg/controller/backup_repository_controller.go): a new BackupRepository
// gets its resticIdentifier and maintenance frequency, and its repository is created (or found) in the storage
// location: phase Ready, or NotReady with the reason (looked at again every minute). A Ready one is maintained
// when due (lastMaintenanceTime + maintenanceFrequency): snapshots of backups that exist neither as Backup objects
// nor in the location are forgotten, then the repository is pruned; each run is recorded in
// status.recentMaintenance (the last 3, as Velero keeps them).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/types.h"
#include "controller/context.h"
#include "controller/runtime.h"
#include "repo/repository.h"

namespace arca::controller {

// Tags of a snapshot ("backup=nightly", ...) as a map; Velero's uploader writes key=value tags.
std::map<std::string, std::string> snapshot_tags(const std::vector<std::string>& tags);

// The snapshots (IDs) whose "backup" tag names a backup in neither list; untagged snapshots are never chosen.
std::vector<std::string> snapshots_of_deleted_backups(const std::vector<repo::SnapshotInfo>& snapshots,
                                                      const std::vector<std::string>& cluster_backups,
                                                      const std::vector<std::string>& stored_backups);

ReconcileFn backup_repository_reconciler(ServerContext& context, kube::ApiResource repositories);
std::unique_ptr<Controller> make_backup_repository_controller(ServerContext& context);

}  // namespace arca::controller
