#include "archive/paths.h"

#include <algorithm>

namespace arca::archive {

std::string resource_dir(std::string_view resource, std::string_view group) {
  return group.empty() ? std::string(resource) : std::string(resource) + "." + std::string(group);
}

std::string preferred_version_dir(std::string_view version) {
  return std::string(version) + "-preferredversion";
}

std::string item_path(const ItemLocation& item, std::string_view version_dir) {
  std::string path = "resources/" + item.resource_dir + "/";
  if (!version_dir.empty()) path += std::string(version_dir) + "/";
  path += item.namespace_.empty() ? "cluster/" : "namespaces/" + item.namespace_ + "/";
  return path + item.name + ".json";
}

bool has_parent_component(std::string_view path) {
  for (size_t start = 0; start <= path.size();) {
    size_t end = std::min(path.find('/', start), path.size());
    if (path.substr(start, end - start) == "..") return true;
    start = end + 1;
  }
  return false;
}

}  // namespace arca::archive
