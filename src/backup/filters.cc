#include "backup/filters.h"

#include <algorithm>

#include "api/validation.h"
#include "util/glob.h"

namespace arca::backup {
namespace {

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool any_glob_match(const std::vector<std::string>& patterns, const std::string& name) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) { return glob_match(p, name); });
}

// Adds `resource` to `excludes` unless a pattern there already covers it, and drops it from `includes`.
void exclude_by_default(std::vector<std::string>& includes, std::vector<std::string>& excludes,
                        const std::string& resource) {
  includes.erase(std::remove(includes.begin(), includes.end(), resource), includes.end());
  if (!any_glob_match(excludes, resource)) excludes.push_back(resource);
}

}  // namespace

void apply_default_filters(api::BackupSpec& spec) {
  if (api::uses_old_resource_filters(spec)) {
    exclude_by_default(spec.included_resources, spec.excluded_resources, kVolumeSnapshotsResource);
    exclude_by_default(spec.included_resources, spec.excluded_resources, kVolumeSnapshotContentsResource);
  } else {
    exclude_by_default(spec.included_namespace_scoped_resources, spec.excluded_namespace_scoped_resources,
                       kVolumeSnapshotsResource);
    exclude_by_default(spec.included_cluster_scoped_resources, spec.excluded_cluster_scoped_resources,
                       kVolumeSnapshotContentsResource);
  }
  if (spec.included_namespaces.empty()) spec.included_namespaces = {"*"};
}

std::optional<std::vector<std::string>> NamespaceScope::namespaces_to_list() const {
  if (includes_nothing) return std::vector<std::string>{};
  if (filter.includes.empty() || contains(filter.includes, "*")) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& ns : filter.includes) {
    if (filter.should_include(ns) && !contains(out, ns)) out.push_back(ns);
  }
  return out;
}

std::vector<std::string> NamespaceScope::missing_namespaces(const std::vector<std::string>& existing) const {
  std::vector<std::string> out;
  for (const auto& ns : namespaces_to_list().value_or(std::vector<std::string>{})) {
    if (!contains(existing, ns)) out.push_back(ns);
  }
  return out;
}

NamespaceScope resolve_namespace_scope(const std::vector<std::string>& includes,
                                       const std::vector<std::string>& excludes,
                                       const std::vector<std::string>& existing_namespaces) {
  NamespaceScope scope;
  scope.filter = {includes, excludes};
  auto expanded = expand_namespace_wildcards(scope.filter, existing_namespaces);
  if (!expanded) return scope;
  scope.filter = std::move(*expanded);
  if (scope.filter.includes.empty()) {
    scope.includes_nothing = true;
    scope.warnings.push_back("no existing namespace matches the included namespace patterns; the backup includes "
                             "no namespaces");
  }
  return scope;
}

CollectionFilters make_collection_filters(const api::BackupSpec& spec,
                                          const std::vector<std::string>& existing_namespaces) {
  CollectionFilters f;
  f.namespaces = resolve_namespace_scope(spec.included_namespaces, spec.excluded_namespaces, existing_namespaces);
  f.old_mode = api::uses_old_resource_filters(spec);
  f.resources = {spec.included_resources, spec.excluded_resources};
  f.include_cluster_resources = spec.include_cluster_resources;
  f.cluster_scoped = {spec.included_cluster_scoped_resources, spec.excluded_cluster_scoped_resources};
  f.namespace_scoped = {spec.included_namespace_scoped_resources, spec.excluded_namespace_scoped_resources};
  f.label_selector = spec.label_selector;
  f.or_label_selectors = spec.or_label_selectors;
  return f;
}

bool should_list_resource(const CollectionFilters& f, const ResourceType& type) {
  const std::string& gr = type.group_resource;
  if (f.old_mode) {
    // GlobalIncludesExcludes
    if (!type.namespaced && f.include_cluster_resources == false) return false;
    // With includeClusterResources unset, cluster-scoped types are listed only by a full-cluster backup;
    // namespaces are always considered (the namespace tracker filters them later).
    if (!type.namespaced && gr != kNamespacesResource && !f.include_cluster_resources.has_value() &&
        !f.namespaces.filter.includes_everything())
      return false;
    return f.resources.should_include(gr);
  }
  // ScopeIncludesExcludes
  if (type.namespaced) return f.namespace_scoped.should_include(gr);
  if (f.cluster_scoped.excluded(gr)) return false;
  if (f.cluster_scoped.includes.empty() && f.cluster_scoped.excludes.empty() &&
      f.namespaces.filter.includes_everything() && f.namespace_scoped.includes_everything())
    return true;
  return contains(f.cluster_scoped.includes, "*") || any_glob_match(f.cluster_scoped.includes, gr) ||
         gr == kNamespacesResource;
}

