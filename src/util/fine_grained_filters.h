#pragma once
// Velero 1.19's fine-grained filters: the `namespacedFilterPolicies` and `clusterScopedFilterPolicy` sections of a
// resource-policy ConfigMap (Velero's internal/resourcepolicies/resource_policies.go; designs
// design/backup-filter-enhancement/fine-grained-backup-filters-design.md and
// design/restore-filter-enhancement/fine-grained-restore-filters-design.md). The same sections steer a backup
// (Backup.spec.resourcePolicy) and a restore (Restore.spec.resourcePolicy):
// - a namespace that a namespaced policy matches (exact names first, then globs in the order written) keeps only
//   the kinds its resourceFilters list (or its catch-all covers), each with its own label selector and name
//   patterns, which replace the global label selector for that namespace;
// - a cluster-scoped kind listed in clusterScopedFilterPolicy gets its rules; unlisted ones keep the global ones.
#include <nlohmann/json.hpp>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "util/label_selector.h"

namespace arca {

struct ResourceFilter {
  std::vector<std::string> kinds;  // lowercased as Velero normalizes them; empty = the catch-all
  std::optional<LabelSelector> label_selector;
  std::vector<LabelSelector> or_label_selectors;
  std::vector<std::string> names, excluded_names;  // globs
  bool catch_all() const { return kinds.empty(); }
};

struct NamespacedFilterPolicy {
  std::vector<std::string> namespaces;  // exact names or globs
  std::vector<ResourceFilter> resource_filters;
};

struct FineGrainedFilters {
  std::vector<NamespacedFilterPolicy> namespaced;
  std::vector<ResourceFilter> cluster_scoped;
  bool empty() const { return namespaced.empty() && cluster_scoped.empty(); }
  // The policy for a namespace (by its name in the backup, before any mapping), or nullptr.
  const NamespacedFilterPolicy* policy_for(const std::string& ns) const;
};

// What the fine-grained filters say of one item. `global`: no rule speaks for it, so the caller's global filters
// (its label selectors) decide.
struct FilterDecision {
  enum Verdict { global, include, exclude } verdict = global;
  std::string reason;  // for exclude
};

// `group_resource` ("configmaps", "deployments.apps") and `kind` ("ConfigMap") both name the item's type: a
// filter's kind matches either, case-insensitively, as Velero accepts both spellings. `ns` is empty for
// cluster-scoped items.
FilterDecision decide(const FineGrainedFilters& filters, const std::string& group_resource, const std::string& kind,
                      const std::string& ns, const std::string& name, const Labels& labels);

// Strict decoding as Velero's yaml.UnmarshalStrict of a resource policy: a misspelt key is an error, not a silently
// ignored rule ("field X not found in WHERE"); a null object passes. Shared by every reader of the policy.
void require_known_keys(const nlohmann::json& object, std::initializer_list<const char*> known,
                        const std::string& where);
// object[key] as a list of strings ([] when absent or null); std::invalid_argument naming WHERE.key otherwise.
std::vector<std::string> string_list(const nlohmann::json& object, const char* key, const std::string& where);

// Reads and validates both sections from a parsed policy document (other keys are the caller's). Throws
// std::invalid_argument with one line in Velero's words ("at least one namespace must be specified", "only one
// catch-all resource filter is allowed", "labelSelector and orLabelSelectors cannot co-exist", ...).
FineGrainedFilters parse_fine_grained_filters(const nlohmann::json& policy);

}  // namespace arca
