#pragma once
// Velero's IncludesExcludes (pkg/util/collections/includes_excludes.go): an include list and an exclude list of
// glob patterns where excludes win, an empty include list or '*' includes everything; plus the list validation
// rules Velero applies to backup and restore specs, returning Velero's messages.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace arca {

struct IncludesExcludes {
  std::vector<std::string> includes;
  std::vector<std::string> excludes;

  // Not matched by any exclude, and the includes are empty, contain "*", or one of them matches.
  bool should_include(std::string_view name) const;
  // Includes empty or exactly ["*"], and no excludes (Velero's IncludeEverything).
  bool includes_everything() const;
  // True if some exclude pattern matches (used for "explicitly excluded").
  bool excluded(std::string_view name) const;
};

// Velero's namespace wildcard expansion (pkg/util/wildcard): applies when the includes are non-empty, none is
// exactly "*", and some include or exclude has a glob character. Each glob pattern is then replaced by the names
// it matches among `existing` (plain names are kept verbatim, duplicates dropped). nullopt when it does not
// apply. What an expansion that leaves no includes means differs: a backup covers no namespace, a restore
// covers all of them (Velero's pkg/restore/restore.go).
std::optional<IncludesExcludes> expand_namespace_wildcards(const IncludesExcludes& lists,
                                                           const std::vector<std::string>& existing);

// Old-style lists (resources, restore namespaces): includes may not mix '*' with names, excludes may not
// contain '*', no item may be in both lists.
std::vector<std::string> validate_includes_excludes(const std::vector<std::string>& includes,
                                                    const std::vector<std::string>& excludes);

// Scoped (new-style) resource lists: '*' may not be mixed with names in either list, an exclude of '*'
// requires an empty include list, no item in both lists.
std::vector<std::string> validate_scoped_includes_excludes(const std::vector<std::string>& includes,
                                                           const std::vector<std::string>& excludes);

// Namespace lists: the old-style rules plus each name must be a valid namespace name or glob pattern.
std::vector<std::string> validate_namespace_includes_excludes(const std::vector<std::string>& includes,
                                                              const std::vector<std::string>& excludes);

// One namespace name or glob pattern: an empty string when valid, else the reason ("invalid namespace ...").
std::string namespace_pattern_error(std::string_view pattern);

}  // namespace arca
