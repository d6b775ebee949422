#pragma once
// The BackupController (velero-backup.md §1.3, §4.1, §8): validates a new Backup, runs it, uploads it and
// records phases, progress, counts and expiration on the object.
#include <functional>
#include <string>
#include <vector>

#include "api/types.h"
#include "controller/context.h"
#include "controller/runtime.h"

namespace arca::controller {

// What §4.1 needs from the cluster, gathered by the caller so the preparation itself is pure.
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
};

// Fills the spec defaults and status fields Velero fills before a run, adds the storage-location label,
// and returns every validation error (empty: the backup may run).
std::vector<std::string> prepare_backup(api::Backup& backup, const PreparationInputs& inputs);

// Picks the BSL for spec.storageLocation "": the one with spec.default, else the server default's name.
std::string resolve_location_name(const std::string& requested, const std::vector<api::BackupStorageLocation>& all,
                                  const std::string& server_default);

ReconcileFn backup_reconciler(ServerContext& context);

// Server start: every InProgress backup was interrupted by a restart; it becomes Failed, and files a
// killed run left in storage without velero-backup.json are removed.
void fail_interrupted_backups(ServerContext& context);

}  // namespace arca::controller
