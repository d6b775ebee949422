#pragma once
// Resource modifiers (Velero's internal/resourcemodifiers): rules read from a ConfigMap that patch matching objects with
// RFC 6902 JSON patches, RFC 7386 merge patches or strategic merge patches, after the item actions.
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/label_selector.h"

namespace arca::restore {

using nlohmann::json;

struct InvalidModifiers : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

struct ModifierRule {
  std::string group_resource;                 // glob with '.' as separator
  std::string name_regex_text;
  std::optional<std::regex> name_regex;
  std::vector<std::string> namespaces;        // original namespaces; ignored for cluster-scoped items
  std::optional<LabelSelector> label_selector;
  json matches = json::array();               // JSON-patch "test" operations
  json json_patch;                            // RFC 6902 array, values already typed
  std::vector<json> merge_patches;
  std::vector<json> strategic_patches;
};

struct ResourceModifiers {
  std::vector<ModifierRule> rules;
};

// Parses and validates the ConfigMap (`data` must hold exactly one key); throws InvalidModifiers with one line.
ResourceModifiers parse_modifiers_configmap(const json& config_map);
// The YAML (or JSON) text of the one data key.
ResourceModifiers parse_modifiers(const std::string& yaml_text);

// Applies every matching rule to `item`. Matching looks at `original` (the object before this restore's
// modifiers; `original_ns` is its backed-up namespace); patches see earlier rules' output. Returns the errors
// (one line each); the item keeps every patch that worked.
std::vector<std::string> apply_modifiers(const ResourceModifiers& modifiers, const std::string& group_resource,
                                         const json& original, const std::string& original_ns, json& item);

// Velero's value typing of a JSON-patch `value` string (Velero's internal/resourcemodifiers).
json json_patch_value(const std::string& text);
// '.'-separated glob of a modifier's groupResource: `*` stays within one segment.
bool group_resource_matches(const std::string& pattern, const std::string& group_resource);
// A strategic merge patch: maps merge, null deletes, lists of objects merge by their key field (name,
// containerPort, port, mountPath, ...), other lists are replaced.
json strategic_merge(json target, const json& patch);

// YAML text to JSON with YAML's scalar typing (plain 3 → number, "3" → string).
json yaml_to_json(const std::string& text);

}  // namespace arca::restore
