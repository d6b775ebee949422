#pragma once
// Velero's collection filters as pure functions (Velero's
// pkg/controller/backup_controller.go prepareBackupRequest, pkg/backup/item_collector.go, item_backupper.go): which namespaces a
// backup covers (with glob expansion), which resource types are listed (old-style included/excluded resources +
// includeClusterResources, or the new cluster-/namespace-scoped lists), which single items are kept, and which
// label selectors go on each LIST. Resource names arrive already resolved to `resource.group` form (core group:
// plain `pods`); resolving short names through discovery is the kube client's job.
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "util/fine_grained_filters.h"
#include "util/includes_excludes.h"
#include "util/label_selector.h"

namespace arca::backup {

inline constexpr const char* kNamespacesResource = "namespaces";
inline constexpr const char* kVolumeSnapshotsResource = "volumesnapshots.snapshot.storage.k8s.io";
inline constexpr const char* kVolumeSnapshotContentsResource = "volumesnapshotcontents.snapshot.storage.k8s.io";
inline constexpr const char* kExcludeFromBackupLabel = "velero.io/exclude-from-backup";

// The controller's defaults before a backup runs (Velero's pkg/controller/backup_controller.go prepareBackupRequest steps 8–9): the CSI snapshot kinds are excluded (old mode:
// excludedResources; new mode: the scoped exclude lists) and removed from the matching include list, and empty
// includedNamespaces become ["*"]. Run after api::validate_backup_spec; the result is what velero-backup.json keeps.
void apply_default_filters(api::BackupSpec& spec);

// The namespaces a backup covers, after Velero's wildcard expansion against the namespaces that exist.
struct NamespaceScope {
  IncludesExcludes filter;
  // Glob includes matched no existing namespace: the backup covers no namespace at all (Velero only warns).
  bool includes_nothing = false;
  std::vector<std::string> warnings;

  bool should_include(const std::string& ns) const { return !includes_nothing && filter.should_include(ns); }
  // Namespaced resources are listed cluster-wide (nullopt) when "*" is included, else once per namespace here.
  std::optional<std::vector<std::string>> namespaces_to_list() const;
  // Included names that do not exist: Velero logs an error for each (the backup ends PartiallyFailed).
  std::vector<std::string> missing_namespaces(const std::vector<std::string>& existing_namespaces) const;
};

// Expansion happens when the includes are non-empty, none is exactly "*", and some include or exclude has a glob
// character; glob patterns are replaced by the existing names they match, plain names are kept verbatim.
NamespaceScope resolve_namespace_scope(const std::vector<std::string>& includes,
                                       const std::vector<std::string>& excludes,
                                       const std::vector<std::string>& existing_namespaces);

// A resource type as discovery describes it.
struct ResourceType {
  std::string group_resource;  // `pods`, `deployments.apps`, `persistentvolumes`
  bool namespaced = true;
  std::string kind;  // `Pod`: fine-grained filters name types by kind or by resource
};

// Everything a backup filters on, built once per backup from its (defaulted) spec.
struct CollectionFilters {
  NamespaceScope namespaces;
  bool old_mode = false;  // any of includedResources, excludedResources, includeClusterResources is set
  IncludesExcludes resources;  // old mode
  std::optional<bool> include_cluster_resources;
  IncludesExcludes cluster_scoped;    // new mode
  IncludesExcludes namespace_scoped;  // new mode
  std::optional<LabelSelector> label_selector;
  std::vector<LabelSelector> or_label_selectors;
  // Velero 1.19: where a fine-grained rule speaks for an item it replaces the label selectors above, so LISTs
  // carry no selector and check_item applies both (the item's labels must then be read).
  FineGrainedFilters fine_grained;
};

CollectionFilters make_collection_filters(const api::BackupSpec& spec,
                                          const std::vector<std::string>& existing_namespaces);

// Whether the collector lists this resource type at all (Velero's ShouldInclude of the resource filter).
bool should_list_resource(const CollectionFilters& filters, const ResourceType& type);

// Whether the type is "explicitly excluded", which keeps additional items of that type out (ShouldExclude).
// Types discovery cannot resolve count as excluded; the caller handles that case by not asking.
bool resource_explicitly_excluded(const CollectionFilters& filters, const ResourceType& type);

struct ItemRef {
  ResourceType type;
  std::string namespace_;  // empty for cluster-scoped items
  std::string name;
  Labels labels;
  bool being_deleted = false;  // metadata.deletionTimestamp is set
};

struct ItemDecision {
  bool include = true;
  std::string reason;  // why an item is skipped, for the backup log
};

// Velero's pkg/backup/item_backupper.go: the per-item check applied when an item enters an ItemBlock and again when it is written.
// `must_include` (additional items marked by an action, finalize-phase items) skips every check but deletion.
ItemDecision check_item(const CollectionFilters& filters, const ItemRef& item, bool must_include = false);

// Velero's pkg/backup/item_collector.go: the `labelSelector` query of each LIST: one empty string (no selector), the single selector, or one
// per orLabelSelector (their results are concatenated and de-duplicated by the backed-up set).
std::vector<std::string> list_label_selectors(const CollectionFilters& filters);

// For an item a LIST returned: whether the label selectors choose it. Without fine-grained filters the LIST's own
// selector did; with them the LIST had none, so a namespace policy's rule or else the global selectors decide.
bool listed_item_selected(const CollectionFilters& filters, const ItemRef& item);

// True when the labels satisfy the labelSelector, or any orLabelSelector, or no selector is set.
bool matches_label_selectors(const CollectionFilters& filters, const Labels& labels);

// Velero's pkg/backup/item_collector.go: whether a Namespace object is backed up on its own merits (a namespace that holds a collected item is
// tracked by the collector regardless). Only Active namespaces qualify.
bool should_track_namespace(const CollectionFilters& filters, const std::string& name, const Labels& labels,
                            bool active);

}  // namespace arca::backup
