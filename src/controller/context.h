#pragma once
// What every controller of `arca server` shares: the API connection, the clock, the server's settings
// and the velero.io resources resolved once through discovery.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "controller/clock.h"
#include "kube/discovery.h"
#include "util/duration.h"

namespace arca::kube {
class Transport;
}

namespace arca::controller {

struct ServerSettings {
  std::string namespace_name = "velero";
  Duration default_backup_ttl = std::chrono::hours(720);
  std::string default_backup_storage_location = "default";
  Duration store_validation_frequency = std::chrono::minutes(1);
  int client_page_size = 500;
  std::map<std::string, std::string> default_volume_snapshot_locations;  // provider → VSL name
  // `--features`: names kept as given, unknown ones included (Velero does not validate them).
  std::vector<std::string> features;
};

// The feature flags arca acts on (Velero's pkg/features).
inline constexpr std::string_view kFeatureApiGroupVersions = "EnableAPIGroupVersions";
inline constexpr std::string_view kFeatureCsi = "EnableCSI";
bool feature_enabled(const ServerSettings& settings, std::string_view feature);

struct ServerContext {
  kube::Transport& transport;
  kube::Discovery& discovery;
  const Clock& clock;
  ServerSettings settings;
  kube::ApiResource backups, locations, delete_requests, download_requests, secrets, namespaces;
};

// Resolves the resources above; throws one line naming what is missing (e.g. CRDs not installed).
ServerContext make_context(kube::Transport& transport, kube::Discovery& discovery, const Clock& clock,
                           ServerSettings settings);

}  // namespace arca::controller
