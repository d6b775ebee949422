#include "controller/backup_queue_controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "kube/dynamic.h"

namespace arca::controller {
namespace {

using api::BackupPhase;

bool is_new(BackupPhase p) { return p == BackupPhase::unset || p == BackupPhase::New; }

// Started and not yet out of the controller's hands: a queued backup waits for these.
bool is_running(BackupPhase p) {
  return p == BackupPhase::ReadyToStart || p == BackupPhase::InProgress || p == BackupPhase::Finalizing ||
         p == BackupPhase::FinalizingPartiallyFailed;
}

}  // namespace

std::map<std::string, QueueChange> next_queue_state(const std::vector<api::Backup>& backups) {
  std::vector<const api::Backup*> queued, fresh;
  bool running = false;
  for (const auto& b : backups) {
    if (b.metadata.deletion_timestamp) continue;
    if (b.status.phase == BackupPhase::Queued) queued.push_back(&b);
    if (is_new(b.status.phase)) fresh.push_back(&b);
    running = running || is_running(b.status.phase);
  }
  std::stable_sort(queued.begin(), queued.end(), [](const api::Backup* a, const api::Backup* b) {
    return a->status.queue_position < b->status.queue_position;
  });
  std::stable_sort(fresh.begin(), fresh.end(), [](const api::Backup* a, const api::Backup* b) {
    auto ta = a->metadata.creation_timestamp.value_or(Timestamp{}),
         tb = b->metadata.creation_timestamp.value_or(Timestamp{});
    return ta != tb ? ta < tb : a->metadata.name < b->metadata.name;
  });
  queued.insert(queued.end(), fresh.begin(), fresh.end());

  std::map<std::string, QueueChange> changes;
  int position = 0;
  for (const auto* b : queued) {
    bool starts = !running && b == queued.front();
    QueueChange next =
        starts ? QueueChange{BackupPhase::ReadyToStart, 0} : QueueChange{BackupPhase::Queued, ++position};
    if (next != QueueChange{b->status.phase, b->status.queue_position}) changes[b->metadata.name] = next;
  }
  return changes;
}

ReconcileFn backup_queue_reconciler(ServerContext& ctx) {
  return [&ctx](const std::string&, const kube::ObjectPtr&) -> ReconcileResult {
    // Any backup event may move the queue: decide on the server's copies of all of them.
    std::vector<api::Backup> backups;
    kube::DynamicClient(ctx.transport)
        .list(ctx.backups, ctx.settings.namespace_name, {}, [&](const kube::ListItem& item) {
          try {
            backups.push_back(item.parse().get<api::Backup>());
          } catch (const api::DecodeError&) {
            // The backup controller fails it with the reason; it takes no place in the queue.
          }
        });
    for (const auto& [name, change] : next_queue_state(backups)) {
      const auto* before =
          &*std::find_if(backups.begin(), backups.end(), [&](const api::Backup& b) { return b.metadata.name == name; });
      update_object<api::Backup>(ctx.transport, ctx.backups, ctx.settings.namespace_name, name, [&](api::Backup& b) {
        // Someone moved it meanwhile (deleted, started): the next event decides again.
        if (b.status.phase != before->status.phase || b.status.queue_position != before->status.queue_position)
          return false;
        b.status.phase = change.phase;
        b.status.queue_position = change.queue_position;
        return true;
      });
      spdlog::info("backup={} {} {}", name, api::to_string(change.phase),
                   change.phase == BackupPhase::Queued ? "at position " + std::to_string(change.queue_position) : "");
    }
    return {};
  };
}

}  // namespace arca::controller
