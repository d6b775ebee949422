#include "restore/priorities.h"

#include <algorithm>
#include <set>

namespace arca::restore {

Priorities default_priorities() {
  return {{"customresourcedefinitions", "namespaces", "storageclasses",
           "volumesnapshotclass.snapshot.storage.k8s.io", "volumesnapshotcontents.snapshot.storage.k8s.io",
           "volumesnapshots.snapshot.storage.k8s.io", "datauploads.velero.io", "persistentvolumes",
           "persistentvolumeclaims", "clusterroles", "roles", "serviceaccounts", "clusterrolebindings",
           "rolebindings", "secrets", "configmaps", "limitranges", "priorityclasses", "pods", "replicasets.apps",
           "clusterclasses.cluster.x-k8s.io", "endpoints", "services"},
          {"clusterbootstraps.run.tanzu.vmware.com", "clusters.cluster.x-k8s.io",
           "clusterresourcesets.addons.cluster.x-k8s.io", "apps.kappctrl.k14s.io",
           "packageinstalls.packaging.carvel.dev"}};
}

Priorities parse_priorities(std::string_view flag, Priorities defaults) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= flag.size()) {
    size_t comma = flag.find(',', start);
    if (comma == std::string_view::npos) comma = flag.size();
    std::string item(flag.substr(start, comma - start));
    if (!item.empty()) items.push_back(item);
    start = comma + 1;
  }
  auto separators = std::count(items.begin(), items.end(), "-");
  if (separators > 1) throw InvalidPriorities("multiple priority separator \"-\" in restore resource priorities");
  auto separator = std::find(items.begin(), items.end(), "-");
  std::vector<std::string> high(items.begin(), separator);
  std::vector<std::string> low;
  if (separator != items.end()) low.assign(separator + 1, items.end());
  if (!high.empty()) defaults.high = high;
  if (!low.empty()) defaults.low = low;
  return defaults;
}

namespace {
std::string resolved(const std::string& entry, const kube::DiscoveryData* discovery) {
  if (discovery == nullptr) return entry;
  const kube::ApiResource* resource = kube::resolve_resource(*discovery, entry);
  return resource != nullptr ? resource->group_resource() : entry;
}
}  // namespace

std::vector<std::string> order_resources(const Priorities& priorities, const std::vector<std::string>& in_backup,
                                         const kube::DiscoveryData* discovery) {
  std::set<std::string> present(in_backup.begin(), in_backup.end());
  std::set<std::string> placed;
  std::vector<std::string> order;
  auto place = [&](const std::string& resource) {
    if (present.count(resource) != 0 && placed.insert(resource).second) order.push_back(resource);
  };
  std::vector<std::string> low;
  for (const auto& entry : priorities.high) place(resolved(entry, discovery));
  for (const auto& entry : priorities.low) low.push_back(resolved(entry, discovery));
  std::set<std::string> low_set(low.begin(), low.end());
  for (const auto& resource : present)  // std::set: alphabetical
    if (low_set.count(resource) == 0) place(resource);
  for (const auto& resource : low) place(resource);
  return order;
}

}  // namespace arca::restore
