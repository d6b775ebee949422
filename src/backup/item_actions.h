#pragma once
// Velero's built-in BackupItemActions and hook discovery, as pure functions on parsed objects
// (Velero's pkg/backup/actions; Velero's internal/hook/item_hook_handler.go). The engine decides when to parse; these say what to change and what to pull in.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "api/types.h"
#include "hooks/pod_exec.h"

namespace arca::backup {

// An item an action returns: looked up among what the backup indexed, backed up before its parent.
struct RelatedItem {
  std::string group, resource, namespace_name, name;
};

// velero.io/pod: the pod's priorityClass and each PVC volume.
std::vector<RelatedItem> pod_related_items(const nlohmann::json& pod);

// velero.io/pv on a Bound PVC with a volumeName: the tarball copy loses dataSource/dataSourceRef, its
// selector (unless storageClassName is ""), velero.io/* selector labels and Velero's own labels (the
// backup-name label only when it names another backup). Returns whether `pvc` changed; `pv` is set to the
// bound PV's name.
bool apply_pvc_action(nlohmann::json& pvc, const std::string& backup_name, std::string& pv);

// One exec hook that applies to a pod in one phase (Velero's internal/hook/item_hook_handler.go).
struct PodHook {
  std::string source;  // "annotation" | "spec"
  std::string phase;   // "pre" | "post"
  hooks::ExecHook exec;
  std::string warning;  // an annotation timeout that does not parse (the default is used), as Velero warns
};

// The hooks Velero runs for this pod in `phase`: the pod's annotation hook for the phase (for "pre" also the
// legacy unphased keys) if it has one, else every matching spec.hooks.resources[] entry's list for the phase, in
// order (`resolved_resources` holds each entry's resource lists already resolved to `resource.group`). Pods that
// ended (Succeeded/Failed) have none.
std::vector<PodHook> pod_hooks(const nlohmann::json& pod, const api::BackupHooks& hooks,
                               const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>>&
                                   resolved_resources,
                               const std::string& phase);

}  // namespace arca::backup
