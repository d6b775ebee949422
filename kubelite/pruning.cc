#include "kubelite/pruning.h"

namespace kubelite {

using json = nlohmann::json;

namespace {

void prune(json& value, const json& schema, const std::string& path, bool root, std::vector<std::string>& removed) {
  if (!schema.is_object()) return;
  bool preserve = schema.value("x-kubernetes-preserve-unknown-fields", false);
  bool embedded = schema.value("x-kubernetes-embedded-resource", false);
  if (value.is_object()) {
    const json& properties = schema.value("properties", json::object());
    const json& additional = schema.value("additionalProperties", json());
    for (auto it = value.begin(); it != value.end();) {
      const std::string& key = it.key();
      std::string child = path.empty() ? key : path + "." + key;
      if ((root || embedded) && (key == "apiVersion" || key == "kind" || key == "metadata")) {
        ++it;
        continue;
      }
      if (properties.contains(key)) {
        prune(it.value(), properties[key], child, false, removed);
      } else if (additional.is_object()) {
        prune(it.value(), additional, child, false, removed);
      } else if (!preserve && !(additional.is_boolean() && additional.get<bool>())) {
        removed.push_back(child);
        it = value.erase(it);
        continue;
      }
      ++it;
    }
  } else if (value.is_array() && schema.contains("items")) {
    for (size_t i = 0; i < value.size(); ++i)
      prune(value[i], schema["items"], path + "[" + std::to_string(i) + "]", false, removed);
  }
}

}  // namespace

std::vector<std::string> prune_unknown_fields(json& object, const json& schema) {
  std::vector<std::string> removed;
  prune(object, schema, "", true, removed);
  return removed;
}

}  // namespace kubelite
