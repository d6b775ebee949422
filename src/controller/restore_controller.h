#pragma once
// The RestoreController (Velero's pkg/controller/restore_controller.go and
// restore_finalizer_controller.go): validates a new Restore, downloads the
// backup's tarball, runs the restore engine, uploads log, results and restored-resource list under
// restores/R/, and records phases, progress and counts on the object. Deleting a Restore removes its files.
#include <memory>
#include <string>
#include <vector>

#include "api/types.h"
#include "controller/context.h"
#include "controller/runtime.h"

namespace arca::controller {

inline constexpr const char* kRestoreFinalizer = "restores.velero.io/external-resources-finalizer";
// arca's per-tier progress (Velero reports only the totals): a JSON list of [resource, done, total] for each
// priority tier started so far, in order, updated with status.progress and final once the restore is.
inline constexpr const char* kRestoreTiersAnnotation = "arca.dev/restore-tiers";

// Velero's restore_controller.go validateAndComplete steps 1-5, 7 (pure): appends the non-restorable resources to spec.excludedResources and returns the
// validation errors of the spec alone.
std::vector<std::string> prepare_restore(api::Restore& restore);

// The backup a schedule restore uses: the most recent Completed one by startTimestamp; nullptr when none.
const api::Backup* most_recent_completed(const std::vector<api::Backup>& backups);

// The controller as `arca server` runs it. On creation, restores left InProgress by a previous server become
// Failed (Velero's pkg/controller/restore_controller.go, server start).
std::unique_ptr<Controller> make_restore_controller(ServerContext& context);

}  // namespace arca::controller
