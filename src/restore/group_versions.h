#pragma once
// Velero's `EnableAPIGroupVersions` on the restore side (Velero's pkg/restore/prioritize_group_version.go): a backup made with the feature
// holds every served version of a resource (`resources/<gr>/<ver>/…`, the source's preferred one as
// `<ver>-preferredversion/`), and the restore picks per resource the version to read and create.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kube/discovery.h"

namespace arca::restore {

// The user's priorities: ConfigMap `enableapigroupversions` (velero namespace), key below.
inline constexpr std::string_view kVersionPriorityConfigMap = "enableapigroupversions";
inline constexpr std::string_view kVersionPriorityKey = "restoreResourcesVersionPriority";

// Kubernetes' version order (apimachinery CompareKubeAwareVersionStrings): GA before beta before alpha, then the
// higher major, then the higher minor (v2 > v1 > v1beta2 > v1beta1 > v1alpha1); versions not of that form come
// after, alphabetically. Negative when `a` comes first.
int compare_kube_versions(std::string_view a, std::string_view b);
void sort_by_kube_priority(std::vector<std::string>& versions);

// `resource.group` → the versions the user wants, first preferred.
using VersionPriorities = std::map<std::string, std::vector<std::string>>;

// The ConfigMap's lines `<resource.group>=v1,v2`: spaces are removed, empty lines ignored; a line without exactly
// one `=` or with nothing on one side is skipped, with one line naming it appended to `rejected`.
VersionPriorities parse_version_priorities(std::string_view text, std::vector<std::string>& rejected);

// What the backup holds for one resource directory, from its version directory names.
struct SourceVersions {
  std::string preferred;              // from `<ver>-preferredversion`
  std::vector<std::string> versions;  // all of them, the preferred one included
};

enum class VersionRule {
  user_priority,         // (0) the user's first version both sides have
  target_preferred,      // (1) the target's preferred version is in the backup
  source_preferred,      // (2) the backup's preferred version is served by the target
  common_non_preferred,  // (3) a version neither side prefers, in the target's order
  fallback,              // none of the above: the backup's preferred version
  group_not_served,      // the target does not serve the group: the backup's preferred version
};
std::string_view to_string(VersionRule rule);

struct ChosenVersion {
  std::string version;
  bool source_preferred = false;  // then the items are those of the unversioned (and `-preferredversion`) paths
  VersionRule rule = VersionRule::fallback;
};

// The choice of Velero's pkg/restore/prioritize_group_version.go for `resource_group` (`rockbands.music.example.io`, `pods`). `target` is the target cluster's
// group (versions preferred first), nullptr when it does not serve the group.
ChosenVersion choose_version(const std::string& resource_group, const SourceVersions& source,
                             const kube::ApiGroup* target, const VersionPriorities& user);

}  // namespace arca::restore
