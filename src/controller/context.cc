#include "controller/context.h"

#include <algorithm>

#include "kube/errors.h"

namespace arca::controller {

bool feature_enabled(const ServerSettings& settings, std::string_view feature) {
  return std::find(settings.features.begin(), settings.features.end(), feature) != settings.features.end();
}

kube::ApiResource lookup_v1(kube::Discovery& discovery, const char* group, const char* resource) {
  try {
    return discovery.lookup(group, "v1", resource);
  } catch (const kube::KubeError& e) {
    // Only a server that answered without the resource lacks the CRDs; an unreachable one says so itself.
    if (std::string(group) == "velero.io" && e.kind() == kube::ErrorKind::ResourceNotResolved)
      throw std::runtime_error(std::string("the velero.io CRDs are not installed (no ") + resource +
                               ".velero.io); run `arca install --crds-only` first");
    throw;
  }
}

ServerContext make_context(kube::Transport& transport, kube::Discovery& discovery, const Clock& clock,
                           ServerSettings settings) {
  auto lookup = [&](const char* group, const char* resource) { return lookup_v1(discovery, group, resource); };
  return ServerContext{transport,
                       discovery,
                       clock,
                       std::move(settings),
                       lookup("velero.io", "backups"),
                       lookup("velero.io", "backupstoragelocations"),
                       lookup("velero.io", "deletebackuprequests"),
                       lookup("velero.io", "downloadrequests"),
                       lookup("", "secrets"),
                       lookup("", "namespaces")};
}

}  // namespace arca::controller
