#pragma once
// Velero's resource policies (Velero's internal/resourcepolicies; Velero's pkg/util/collections/includes_excludes.go): a ConfigMap named by a Backup's
// spec.resourcePolicy whose single data value is YAML. The backup controller loads and validates it before
// a run (problems are validation errors) and hands its include/exclude policy to the collection.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "util/fine_grained_filters.h"

namespace arca::controller {

struct IncludeExcludePolicy {
  std::vector<std::string> included_cluster_scoped_resources, excluded_cluster_scoped_resources,
      included_namespace_scoped_resources, excluded_namespace_scoped_resources;
};

struct VolumePolicy {
  nlohmann::json conditions;  // capacity, storageClass, nfs, csi, volumeTypes, pvcLabels, pvcPhase
  std::string action;         // skip | snapshot | fs-backup | custom
  nlohmann::json parameters;
};

struct ResourcePolicies {
  std::string version;
  std::vector<VolumePolicy> volume_policies;
  std::optional<IncludeExcludePolicy> include_exclude;
  FineGrainedFilters fine_grained;  // Velero 1.19: namespacedFilterPolicies, clusterScopedFilterPolicy
};

// Parses and validates the ConfigMap's data (exactly one key, strict YAML: unknown fields are errors,
// version v1, known action types, capacity "low,high", no `*` in the include/exclude policy). Throws
// std::invalid_argument with one line naming the problem.
ResourcePolicies parse_resource_policies(const std::map<std::string, std::string>& config_map_data);

// A Restore's spec.resourcePolicy ConfigMap data (Velero 1.19, fine-grained restore filters design): only
// namespacedFilterPolicies and clusterScopedFilterPolicy are read, so the ConfigMap a backup used serves a restore
// too. Throws std::invalid_argument with one line.
FineGrainedFilters parse_restore_resource_policy(const std::map<std::string, std::string>& config_map_data);

// The policy's entries are added to the spec's scoped lists unless the spec already includes or excludes
// that type: what the Backup says wins.
void apply_include_exclude_policy(api::BackupSpec& spec, const IncludeExcludePolicy& policy);

}  // namespace arca::controller
