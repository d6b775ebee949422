#include "restore/modifiers.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <yaml-cpp/yaml.h>

namespace arca::restore {

namespace {

json node_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      json array = json::array();
      for (const auto& element : node) array.push_back(node_to_json(element));
      return array;
    }
    case YAML::NodeType::Map: {
      json object = json::object();
      for (const auto& entry : node) object[entry.first.as<std::string>()] = node_to_json(entry.second);
      return object;
    }
    case YAML::NodeType::Scalar:
      break;
  }
  const std::string& text = node.Scalar();
  if (node.Tag() != "?") return text;  // quoted or explicitly tagged: a string
  if (text == "null" || text == "~" || text.empty()) return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  json number = json::parse(text, nullptr, false);
  if (!number.is_discarded() && number.is_number()) return number;
  return text;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

void require_known_keys(const json& object, const std::set<std::string>& known, const std::string& where) {
  if (!object.is_object()) throw InvalidModifiers(where + " must be a mapping");
  for (const auto& [key, value] : object.items())
    if (known.count(key) == 0) throw InvalidModifiers("unknown field \"" + key + "\" in " + where);
}

json parse_patch_data(const json& entry, const std::string& where) {
  require_known_keys(entry, {"patchData"}, where);
  if (!entry.contains("patchData") || !entry["patchData"].is_string())
    throw InvalidModifiers(where + ": patchData is required");
  try {
    json data = yaml_to_json(entry["patchData"].get<std::string>());
    if (!data.is_object()) throw InvalidModifiers(where + ": patchData must be an object");
    return data;
  } catch (const YAML::Exception& e) {
    throw InvalidModifiers(where + ": patchData is not valid YAML or JSON: " + e.what());
  }
}

ModifierRule parse_rule(const json& rule, size_t index) {
  std::string where = "resourceModifierRules[" + std::to_string(index) + "]";
  require_known_keys(rule, {"conditions", "patches", "mergePatches", "strategicPatches"}, where);
  ModifierRule parsed;
  json conditions = rule.value("conditions", json::object());
  require_known_keys(conditions, {"groupResource", "resourceNameRegex", "namespaces", "labelSelector", "matches"},
                     where + ".conditions");
  parsed.group_resource = conditions.value("groupResource", "");
  if (parsed.group_resource.empty()) throw InvalidModifiers(where + ".conditions.groupResource cannot be empty");
  parsed.name_regex_text = conditions.value("resourceNameRegex", "");
  if (!parsed.name_regex_text.empty()) {
    try {
      parsed.name_regex.emplace(parsed.name_regex_text);
    } catch (const std::regex_error&) {
      throw InvalidModifiers(where + ".conditions.resourceNameRegex \"" + parsed.name_regex_text +
                             "\" is not a valid regular expression");
    }
  }
  for (const auto& ns : conditions.value("namespaces", json::array())) parsed.namespaces.push_back(ns.get<std::string>());
  if (conditions.contains("labelSelector") && !conditions["labelSelector"].is_null()) {
    parsed.label_selector = conditions["labelSelector"].get<LabelSelector>();
    auto problems = validate_label_selector(*parsed.label_selector);
    if (!problems.empty()) throw InvalidModifiers(where + ".conditions.labelSelector: " + problems.front());
  }
  for (const auto& match : conditions.value("matches", json::array())) {
    require_known_keys(match, {"path", "value"}, where + ".conditions.matches");
    if (match.value("path", "").empty()) throw InvalidModifiers(where + ".conditions.matches: path is required");
    parsed.matches.push_back({{"op", "test"}, {"path", match["path"]}, {"value", json_patch_value(match.value("value", ""))}});
  }
  int kinds = 0;
  if (rule.contains("patches") && !rule["patches"].empty()) {
    ++kinds;
    parsed.json_patch = json::array();
    static const std::set<std::string> kOps = {"add", "remove", "replace", "move", "copy", "test"};
    for (const auto& patch : rule["patches"]) {
      require_known_keys(patch, {"operation", "path", "value", "from"}, where + ".patches");
      std::string op = lower(patch.value("operation", ""));
      if (kOps.count(op) == 0)
        throw InvalidModifiers(where + ".patches: unsupported operation \"" + patch.value("operation", "") + "\"");
      if (patch.value("path", "").empty()) throw InvalidModifiers(where + ".patches: path is required");
      json operation = {{"op", op}, {"path", patch["path"]}};
      if (op == "move" || op == "copy") operation["from"] = patch.value("from", "");
      if (op == "add" || op == "replace" || op == "test") operation["value"] = json_patch_value(patch.value("value", ""));
      parsed.json_patch.push_back(operation);
    }
  }
  if (rule.contains("mergePatches") && !rule["mergePatches"].empty()) {
    ++kinds;
    for (const auto& patch : rule["mergePatches"]) parsed.merge_patches.push_back(parse_patch_data(patch, where + ".mergePatches"));
  }
  if (rule.contains("strategicPatches") && !rule["strategicPatches"].empty()) {
    ++kinds;
    for (const auto& patch : rule["strategicPatches"])
      parsed.strategic_patches.push_back(parse_patch_data(patch, where + ".strategicPatches"));
  }
  if (kinds != 1) throw InvalidModifiers(where + ": exactly one of patches, mergePatches or strategicPatches is required");
  return parsed;
}

