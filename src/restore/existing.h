#pragma once
// An item whose name is taken in the cluster already (Velero's pkg/restore/restore.go restoreItem): it is never
// replaced. Identical to the backed-up version → skipped; with existingResourcePolicy `update` the live object is
// patched to the backed-up version (failing that, at least labelled); a ServiceAccount gets the backed-up
// secrets, pull secrets, labels and annotations merged in; otherwise a warning. A dry run compares instead.
#include <nlohmann/json.hpp>
#include <string>

#include "kube/dynamic.h"
#include "restore/reporter.h"

namespace arca::restore {

// One item as the restore would create it.
struct ItemToRestore {
  const kube::ApiResource& api;
  const std::string& id;        // <group.resource>/<ns>/<name>, for messages
  const std::string& kind_key;  // "<apiVersion>/<Kind>", the resource list's key
  const std::string& ns;        // target namespace
  const std::string& name;
  const nlohmann::json& desired;
};

// `live`: the object as already read, or null to read it here.
void restore_over_existing(kube::DynamicClient& client, const ItemToRestore& item, const std::string& policy,
                           const nlohmann::json* live, Reporter& report);

// A dry run's verdict on the item: would be created, identical, or differs (with the diff). Throws the
// KubeError of a read that fails other than with NotFound.
void report_dry_run(kube::DynamicClient& client, const ItemToRestore& item, Reporter& report);

}  // namespace arca::restore
