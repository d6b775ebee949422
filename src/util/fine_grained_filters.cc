#include "util/fine_grained_filters.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "util/glob.h"

namespace arca {
namespace {

using nlohmann::json;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Velero matches names with gobwas/glob and rejects what it would read differently from a plain glob.
void check_glob(const std::string& pattern, const std::string& where) {
  if (pattern.empty() || pattern.find("**") != std::string::npos ||
      pattern.find_first_of("|(){},!") != std::string::npos)
    throw std::invalid_argument("invalid glob pattern \"" + pattern + "\" in " + where);
}

LabelSelector selector(const json& j, const std::string& where) {
  LabelSelector s;
  try {
    s = j.get<LabelSelector>();
  } catch (const std::exception& e) {
    throw std::invalid_argument("invalid label selector in " + where + ": " + e.what());
  }
  auto problems = validate_label_selector(s);
  if (!problems.empty()) throw std::invalid_argument("invalid label selector in " + where + ": " + problems.front());
  return s;
}

std::vector<ResourceFilter> resource_filters(const json& list, const std::string& where, bool allow_catch_all) {
  if (!list.is_array() || list.empty())
    throw std::invalid_argument("at least one resourceFilter must be specified in " + where);
  std::vector<ResourceFilter> out;
  std::map<std::string, size_t> kind_at;
  bool catch_all_seen = false;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string at = where + ".resourceFilters[" + std::to_string(i) + "]";
    require_known_keys(list[i], {"kinds", "labelSelector", "orLabelSelectors", "names", "excludedNames"}, at);
    ResourceFilter f;
    const auto raw_kinds = string_list(list[i], "kinds", at);
    if (raw_kinds.size() > 1 && std::count(raw_kinds.begin(), raw_kinds.end(), "*") > 0)
      throw std::invalid_argument("\"*\" cannot be combined with other kinds in " + at);
    for (const auto& kind : raw_kinds)
      if (kind != "*") f.kinds.push_back(lower(kind));
    f.names = string_list(list[i], "names", at);
    f.excluded_names = string_list(list[i], "excludedNames", at);
    for (const auto* patterns : {&f.names, &f.excluded_names})
      for (const auto& p : *patterns) check_glob(p, at);
    const bool has_selector = list[i].contains("labelSelector") && !list[i]["labelSelector"].is_null();
    const bool has_or = list[i].contains("orLabelSelectors") && !list[i]["orLabelSelectors"].is_null();
    if (has_selector && has_or)
      throw std::invalid_argument("labelSelector and orLabelSelectors cannot co-exist in " + at);
    if (has_selector) f.label_selector = selector(list[i]["labelSelector"], at + ".labelSelector");
    if (has_or) {
      if (!list[i]["orLabelSelectors"].is_array())
        throw std::invalid_argument(at + ".orLabelSelectors must be a list");
      for (const auto& s : list[i]["orLabelSelectors"]) f.or_label_selectors.push_back(selector(s, at + ".orLabelSelectors"));
    }
    if (f.catch_all()) {
      if (!allow_catch_all)
        throw std::invalid_argument("kinds must be specified in " + at + " (catch-all is not supported)");
      if (catch_all_seen) throw std::invalid_argument("only one catch-all resource filter is allowed in " + where);
      if (!f.names.empty() || !f.excluded_names.empty())
        throw std::invalid_argument("names or excludedNames cannot be specified for catch-all filters (" + at + ")");
      catch_all_seen = true;
    }
    for (const auto& kind : f.kinds) {
      auto [it, fresh] = kind_at.emplace(kind, i);
      if (!fresh)
        throw std::invalid_argument("kind \"" + kind + "\" appears in both " + where + ".resourceFilters[" +
                                    std::to_string(it->second) + "] and [" + std::to_string(i) + "]");
    }
    out.push_back(std::move(f));
  }
  return out;
}

bool kind_matches(const std::string& filter_kind, const std::string& group_resource, const std::string& kind_lower) {
  if (filter_kind == kind_lower || filter_kind == group_resource) return true;
  auto dot = group_resource.find('.');
  return dot != std::string::npos && filter_kind == group_resource.substr(0, dot);
}

bool any_glob(const std::vector<std::string>& patterns, const std::string& name) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) { return glob_match(p, name); });
}

