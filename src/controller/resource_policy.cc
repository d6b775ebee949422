#include "controller/resource_policy.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <regex>
#include <stdexcept>

#include "restore/modifiers.h"
#include "util/glob.h"

namespace arca::controller {
namespace {

using nlohmann::json;

// "low,high" with either side empty: Kubernetes quantities such as 10Gi, 500M, 1.5.
void check_capacity(const json& capacity) {
  static const std::regex quantity(R"(\s*([0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+|[KMGTPE]i?|[munkMGTPE])?)?\s*)");
  std::string text = capacity.is_string() ? capacity.get<std::string>() : capacity.dump();
  auto comma = text.find(',');
  if (comma == std::string::npos || text.find(',', comma + 1) != std::string::npos)
    throw std::invalid_argument("wrong format of Capacity " + text);
  for (const auto& side : {text.substr(0, comma), text.substr(comma + 1)})
    if (!std::regex_match(side, quantity)) throw std::invalid_argument("wrong format of Capacity " + text);
}

void check_include_exclude(const std::vector<std::string>& includes, const std::vector<std::string>& excludes) {
  for (const auto* list : {&includes, &excludes})
    if (std::find(list->begin(), list->end(), "*") != list->end())
      throw std::invalid_argument("cannot use '*' in includes or excludes filters in the policy");
  for (const auto& e : excludes)
    if (std::find(includes.begin(), includes.end(), e) != includes.end())
      throw std::invalid_argument("excludes list cannot contain an item in the includes list: " + e);
}

// As Velero's CombineWithPolicy: an entry is added only when no pattern of the spec's includes or excludes
// matches it (so a spec including `*` takes nothing from the policy).
void add_unmentioned(std::vector<std::string>& target, const std::vector<std::string>& from,
                     const std::vector<std::string>& includes, const std::vector<std::string>& excludes) {
  auto matched = [](const std::vector<std::string>& patterns, const std::string& type) {
    return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) { return glob_match(p, type); });
  };
  for (const auto& type : from)
    if (!matched(includes, type) && !matched(excludes, type)) target.push_back(type);
}

}  // namespace

ResourcePolicies parse_resource_policies(const std::map<std::string, std::string>& data) {
  if (data.size() != 1)
    throw std::invalid_argument("the ConfigMap must have exactly one data key holding the policy YAML, it has " +
                                std::to_string(data.size()));
  json doc;
  try {
    doc = restore::yaml_to_json(data.begin()->second);
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument("the policy is not valid YAML: " + e.msg);
  }
  require_known_keys(doc,
                     {"version", "volumePolicies", "includeExcludePolicy", "namespacedFilterPolicies",
                      "clusterScopedFilterPolicy"},
                     "the policy");
  ResourcePolicies out;
  out.version =
      doc.is_object() && doc.contains("version") && doc["version"].is_string() ? doc["version"].get<std::string>() : "";
  if (out.version != "v1")
    throw std::invalid_argument("incompatible version number " + out.version + " with supported version v1");

  const json volume_policies = doc.value("volumePolicies", json());
  if (!volume_policies.is_null() && !volume_policies.is_array())
    throw std::invalid_argument("volumePolicies must be a list");
  for (size_t i = 0; !volume_policies.is_null() && i < volume_policies.size(); ++i) {
    std::string where = "volumePolicies[" + std::to_string(i) + "]";
    const json& entry = volume_policies[i];
    require_known_keys(entry, {"conditions", "action"}, where);
    VolumePolicy policy;
    policy.conditions = entry.value("conditions", json::object());
    require_known_keys(policy.conditions,
                       {"capacity", "storageClass", "nfs", "csi", "volumeTypes", "pvcLabels", "pvcPhase"},
                       where + ".conditions");
    if (policy.conditions.contains("capacity")) check_capacity(policy.conditions["capacity"]);
    const json action = entry.value("action", json::object());
    require_known_keys(action, {"type", "parameters"}, where + ".action");
    policy.action = action.value("type", "");
    if (policy.action != "skip" && policy.action != "snapshot" && policy.action != "fs-backup" &&
        policy.action != "custom")
      throw std::invalid_argument("invalid action type " + policy.action);
    policy.parameters = action.value("parameters", json());
    out.volume_policies.push_back(std::move(policy));
  }

  if (doc.contains("includeExcludePolicy") && !doc["includeExcludePolicy"].is_null()) {
    const json& p = doc["includeExcludePolicy"];
    const std::string where = "includeExcludePolicy";
    require_known_keys(p,
                       {"includedClusterScopedResources", "excludedClusterScopedResources",
                        "includedNamespaceScopedResources", "excludedNamespaceScopedResources"},
                       where);
    IncludeExcludePolicy ie;
    ie.included_cluster_scoped_resources = string_list(p, "includedClusterScopedResources", where);
    ie.excluded_cluster_scoped_resources = string_list(p, "excludedClusterScopedResources", where);
    ie.included_namespace_scoped_resources = string_list(p, "includedNamespaceScopedResources", where);
    ie.excluded_namespace_scoped_resources = string_list(p, "excludedNamespaceScopedResources", where);
    check_include_exclude(ie.included_cluster_scoped_resources, ie.excluded_cluster_scoped_resources);
    check_include_exclude(ie.included_namespace_scoped_resources, ie.excluded_namespace_scoped_resources);
    out.include_exclude = std::move(ie);
  }
  out.fine_grained = parse_fine_grained_filters(doc);
  return out;
}

FineGrainedFilters parse_restore_resource_policy(const std::map<std::string, std::string>& data) {
  if (data.size() != 1)
    throw std::invalid_argument("the ConfigMap must have exactly one data key holding the policy YAML, it has " +
                                std::to_string(data.size()));
  try {
    return parse_fine_grained_filters(restore::yaml_to_json(data.begin()->second));
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument("the policy is not valid YAML: " + e.msg);
  }
}

void apply_include_exclude_policy(api::BackupSpec& spec, const IncludeExcludePolicy& policy) {
  // Decided against the spec's own lists as they were, so an entry the policy both adds and the spec names
  // is never counted twice.
  const auto cluster_in = spec.included_cluster_scoped_resources, cluster_ex = spec.excluded_cluster_scoped_resources;
  const auto ns_in = spec.included_namespace_scoped_resources, ns_ex = spec.excluded_namespace_scoped_resources;
  add_unmentioned(spec.included_cluster_scoped_resources, policy.included_cluster_scoped_resources, cluster_in,
                  cluster_ex);
  add_unmentioned(spec.excluded_cluster_scoped_resources, policy.excluded_cluster_scoped_resources, cluster_in,
                  cluster_ex);
  add_unmentioned(spec.included_namespace_scoped_resources, policy.included_namespace_scoped_resources, ns_in, ns_ex);
  add_unmentioned(spec.excluded_namespace_scoped_resources, policy.excluded_namespace_scoped_resources, ns_in, ns_ex);
}

}  // namespace arca::controller
