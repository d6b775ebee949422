#pragma once
// The backup run (Velero's pkg/backup/backup.go and pkg/archive; Velero's internal/hook/item_hook_handler.go): discovery-driven collection with Velero's filters, the
// built-in item actions, de-duplication, and the tarball. It streams: list pages → raw item bytes → tar
// writer, so memory stays flat whatever the cluster size. Related kinds that actions pull in (PVCs, PVs,
// PriorityClasses, ClusterRoleBindings/ClusterRoles) are indexed once per backup into a spool file.
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/types.h"
#include "archive/parallel_gzip.h"
#include "archive/tarball_writer.h"
#include "backup/backup_log.h"
#include "backup/volume_info.h"
#include "backup/volume_snapshotter.h"
#include "util/fine_grained_filters.h"
#include "hooks/pod_exec.h"
#include "kube/discovery.h"

namespace arca::kube {
class Transport;
}

namespace arca::backup {

struct RunOptions {
  int page_size = 500;  // the server's --client-page-size
  archive::GzipOptions gzip;
  // Velero's EnableAPIGroupVersions (Velero's pkg/discovery/helper.go): every served version of each group is collected, the non-preferred
  // ones into `resources/<gr>/<version>/…`; without it only preferred versions, and the tarball is unchanged.
  bool all_group_versions = false;
  // Called after every backed-up item with (items seen so far, items backed up); the caller throttles.
  std::function<void(int total_items, int items_backed_up)> on_progress;
  // The volume paths of the run (not owned): volume snapshots of PVCs (CSI, src/csi/) and the volume information
  // they and the pod-volume path record.
  VolumeSnapshotter* volume_snapshotter = nullptr;
  VolumeInfoCollector* volume_info = nullptr;
  // Called with each pod being backed up, after its pre hooks and item actions (its PVCs are backed up):
  // file-system backup of its volumes starts here (Velero's pkg/backup/item_backupper.go calls BackupPodVolumes
  // at this point); true when it started any. `wait_pod_volumes` then waits for them before the post hooks.
  std::function<bool(std::string_view pod_json)> on_pod;
  std::function<void(std::string_view pod_json)> wait_pod_volumes;
  // Runs a hook's command in a pod; unset: kube::exec_in_pod on the run's transport.
  hooks::Executor exec;
  // Velero 1.19's namespacedFilterPolicies / clusterScopedFilterPolicy of the backup's resource policy.
  FineGrainedFilters fine_grained;
  // Sees each content the tarball receives (a signed backup's per-item digests); unset: nothing watches.
  archive::ContentObserver on_tar_content;
};

struct RunResult {
  // Why the run stopped early (listing namespaces, discovery, the tar sink failed); empty when it ran through.
  // What it collected until then is still a valid tarball and resource list.
  std::string fatal_error;
  int total_items = 0;  // items seen, including those the filters then skipped
  int items_backed_up = 0;
  // hooksAttempted / hooksFailed of the pods' exec hooks (Velero's hook tracker); `hooks_ran` says whether any hook
  // was attempted, as Velero records status.hookStatus only then.
  api::HookStatus hook_status;
  bool hooks_ran = false;
  // `B-resource-list.json.gz` content before gzip: {"<apiVersion>/<Kind>": ["ns/name", ...sorted]}, compact,
  // in a temporary file positioned at its start (it grows with the item count, so it is not held in memory).
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> resource_list{nullptr, &std::fclose};
};

// Backs up what `backup.spec` selects (spec defaults already filled in by the controller) into a
// gzip'd tar written to `tar_out`. Per-item problems are logged as errors (⇒ PartiallyFailed); fatal ones
// (listing namespaces, discovery, the tar sink) end the run with RunResult::fatal_error set.
RunResult run_backup(const api::Backup& backup, kube::Transport& transport, kube::Discovery& discovery,
                     const archive::ByteSink& tar_out, BackupLog& log, const RunOptions& options = {});

}  // namespace arca::backup
