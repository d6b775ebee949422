#pragma once
// The backup queue (Velero's backup_types.go phases): a new Backup becomes Queued with the next queue position; the
// first Queued one becomes ReadyToStart when no other backup is starting or running, and the rest are
// renumbered 1..n. The BackupController only runs ReadyToStart backups. arca runs one backup at a time
// (Velero's default --concurrent-backups=1), so the namespace-overlap rule that only matters for parallel
// backups does not arise.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/types.h"
#include "controller/context.h"
#include "controller/runtime.h"

namespace arca::controller {

struct QueueChange {
  api::BackupPhase phase;
  int queue_position;
  bool operator==(const QueueChange&) const = default;
};

// What the queue must change, by backup name, given every Backup of the namespace. New ones join in
// creation order behind the highest position.
std::map<std::string, QueueChange> next_queue_state(const std::vector<api::Backup>& backups);

ReconcileFn backup_queue_reconciler(ServerContext& context);

}  // namespace arca::controller
