#pragma once
// Entry paths inside a Velero backup tarball (Velero's pkg/backup/backup.go and pkg/archive; Velero's pkg/archive/filesystem.go).
#include <string>
#include <string_view>

namespace arca::archive {

inline constexpr std::string_view kVersionPath = "metadata/version";
inline constexpr std::string_view kFormatVersion = "1.1.0";  // written as "1.1.0\n"

// "pods" for the core group, "deployments.apps" otherwise.
std::string resource_dir(std::string_view resource, std::string_view group);
// "v1" → "v1-preferredversion": the directory of the preferred-version copy.
std::string preferred_version_dir(std::string_view version);

// Where an item lives: resources/<resource_dir>/[<version_dir>/]{cluster|namespaces/<ns>}/<name>.json.
struct ItemLocation {
  std::string resource_dir;  // from resource_dir()
  std::string namespace_;    // empty for cluster-scoped items
  std::string name;
};
std::string item_path(const ItemLocation& item, std::string_view version_dir = "");

// True when a "/"-separated path has a ".." component (it could climb out of the extraction directory).
bool has_parent_component(std::string_view path);

}  // namespace arca::archive
