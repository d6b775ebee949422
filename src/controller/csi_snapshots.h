#pragma once
// The backup controller's side of CSI snapshots (src/csi/): the snapshotter a run uses, built from the backup and its
// resource policy, and the counts it leaves on the Backup's status.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "backup/backup_log.h"
#include "backup/volume_info.h"
#include "controller/context.h"
#include "controller/resource_policy.h"
#include "csi/backup_snapshots.h"

namespace arca::controller {

std::unique_ptr<csi::CsiSnapshotter> make_csi_snapshotter(ServerContext& ctx, const api::Backup& backup,
                                                          backup::BackupLog& log, backup::VolumeInfoCollector& info,
                                                          const std::optional<ResourcePolicies>& policies,
                                                          std::function<void(api::BackupPhase)> set_phase,
                                                          bool encrypted);

// Backup deletion: the driver's snapshots the backup kept (read from its volume information) and any VolumeSnapshot
// or content still labelled with it. Returns the problems, one line each.
class OpenLocation;
std::vector<std::string> delete_csi_snapshots(ServerContext& ctx, OpenLocation& location, const std::string& backup);

// status.csiVolumeSnapshotsAttempted/Completed and backupItemOperationsAttempted/Completed/Failed.
void record_csi_counts(const csi::CsiSnapshotter& snapshotter, api::Backup& backup);

}  // namespace arca::controller