FilterDecision apply(const ResourceFilter& f, const std::string& name, const Labels& labels, const std::string& what) {
  if (any_glob(f.excluded_names, name)) return {FilterDecision::exclude, what + " excludes the name " + name};
  if (!f.names.empty() && !any_glob(f.names, name)) return {FilterDecision::exclude, what + " does not name " + name};
  if (f.label_selector && !selector_matches(*f.label_selector, labels))
    return {FilterDecision::exclude, what + "'s label selector does not match"};
  if (!f.or_label_selectors.empty() &&
      std::none_of(f.or_label_selectors.begin(), f.or_label_selectors.end(),
                   [&](const LabelSelector& s) { return selector_matches(s, labels); }))
    return {FilterDecision::exclude, what + "'s orLabelSelectors do not match"};
  return {FilterDecision::include, {}};
}

const ResourceFilter* filter_for(const std::vector<ResourceFilter>& filters, const std::string& group_resource,
                                 const std::string& kind_lower) {
  const ResourceFilter* catch_all = nullptr;
  for (const auto& f : filters) {
    if (f.catch_all()) catch_all = &f;
    for (const auto& k : f.kinds)
      if (kind_matches(k, group_resource, kind_lower)) return &f;
  }
  return catch_all;
}

}  // namespace

void require_known_keys(const json& object, std::initializer_list<const char*> known, const std::string& where) {
  if (object.is_null()) return;
  if (!object.is_object()) throw std::invalid_argument(where + " must be a mapping");
  for (const auto& [key, _] : object.items())
    if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; }))
      throw std::invalid_argument("field " + key + " not found in " + where);
}

std::vector<std::string> string_list(const json& object, const char* key, const std::string& where) {
  std::vector<std::string> out;
  if (!object.contains(key) || object[key].is_null()) return out;
  if (!object[key].is_array()) throw std::invalid_argument(where + "." + key + " must be a list");
  for (const auto& v : object[key]) {
    if (!v.is_string()) throw std::invalid_argument(where + "." + key + " must be a list of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

const NamespacedFilterPolicy* FineGrainedFilters::policy_for(const std::string& ns) const {
  for (const auto& p : namespaced)
    if (std::find(p.namespaces.begin(), p.namespaces.end(), ns) != p.namespaces.end()) return &p;
  for (const auto& p : namespaced)
    for (const auto& pattern : p.namespaces)
      if (has_glob_chars(pattern) && glob_match(pattern, ns)) return &p;
  return nullptr;
}

FilterDecision decide(const FineGrainedFilters& filters, const std::string& group_resource, const std::string& kind,
                      const std::string& ns, const std::string& name, const Labels& labels) {
  const std::string kind_lower = lower(kind);
  if (ns.empty()) {
    const ResourceFilter* f = filter_for(filters.cluster_scoped, group_resource, kind_lower);
    return f ? apply(*f, name, labels, "clusterScopedFilterPolicy") : FilterDecision{};
  }
  const NamespacedFilterPolicy* policy = filters.policy_for(ns);
  if (!policy) return {};
  const ResourceFilter* f = filter_for(policy->resource_filters, group_resource, kind_lower);
  if (!f)
    return {FilterDecision::exclude,
            "the namespacedFilterPolicies entry of namespace " + ns + " does not list " + group_resource};
  return apply(*f, name, labels, "the namespacedFilterPolicies entry of namespace " + ns);
}

FineGrainedFilters parse_fine_grained_filters(const json& policy) {
  FineGrainedFilters out;
  if (!policy.is_object()) return out;
  if (auto it = policy.find("namespacedFilterPolicies"); it != policy.end() && !it->is_null()) {
    if (!it->is_array()) throw std::invalid_argument("namespacedFilterPolicies must be a list");
    std::set<std::string> seen_patterns;
    for (size_t i = 0; i < it->size(); ++i) {
      const std::string where = "namespacedFilterPolicies[" + std::to_string(i) + "]";
      const json& entry = (*it)[i];
      require_known_keys(entry, {"namespaces", "resourceFilters"}, where);
      NamespacedFilterPolicy p;
      p.namespaces = string_list(entry, "namespaces", where);
      if (p.namespaces.empty()) throw std::invalid_argument("at least one namespace must be specified in " + where);
      for (const auto& ns : p.namespaces) {
        check_glob(ns, where + ".namespaces");
        if (!seen_patterns.insert(ns).second)
          throw std::invalid_argument("duplicate namespace pattern \"" + ns + "\" in " + where);
      }
      p.resource_filters = resource_filters(entry.value("resourceFilters", json()), where, true);
      out.namespaced.push_back(std::move(p));
    }
  }
  if (auto it = policy.find("clusterScopedFilterPolicy"); it != policy.end() && !it->is_null()) {
    require_known_keys(*it, {"resourceFilters"}, "clusterScopedFilterPolicy");
    out.cluster_scoped = resource_filters(it->value("resourceFilters", json()), "clusterScopedFilterPolicy", false);
  }
  return out;
}

}  // namespace arca