bool segment_glob(std::string_view pattern, std::string_view text) {
  // '*' and '?' never cross a '.'.
  if (pattern.empty()) return text.empty();
  if (pattern[0] == '*') {
    for (size_t i = 0; i <= text.size(); ++i) {
      if (segment_glob(pattern.substr(1), text.substr(i))) return true;
      if (i < text.size() && text[i] == '.') break;
    }
    return false;
  }
  if (text.empty()) return false;
  if (pattern[0] == '?') return text[0] != '.' && segment_glob(pattern.substr(1), text.substr(1));
  return pattern[0] == text[0] && segment_glob(pattern.substr(1), text.substr(1));
}

Labels labels_of(const json& item) {
  Labels labels;
  if (item.contains("metadata") && item["metadata"].contains("labels") && item["metadata"]["labels"].is_object())
    for (const auto& [key, value] : item["metadata"]["labels"].items())
      if (value.is_string()) labels[key] = value.get<std::string>();
  return labels;
}

bool rule_matches(const ModifierRule& rule, const std::string& group_resource, const json& original,
                  const std::string& original_ns) {
  if (!group_resource_matches(rule.group_resource, group_resource)) return false;
  std::string name = original["metadata"].value("name", "");
  if (rule.name_regex && !std::regex_search(name, *rule.name_regex)) return false;
  if (!original_ns.empty() && !rule.namespaces.empty() &&
      std::find(rule.namespaces.begin(), rule.namespaces.end(), original_ns) == rule.namespaces.end())
    return false;
  if (rule.label_selector && !selector_matches(*rule.label_selector, labels_of(original))) return false;
  if (!rule.matches.empty()) {
    try {
      (void)original.patch(rule.matches);
    } catch (const json::exception&) {
      return false;
    }
  }
  return true;
}

std::string merge_key_of(const json& list_a, const json& list_b) {
  for (const char* key : {"name", "containerPort", "port", "mountPath", "devicePath", "ip", "type", "key"}) {
    auto all_have = [&](const json& list) {
      return std::all_of(list.begin(), list.end(), [&](const json& e) { return e.is_object() && e.contains(key); });
    };
    if (!list_a.empty() && all_have(list_a) && all_have(list_b)) return key;
  }
  return {};
}

}  // namespace

json yaml_to_json(const std::string& text) { return node_to_json(YAML::Load(text)); }

json json_patch_value(const std::string& text) {
  if (text.empty()) return "";
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') return text.substr(1, text.size() - 2);
  std::string low = lower(text);
  if (low == "true") return true;
  if (low == "false") return false;
  if (low == "null") return nullptr;
  json parsed = json::parse(text, nullptr, false);
  if (!parsed.is_discarded() && (parsed.is_number() || text.front() == '{' || text.front() == '[')) return parsed;
  return text;
}

bool group_resource_matches(const std::string& pattern, const std::string& group_resource) {
  return segment_glob(pattern, group_resource);
}

