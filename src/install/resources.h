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
  // The server's arguments after `server` and --features, as Velero's pkg/install/deployment.go writes them from
  // the install flags (server_args() builds them).
  std::vector<std::string> server_args;
  std::string ca_cert;  // --cacert's contents: the BSL's objectStorage.caCert
  std::string server_priority_class_name;
  // The node agent DaemonSet (Velero's pkg/install/daemonset.go names): its pods run `arca node-agent server`
  // with the kubelet's pods directory mounted at /host_pods.
  bool use_node_agent = false, use_node_agent_windows = false, privileged_node_agent = false,
       node_agent_disable_host_path = false;
  std::string kubelet_root_dir = "/var/lib/kubelet";
  std::string node_agent_cpu_request = "0", node_agent_memory_request = "0", node_agent_cpu_limit = "0",
              node_agent_memory_limit = "0";  // "0": unbounded, as Velero
  std::string node_agent_configmap, node_agent_priority_class_name;
};

// The install flags that become server arguments, in the order of Velero's pkg/install/deployment.go.
struct ServerArgOptions {
  bool default_volumes_to_fs_backup = false, default_snapshot_move_data = false, disable_informer_cache = false,
       schedule_skip_immediately = false, restore_only = false;
  std::string uploader_type = "kopia";
  std::string default_repo_maintain_frequency, garbage_collection_frequency, pod_volume_operation_timeout;  // Go
  int keep_latest_maintenance_jobs = 0, item_block_worker_count = 0, concurrent_backups = 0;
  std::string maintenance_cpu_request, maintenance_mem_request, maintenance_cpu_limit, maintenance_mem_limit;
  std::string backup_repository_configmap, repo_maintenance_job_configmap;
  std::string default_resource_modifier_configmap;  // Velero 1.19
};
std::vector<std::string> server_args(const ServerArgOptions& options);

// `--plugins` images: Velero's provider plugins (velero/velero-plugin-for-aws, -microsoft-azure, -gcp) name the
// provider arca has built in; returns those providers. Throws one line naming any other image, or a provider
// arca has not built.
std::vector<std::string> providers_of_plugins(const std::vector<std::string>& images);

std::string default_image();

// Throws std::invalid_argument with Velero's one-line messages for inconsistent flags.
void validate(const InstallOptions& options);

// The objects to apply, in order (namespace and CRDs first, the Deployment last).
std::vector<nlohmann::json> install_resources(const InstallOptions& options);

// Velero's name for the cluster-admin binding: `velero`, or `velero-<namespace>` outside namespace velero.
std::string cluster_role_binding_name(const std::string& namespace_name);

}  // namespace arca::install
