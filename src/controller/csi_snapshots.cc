#include "controller/csi_snapshots.h"

#include <spdlog/spdlog.h>

#include "controller/locations.h"
#include "csi/cleanup.h"
#include "persistence/backup_store.h"
#include "util/timestamp.h"

namespace arca::controller {

std::unique_ptr<csi::CsiSnapshotter> make_csi_snapshotter(ServerContext& ctx, const api::Backup& backup,
                                                          backup::BackupLog& log, backup::VolumeInfoCollector& info,
                                                          const std::optional<ResourcePolicies>& policies,
                                                          std::function<void(api::BackupPhase)> set_phase,
                                                          bool encrypted) {
  csi::SnapshotterOptions options;
  if (backup.spec.csi_snapshot_timeout && backup.spec.csi_snapshot_timeout->count() > 0)
    options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*backup.spec.csi_snapshot_timeout);
  if (policies)
    for (const auto& p : policies->volume_policies) options.volume_policies.push_back({p.conditions, p.action});
  options.set_phase = std::move(set_phase);
  options.now = [&ctx] { return format_rfc3339(ctx.clock.now()); };
  options.keep_contents = encrypted;
  options.move_data = backup.spec.snapshot_move_data.value_or(false);
  options.velero_namespace = ctx.settings.namespace_name;
  if (backup.spec.item_operation_timeout && backup.spec.item_operation_timeout->count() > 0)
    options.operation_timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(*backup.spec.item_operation_timeout);
  return std::make_unique<csi::CsiSnapshotter>(ctx.transport, ctx.discovery, backup, log, &info, std::move(options));
}

std::vector<std::string> delete_csi_snapshots(ServerContext& ctx, OpenLocation& location, const std::string& backup) {
  std::vector<csi::KeptSnapshot> kept;
  try {
    auto text = persistence::read_backup_gzip_file(location.store(), location.layout(), backup,
                                                   persistence::BackupFile::VolumeInfo);
    if (text) kept = csi::kept_snapshots(*text);
  } catch (const std::exception& e) {
    // An encrypted backup's volume information needs a key the server does not hold: only the labelled leftovers go.
    spdlog::warn("backup={} volume information not readable, its CSI snapshots are not deleted: {}", backup, e.what());
  }
  return csi::delete_backup_snapshots(ctx.transport, ctx.discovery, backup, kept);
}

void record_csi_counts(const csi::CsiSnapshotter& snapshotter, api::Backup& backup) {
  backup.status.csi_volume_snapshots_attempted = snapshotter.attempted();
  backup.status.csi_volume_snapshots_completed = snapshotter.completed();
  backup.status.backup_item_operations_attempted = snapshotter.attempted();
  backup.status.backup_item_operations_completed = snapshotter.completed();
  backup.status.backup_item_operations_failed = snapshotter.failed();
}

}  // namespace arca::controller
