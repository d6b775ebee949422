#pragma once
// What every controller of `arca server` shares: the API connection, the clock, the server's settings
// and the velero.io resources resolved once through discovery.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "controller/clock.h"
#include "kube/discovery.h"
#include "restore/priorities.h"
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
  // Velero's pkg/cmd/server/config/config.go defaults.
  Duration backup_sync_period = std::chrono::minutes(1);           // BSLs that set no backupSyncPeriod
  Duration garbage_collection_frequency = std::chrono::hours(1);
  Duration resource_timeout = std::chrono::minutes(10);            // waits not covered by another timeout (CRDs)
  Duration terminating_resource_timeout = std::chrono::minutes(10);  // terminating namespaces during a restore
  restore::Priorities restore_priorities = restore::default_priorities();
  bool schedule_skip_immediately = false;  // for schedules whose spec.skipImmediately is unset
  // Velero 1.19's --default-resource-modifier-configmap: applied to restores that name no modifier of their own.
  std::string default_resource_modifier_configmap;
  // `--default-repo-maintain-frequency`: 0 means Velero's default for restic repositories, a week.
  Duration default_repo_maintain_frequency = Duration::zero();
  // File-system backup of pod volumes (Velero's --default-volumes-to-fs-backup, --fs-backup-timeout).
  bool default_volumes_to_fs_backup = false;  // for backups whose spec leaves it unset
  bool default_snapshot_move_data = false;    // --default-snapshot-move-data, likewise
  Duration fs_backup_timeout = std::chrono::hours(4);
  // The image of the restore-wait init container unless fs-restore-action-config names one (Velero defaults to
  // its own server image): the server's image, as `arca install` deploys it.
  std::string restore_helper_image;
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

// A v1 resource through discovery; a missing velero.io one says the CRDs are not installed, in one line.
kube::ApiResource lookup_v1(kube::Discovery& discovery, const char* group, const char* resource);

// Resolves the resources above; throws one line naming what is missing (e.g. CRDs not installed).
ServerContext make_context(kube::Transport& transport, kube::Discovery& discovery, const Clock& clock,
                           ServerSettings settings);

}  // namespace arca::controller
