#pragma once
// What `arca install` creates (Velero's pkg/cmd/cli/install/install.go, Velero's pkg/install/resources.go): the namespace, the
// velero.io CRDs, the `velero` ServiceAccount bound to cluster-admin, the `cloud-credentials` Secret, the
// `default` BackupStorageLocation and VolumeSnapshotLocation, and the server Deployment — in the order they
// must be applied.
//
// The embedded default: provider `local` with `--backup-location-config root=DIR` keeps backups in DIR/BUCKET,
// for a server running on the same machine (the demo runs `arca server` outside the cluster against kubelite).
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace arca::install {

struct InstallOptions {
  std::string namespace_name = "velero";
  std::string image;  // empty: default_image()
  std::string provider, bucket, prefix;
  std::string secret_data;  // contents of --secret-file (the `cloud` key); unused with no_secret
  bool no_secret = false;
  bool no_default_backup_location = false;
  bool use_volume_snapshots = true;
  std::map<std::string, std::string> backup_location_config, snapshot_location_config;
  std::map<std::string, std::string> pod_annotations, pod_labels, service_account_annotations;
  std::string service_account_name;  // empty: create and use `velero`
  std::string cpu_request = "500m", memory_request = "128Mi", cpu_limit = "1000m", memory_limit = "512Mi";
  std::string features;  // comma list, passed to the server as --features=<list> (e.g. EnableAPIGroupVersions)
};

std::string default_image();

// Throws std::invalid_argument with Velero's one-line messages for inconsistent flags.
void validate(const InstallOptions& options);

// The objects to apply, in order (namespace and CRDs first, the Deployment last).
std::vector<nlohmann::json> install_resources(const InstallOptions& options);

// Velero's name for the cluster-admin binding: `velero`, or `velero-<namespace>` outside namespace velero.
std::string cluster_role_binding_name(const std::string& namespace_name);

}  // namespace arca::install
