#pragma once
// The restore run (Velero's pkg/restore/restore.go execute; Velero's pkg/restore/restore.go): the backup tarball is read once as a stream and its items are
// spooled to disk per resource; resources are then restored in priority order (CRDs first, waiting until they
// are Established), and the items of one resource are created in parallel by a bounded worker pool. Existing
// objects are never overwritten unless existingResourcePolicy is `update`. A dry run changes nothing and says
// per object what would happen.
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"
#include "archive/tarball_reader.h"
#include "hooks/pod_exec.h"
#include "kube/discovery.h"
#include "restore/modifiers.h"
#include "util/fine_grained_filters.h"
#include "restore/priorities.h"
#include "restore/results.h"

namespace arca::kube {
class Transport;
}

namespace arca::restore {

struct EngineOptions {
  Priorities priorities = default_priorities();
  // Concurrent creates inside one resource tier. 16 measured best on the 2-core benchmark machine, where arca and
  // kubelite share the CPU (30k restore: 32 workers 2,954 objects/s, 16 workers 4,005, 8 workers 3,425).
  int workers = 16;
  std::string spool_dir;                     // where items wait for their tier; "" = $TMPDIR or /tmp
  std::string plugin_namespace = "velero";   // where plugin config ConfigMaps live
  std::chrono::milliseconds resource_timeout = std::chrono::minutes(10);     // CRD readiness
  std::chrono::milliseconds terminating_timeout = std::chrono::minutes(10);  // terminating namespaces
  bool dry_run = false;
  // Velero's pkg/restore/restore.go execute step 4: the server runs with EnableAPIGroupVersions and the backup's formatVersion is >= "1.1.0"; each
  // resource is then read from the version directory Velero's pkg/restore/prioritize_group_version.go chooses and restored in that version.
  bool choose_group_versions = false;
  const ResourceModifiers* modifiers = nullptr;  // already validated (the controller reads the ConfigMap)
  // Velero 1.19's Restore.spec.resourcePolicy: per-namespace, per-kind rules looked up by the item's namespace in
  // the backup (before mapping); where one speaks for an item it replaces the restore's label selectors.
  FineGrainedFilters fine_grained;
  // Called after every processed item with (estimated total, processed so far); the caller throttles.
  std::function<void(int total_items, int items_restored)> on_progress;
  // The same per priority tier (one resource type; tiers run one after another in priority order): called when a
  // tier starts (0 done) and after each of its items.
  std::function<void(const std::string& resource, int done, int total)> on_tier_progress;
  // File-system restore of pod volumes, set by the controller (Velero's PodVolumeRestoreAction and
  // restorePodVolumeBackups): `prepare_pod` edits a pod about to be created (the restore-wait init container;
  // `original_ns` is its namespace in the backup), `pod_created` gets the created pod, and PVs for which
  // `pv_has_pod_volume_backup` holds are provisioned afresh for the restored data instead of recreated.
  std::function<void(nlohmann::json& pod, const std::string& original_ns)> prepare_pod;
  std::function<void(const std::string& created_pod, const std::string& original_ns)> pod_created;
  std::function<bool(const nlohmann::json& pv)> pv_has_pod_volume_backup;
  // The data mover (src/csi/data_download.h): the backup moved its CSI snapshots' data; its DataUploads go to
  // `on_data_upload`, PVCs naming one to `restore_moved_pvc` (returns the item's error).
  bool backup_moved_data = false;
  std::function<void(const nlohmann::json& data_upload)> on_data_upload;
  std::function<std::string(nlohmann::json& pvc, const nlohmann::json& from_backup, const std::string& target_ns)>
      restore_moved_pvc;
  // Runs a post-restore exec hook's command; unset: kube::exec_in_pod on the run's transport.
  hooks::Executor exec;
};

enum class DryRunVerdict { would_create, identical, differs };

struct DryRunItem {
  std::string resource_id;  // <group.resource>/<ns>/<name> or <group.resource>/<name>, target namespace
  DryRunVerdict verdict;
  std::string diff;         // unified diff of the normalised objects when they differ
};

struct RestoreOutcome {
  Result errors;
  Result warnings;
  ResourceList resources;
  int total_items = 0;
  int items_restored = 0;
  std::vector<DryRunItem> dry_run;  // sorted by resource id
  // The post-restore exec hooks' counts (Velero's hook tracker); `hooks_ran`: any was attempted.
  api::HookStatus hook_status;
  bool hooks_ran = false;
};

// Restores the tarball read from `tarball` as `restore.spec` says (the controller has validated the spec and
// appended the non-restorable resources to excludedResources). Per-item problems become warnings/errors in the
// outcome; an unreadable tarball is a Velero error. Throws only when the spool cannot be written.
void run_restore(const api::Restore& restore, const archive::ByteSource& tarball, kube::Transport& transport,
                 kube::Discovery& discovery, RestoreLog& log, const EngineOptions& options, RestoreOutcome& outcome);

std::string to_string(DryRunVerdict verdict);

// Restore spools are directories "<spool dir>/arca-restore-spool-<pid>-XXXXXX". At start-up a server removes
// those of processes that are gone (killed mid-restore), never another live server's; returns how many.
inline constexpr std::string_view kSpoolPrefix = "arca-restore-spool-";
int remove_abandoned_spools(const std::string& spool_dir = "");

}  // namespace arca::restore
