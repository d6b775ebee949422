#pragma once
// What happens to one backed-up object before it is created (Velero's
// pkg/restore/restore.go restoreItem, pkg/restore/actions, pv_restorer.go): the
// skip rules, the metadata reset, the restore labels, the built-in RestoreItemActions and the PV/PVC binding
// reset. Pure functions on the object's JSON; the few lookups in the cluster come in through ActionContext.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/types.h"

namespace arca::restore {

using nlohmann::json;

// Velero's nonRestorableResources, in its order.
const std::vector<std::string>& non_restorable_resources();

// metadata.labels (string values only).
Labels labels_of(const json& item);

// Pods Succeeded/Failed and Jobs with a completionTime: silently not restored.
bool is_completed(const std::string& group_resource, const json& item);
// Mirror pods (annotation kubernetes.io/config.mirror).
bool is_mirror_pod(const std::string& group_resource, const json& item);

// Removes generateName, selfLink, uid, resourceVersion, generation, creationTimestamp, deletionTimestamp,
// deletionGracePeriodSeconds, ownerReferences and the whole status. Throws std::invalid_argument without metadata.
void reset_metadata_and_status(json& item);

// velero.io/backup-name and velero.io/restore-name, as label values (long names shortened).
void add_restore_labels(json& item, const std::string& backup, const std::string& restore);

// Whether the backed-up status is written back (Velero's restore.go determineRestoreStatus): restoreStatus include/exclude on the group resource,
// overridden by the annotation velero.io/restore-status.
bool should_restore_status(const api::RestoreSpec& spec, const std::string& group_resource, const json& item);

// What the built-in actions need from outside the object.
struct ActionContext {
  const api::RestoreSpec* spec = nullptr;
  std::map<std::string, std::string> storage_class_mapping;  // change-storage-class plugin ConfigMap data
  std::map<std::string, std::string> image_name_rules;       // change-image-name plugin ConfigMap data
  // "" when the StorageClass exists, else why not: the API's answer ("... not found", or a 500, a timeout), which
  // the change-storage-class action reports rather than turning every failure into "not found".
  std::function<std::string(const std::string& storage_class)> storage_class_error;
  // Names of the ServiceAccounts in a namespace of the cluster (secret action).
  std::function<std::vector<std::string>(const std::string& ns)> service_accounts;
};

struct ActionOutcome {
  bool skip = false;   // the object is not created (e.g. an auto-generated service account token)
  std::string error;   // non-empty: the item fails with this message
};

// Runs the built-in RestoreItemActions that apply to `group_resource` on `item` (metadata already reset),
// init-restore-hook included (spec.hooks comes with context.spec). `target_ns` is where the item goes.
ActionOutcome run_item_actions(const std::string& group_resource, json& item, const std::string& target_ns,
                               const ActionContext& context);

// PV/PVC binding reset: claimRef uid/resourceVersion (PV) and the bind annotations.
void reset_volume_binding(json& item);

// The live object as the restore compares it with the desired one (Velero's restore.go restoreItem): metadata reset, status dropped, the
// desired object's restore labels copied in.
json normalized_live(json live, const json& desired);

// RFC 7386 merge patch turning `from` into `to`.
json merge_patch_between(const json& from, const json& to);

}  // namespace arca::restore