bool resource_explicitly_excluded(const CollectionFilters& f, const ResourceType& type) {
  const std::string& gr = type.group_resource;
  if (f.old_mode) {
    if (f.resources.excluded(gr)) return true;
    if (type.namespaced) return false;
    if (f.include_cluster_resources == false) return true;
    // Unset: a cluster-scoped type the include list rejects is excluded (an empty list accepts everything).
    return !f.include_cluster_resources.has_value() && !f.resources.should_include(gr);
  }
  return type.namespaced ? f.namespace_scoped.excluded(gr) : f.cluster_scoped.excluded(gr);
}

ItemDecision check_item(const CollectionFilters& f, const ItemRef& item, bool must_include) {
  if (!must_include) {
    auto label = item.labels.find(kExcludeFromBackupLabel);
    if (label != item.labels.end() && label->second == "true")
      return {false, std::string("item has label ") + kExcludeFromBackupLabel + "=true"};
    if (!item.namespace_.empty() && !f.namespaces.should_include(item.namespace_))
      return {false, "namespace " + item.namespace_ + " is excluded"};
    // Cluster-scoped items (e.g. a PV pulled in by its PVC) are kept unless their type is explicitly
    // excluded; Namespace objects are never dropped here.
    if (item.namespace_.empty() && item.type.group_resource != kNamespacesResource &&
        resource_explicitly_excluded(f, item.type))
      return {false, "resource " + item.type.group_resource + " is cluster-scoped and excluded"};
    if (!item.namespace_.empty() && !should_list_resource(f, item.type))
      return {false, "resource " + item.type.group_resource + " is excluded"};
    if (!f.fine_grained.empty() && item.type.group_resource != kNamespacesResource) {
      auto decision = decide(f.fine_grained, item.type.group_resource, item.type.kind, item.namespace_, item.name,
                             item.labels);
      if (decision.verdict == FilterDecision::exclude) return {false, decision.reason};
    }
  }
  if (item.being_deleted) return {false, "item is being deleted"};
  return {};
}

std::vector<std::string> list_label_selectors(const CollectionFilters& f) {
  if (!f.fine_grained.empty()) return {std::string{}};
  if (!f.or_label_selectors.empty()) {
    std::vector<std::string> out;
    for (const auto& selector : f.or_label_selectors) out.push_back(to_selector_string(selector));
    return out;
  }
  return {f.label_selector ? to_selector_string(*f.label_selector) : std::string{}};
}

bool listed_item_selected(const CollectionFilters& f, const ItemRef& item) {
  if (f.fine_grained.empty()) return true;  // the LIST's own selector already chose
  auto decision =
      decide(f.fine_grained, item.type.group_resource, item.type.kind, item.namespace_, item.name, item.labels);
  return decision.verdict == FilterDecision::include ||
         (decision.verdict == FilterDecision::global && matches_label_selectors(f, item.labels));
}

bool matches_label_selectors(const CollectionFilters& f, const Labels& labels) {
  if (f.label_selector) return selector_matches(*f.label_selector, labels);
  if (f.or_label_selectors.empty()) return true;
  return std::any_of(f.or_label_selectors.begin(), f.or_label_selectors.end(),
                     [&](const LabelSelector& s) { return selector_matches(s, labels); });
}

bool should_track_namespace(const CollectionFilters& f, const std::string& name, const Labels& labels,
                            bool active) {
  if (!active) return false;
  bool has_selector = f.label_selector.has_value() || !f.or_label_selectors.empty();
  if (has_selector && matches_label_selectors(f, labels)) return true;
  // A selector with the default "everything" namespace filter means: only namespaces the selector picks.
  if (has_selector && f.namespaces.filter.includes_everything()) return false;
  return f.namespaces.should_include(name);
}

}  // namespace arca::backup