json strategic_merge(json target, const json& patch) {
  if (!patch.is_object() || !target.is_object()) return patch;
  for (const auto& [key, value] : patch.items()) {
    if (value.is_null()) {
      target.erase(key);
    } else if (value.is_object() && target.contains(key) && target[key].is_object()) {
      target[key] = strategic_merge(target[key], value);
    } else if (value.is_array() && target.contains(key) && target[key].is_array()) {
      std::string merge_key = merge_key_of(value, target[key]);
      if (merge_key.empty()) {
        target[key] = value;
        continue;
      }
      json merged = target[key];
      for (const auto& element : value) {
        auto same = std::find_if(merged.begin(), merged.end(),
                                 [&](const json& e) { return e[merge_key] == element[merge_key]; });
        if (same == merged.end())
          merged.push_back(element);
        else
          *same = strategic_merge(*same, element);
      }
      target[key] = merged;
    } else {
      target[key] = value;
    }
  }
  return target;
}

ResourceModifiers parse_modifiers(const std::string& yaml_text) {
  json document;
  try {
    document = yaml_to_json(yaml_text);
  } catch (const YAML::Exception& e) {
    throw InvalidModifiers(std::string("resource modifiers are not valid YAML: ") + e.what());
  }
  require_known_keys(document, {"version", "resourceModifierRules"}, "resource modifiers");
  if (!document.contains("version") || !document["version"].is_string() || lower(document["version"].get<std::string>()) != "v1")
    throw InvalidModifiers("unsupported resource modifiers version " +
                           (document.contains("version") ? document["version"].dump() : std::string("\"\"")));
  const json rules = document.value("resourceModifierRules", json::array());
  if (!rules.is_array() || rules.empty()) throw InvalidModifiers("resourceModifierRules cannot be empty");
  ResourceModifiers modifiers;
  for (size_t i = 0; i < rules.size(); ++i) {
    try {
      modifiers.rules.push_back(parse_rule(rules[i], i));
    } catch (const json::exception& e) {
      throw InvalidModifiers("resourceModifierRules[" + std::to_string(i) + "]: " + e.what());
    } catch (const InvalidLabelSelector& e) {
      throw InvalidModifiers("resourceModifierRules[" + std::to_string(i) + "]: " + e.what());
    }
  }
  return modifiers;
}

ResourceModifiers parse_modifiers_configmap(const json& config_map) {
  std::string name = config_map.value("/metadata/name"_json_pointer, std::string());
  json data = config_map.value("data", json::object());
  if (!data.is_object() || data.size() != 1)
    throw InvalidModifiers("ConfigMap " + name + " must have exactly one data key, it has " +
                           std::to_string(data.is_object() ? data.size() : 0));
  try {
    return parse_modifiers(data.begin()->get<std::string>());
  } catch (const InvalidModifiers& e) {
    throw InvalidModifiers("ConfigMap " + name + ": " + e.what());
  }
}

std::vector<std::string> apply_modifiers(const ResourceModifiers& modifiers, const std::string& group_resource,
                                         const json& original, const std::string& original_ns, json& item) {
  std::vector<std::string> errors;
  for (const auto& rule : modifiers.rules) {
    if (!rule_matches(rule, group_resource, original, original_ns)) continue;
    try {
      if (!rule.json_patch.is_null()) {
        bool has_test = std::any_of(rule.json_patch.begin(), rule.json_patch.end(),
                                    [](const json& op) { return op["op"] == "test"; });
        try {
          item = item.patch(rule.json_patch);
        } catch (const json::other_error&) {
          if (!has_test) throw;  // a failed test leaves the object unchanged on purpose
        }
      }
      for (const auto& patch : rule.merge_patches) item.merge_patch(patch);
      for (const auto& patch : rule.strategic_patches) item = strategic_merge(item, patch);
    } catch (const json::exception& e) {
      errors.push_back("error applying resource modifier rule for " + group_resource + " " +
                       original["metadata"].value("name", "") + ": " + e.what());
    }
  }
  return errors;
}

}  // namespace arca::restore
