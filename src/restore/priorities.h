#pragma once
// The order resources are restored in (Velero's pkg/cmd/server/server.go defaultRestorePriorities): the high-priority list, every other resource of
// the backup alphabetically, then the low-priority list; and the server flag that replaces either list.
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "kube/discovery.h"

namespace arca::restore {

struct Priorities {
  std::vector<std::string> high;
  std::vector<std::string> low;
};

// Velero's defaultRestorePriorities (pkg/cmd/server/config/config.go).
Priorities default_priorities();

struct InvalidPriorities : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// `--restore-resource-priorities`: a comma list where one "-" splits high (before) from low (after). Only the
// side(s) present replace the defaults; more than one "-" throws "multiple priority separator".
Priorities parse_priorities(std::string_view flag, Priorities defaults = default_priorities());

// The restore order of the resource directories found in a backup (`pods`, `deployments.apps`, ...). Priority
// entries are resolved through discovery (kept verbatim when unknown); each resource appears once.
std::vector<std::string> order_resources(const Priorities& priorities, const std::vector<std::string>& in_backup,
                                         const kube::DiscoveryData* discovery);

}  // namespace arca::restore
