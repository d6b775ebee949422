#include "install/resources.h"

#include <stdexcept>

#include "api/crds.h"
#include "util/version.h"

namespace arca::install {
namespace {

using nlohmann::json;

json labels() { return {{"component", "velero"}}; }

json metadata(const std::string& name, const std::string& ns) {
  json m = {{"name", name}, {"labels", labels()}};
  if (!ns.empty()) m["namespace"] = ns;
  return m;
}

json string_map(const std::map<std::string, std::string>& values) {
  json out = json::object();
  for (const auto& [k, v] : values) out[k] = v;
  return out;
}

// Velero's ParseResourceRequirements: "0" (or empty) leaves the request or limit unbounded.
json resources(const std::string& cpu_request, const std::string& memory_request, const std::string& cpu_limit,
               const std::string& memory_limit) {
  json requests = json::object(), limits = json::object();
  auto set = [](json& into, const char* key, const std::string& value) {
    if (!value.empty() && value != "0") into[key] = value;
  };
  set(requests, "cpu", cpu_request);
  set(requests, "memory", memory_request);
  set(limits, "cpu", cpu_limit);
  set(limits, "memory", memory_limit);
  json out = json::object();
  if (!requests.empty()) out["requests"] = requests;
  if (!limits.empty()) out["limits"] = limits;
  return out;
}

json node_agent_daemonset(const InstallOptions& o, const std::string& service_account, bool windows) {
  std::string name = windows ? "node-agent-windows" : "node-agent";
  json pod_labels = labels();
  pod_labels["name"] = name;
  pod_labels["role"] = "node-agent";
  for (const auto& [k, v] : o.pod_labels) pod_labels[k] = v;
  json args = json::array({"node-agent", "server"});
  if (!o.features.empty()) args.push_back("--features=" + o.features);
  if (!o.node_agent_configmap.empty()) args.push_back("--node-agent-configmap=" + o.node_agent_configmap);
  json container = {{"name", "node-agent"},
                    {"image", o.image.empty() ? default_image() : o.image},
                    {"imagePullPolicy", "IfNotPresent"},
                    {"command", json::array({"/arca"})},
                    {"args", args},
                    {"env", json::array({{{"name", "VELERO_NAMESPACE"},
                                          {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.namespace"}}}}}},
                                         {{"name", "NODE_NAME"},
                                          {"valueFrom", {{"fieldRef", {{"fieldPath", "spec.nodeName"}}}}}}})},
                    {"resources", resources(o.node_agent_cpu_request, o.node_agent_memory_request,
                                            o.node_agent_cpu_limit, o.node_agent_memory_limit)},
                    {"ports", json::array({{{"name", "metrics"}, {"containerPort", 8085}}})},
                    // arca's agent answers /healthz beside its metrics while its controllers run, so a wedged
                    // agent is restarted instead of leaving every volume transfer on its node waiting.
                    {"livenessProbe",
                     {{"httpGet", {{"path", "/healthz"}, {"port", "metrics"}}},
                      {"initialDelaySeconds", 10},
                      {"periodSeconds", 30},
                      {"failureThreshold", 3}}}};
  json volumes = json::array();
  json mounts = json::array();
  if (!o.node_agent_disable_host_path && !windows) {
    volumes.push_back({{"name", "host-pods"}, {"hostPath", {{"path", o.kubelet_root_dir + "/pods"}}}});
    volumes.push_back({{"name", "host-plugins"}, {"hostPath", {{"path", o.kubelet_root_dir + "/plugins"}}}});
    mounts.push_back({{"name", "host-pods"}, {"mountPath", "/host_pods"}, {"mountPropagation", "HostToContainer"}});
    mounts.push_back({{"name", "host-plugins"}, {"mountPath", "/var/lib/kubelet/plugins"},
                      {"mountPropagation", "HostToContainer"}});
  }
  volumes.push_back({{"name", "scratch"}, {"emptyDir", json::object()}});
  mounts.push_back({{"name", "scratch"}, {"mountPath", "/scratch"}});
  container["volumeMounts"] = mounts;
  if (o.privileged_node_agent) container["securityContext"] = {{"privileged", true}};
  json pod_spec = {{"serviceAccountName", service_account},
                   {"nodeSelector", {{"kubernetes.io/os", windows ? "windows" : "linux"}}},
                   {"volumes", volumes},
                   {"containers", json::array({container})}};
  if (!windows) pod_spec["securityContext"] = {{"runAsUser", 0}};
  if (!o.node_agent_priority_class_name.empty()) pod_spec["priorityClassName"] = o.node_agent_priority_class_name;
  json pod_metadata = {{"labels", pod_labels}};
  if (!o.pod_annotations.empty()) pod_metadata["annotations"] = string_map(o.pod_annotations);
  return {{"apiVersion", "apps/v1"},
          {"kind", "DaemonSet"},
          {"metadata", metadata(name, o.namespace_name)},
          {"spec",
           {{"selector", {{"matchLabels", {{"name", name}}}}},
            {"template", {{"metadata", pod_metadata}, {"spec", pod_spec}}}}}};
}

}  // namespace

std::string default_image() { return std::string("arca/arca:v") + version(); }

std::string cluster_role_binding_name(const std::string& ns) { return ns == "velero" ? "velero" : "velero-" + ns; }

std::vector<std::string> server_args(const ServerArgOptions& o) {
  std::vector<std::string> args;
  if (o.default_volumes_to_fs_backup) args.push_back("--default-volumes-to-fs-backup=true");
  if (o.default_snapshot_move_data) args.push_back("--default-snapshot-move-data=true");
  if (o.disable_informer_cache) args.push_back("--disable-informer-cache=true");
  if (o.schedule_skip_immediately) args.push_back("--schedule-skip-immediately=true");
  if (!o.uploader_type.empty()) args.push_back("--uploader-type=" + o.uploader_type);
  if (o.restore_only) args.push_back("--restore-only");
  auto positive = [](const std::string& d) { return !d.empty() && d != "0" && d != "0s" && d[0] != '-'; };
  if (positive(o.default_repo_maintain_frequency))
    args.push_back("--default-repo-maintain-frequency=" + o.default_repo_maintain_frequency);
  if (positive(o.garbage_collection_frequency))
    args.push_back("--garbage-collection-frequency=" + o.garbage_collection_frequency);
  if (positive(o.pod_volume_operation_timeout)) args.push_back("--fs-backup-timeout=" + o.pod_volume_operation_timeout);
  if (o.keep_latest_maintenance_jobs > 0)
    args.push_back("--keep-latest-maintenance-jobs=" + std::to_string(o.keep_latest_maintenance_jobs));
  if (!o.maintenance_cpu_limit.empty()) args.push_back("--maintenance-job-cpu-limit=" + o.maintenance_cpu_limit);
  if (!o.maintenance_cpu_request.empty()) args.push_back("--maintenance-job-cpu-request=" + o.maintenance_cpu_request);
  if (!o.maintenance_mem_limit.empty()) args.push_back("--maintenance-job-mem-limit=" + o.maintenance_mem_limit);
  if (!o.maintenance_mem_request.empty()) args.push_back("--maintenance-job-mem-request=" + o.maintenance_mem_request);
  if (!o.backup_repository_configmap.empty())
    args.push_back("--backup-repository-configmap=" + o.backup_repository_configmap);
  if (!o.repo_maintenance_job_configmap.empty())
    args.push_back("--repo-maintenance-job-configmap=" + o.repo_maintenance_job_configmap);
  if (!o.default_resource_modifier_configmap.empty())
    args.push_back("--default-resource-modifier-configmap=" + o.default_resource_modifier_configmap);
  if (o.item_block_worker_count > 0)
    args.push_back("--item-block-worker-count=" + std::to_string(o.item_block_worker_count));
  if (o.concurrent_backups > 0) args.push_back("--concurrent-backups=" + std::to_string(o.concurrent_backups));
  return args;
}

std::vector<std::string> providers_of_plugins(const std::vector<std::string>& images) {
  std::vector<std::string> providers;
  for (const auto& image : images) {
    // registry/org/name:tag or @digest → name
    std::string name = image.substr(image.rfind('/') == std::string::npos ? 0 : image.rfind('/') + 1);
    name = name.substr(0, name.find_first_of(":@"));
    if (name == "velero-plugin-for-aws")
      providers.push_back("aws");
    else if (name == "velero-plugin-for-microsoft-azure")
      providers.push_back("azure");
    else if (name == "velero-plugin-for-gcp")
      throw std::invalid_argument("--plugins " + image +
                                  ": the gcp provider is not built in arca yet (built in: aws, azure, local)");
    else
      throw std::invalid_argument("--plugins " + image +
                                  ": arca runs no plugin images; its providers aws, azure and local are built in, and "
                                  "velero-plugin-for-aws and velero-plugin-for-microsoft-azure map to them");
  }
  return providers;
}

void validate(const InstallOptions& o) {
  if (!o.no_secret && o.secret_data.empty())
    throw std::invalid_argument("One of --secret-file or --no-secret is required");
  if (o.no_secret && !o.secret_data.empty())
    throw std::invalid_argument("Cannot use both --secret-file and --no-secret");
  if (!o.bucket.empty() && o.bucket.front() == '-')
    throw std::invalid_argument("Bucket names cannot begin with a '-'");
  if (o.no_default_backup_location) {
    if (!o.bucket.empty() || !o.prefix.empty() || !o.backup_location_config.empty())
      throw std::invalid_argument(
          "Cannot use --bucket, --prefix or --backup-location-config when --no-default-backup-location is set");
  } else {
    if (o.provider.empty()) throw std::invalid_argument("--provider is required");
    if (o.bucket.empty()) throw std::invalid_argument("--bucket is required");
  }
  if (o.use_volume_snapshots && o.provider.empty())
    throw std::invalid_argument("--provider is required when --use-volume-snapshots is set to true");
  if (!o.use_volume_snapshots && !o.snapshot_location_config.empty())
    throw std::invalid_argument("--snapshot-location-config must be empty when --use-volume-snapshots=false");
}

std::vector<json> install_resources(const InstallOptions& o) {
  const std::string& ns = o.namespace_name;
  std::vector<json> out;
  out.push_back({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", metadata(ns, "")}});
  for (auto crd : api::velero_crds()) {
    crd["metadata"]["labels"]["component"] = "velero";  // uninstall finds the CRDs by this label
    out.push_back(std::move(crd));
  }

  std::string service_account = o.service_account_name.empty() ? "velero" : o.service_account_name;
  if (o.service_account_name.empty()) {
    json sa = {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", metadata("velero", ns)}};
    if (!o.service_account_annotations.empty()) sa["metadata"]["annotations"] = string_map(o.service_account_annotations);
    out.push_back(sa);
  }
  out.push_back({{"apiVersion", "rbac.authorization.k8s.io/v1"},
                 {"kind", "ClusterRoleBinding"},
                 {"metadata", metadata(cluster_role_binding_name(ns), "")},
                 {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", "cluster-admin"}}},
                 {"subjects", json::array({{{"kind", "ServiceAccount"}, {"name", service_account}, {"namespace", ns}}})}});

  if (!o.no_secret)
    out.push_back({{"apiVersion", "v1"},
                   {"kind", "Secret"},
                   {"metadata", metadata("cloud-credentials", ns)},
                   {"type", "Opaque"},
                   {"stringData", {{"cloud", o.secret_data}}}});

  if (!o.no_default_backup_location) {
    json bsl = {{"apiVersion", "velero.io/v1"},
                {"kind", "BackupStorageLocation"},
                {"metadata", metadata("default", ns)},
                {"spec", {{"provider", o.provider}, {"default", true}, {"objectStorage", {{"bucket", o.bucket}}}}}};
    if (!o.prefix.empty()) bsl["spec"]["objectStorage"]["prefix"] = o.prefix;
    if (!o.backup_location_config.empty()) bsl["spec"]["config"] = string_map(o.backup_location_config);
    if (!o.no_secret) bsl["spec"]["credential"] = {{"name", "cloud-credentials"}, {"key", "cloud"}};
    if (!o.ca_cert.empty()) bsl["spec"]["objectStorage"]["caCert"] = o.ca_cert;
    out.push_back(bsl);
  }
  if (o.use_volume_snapshots) {
    json vsl = {{"apiVersion", "velero.io/v1"},
                {"kind", "VolumeSnapshotLocation"},
                {"metadata", metadata("default", ns)},
                {"spec", {{"provider", o.provider}}}};
    if (!o.snapshot_location_config.empty()) vsl["spec"]["config"] = string_map(o.snapshot_location_config);
    out.push_back(vsl);
  }

  json args = json::array({"server"});
  if (!o.features.empty()) args.push_back("--features=" + o.features);
  for (const auto& arg : o.server_args) args.push_back(arg);
  json pod_labels = labels();
  pod_labels["deploy"] = "velero";
  for (const auto& [k, v] : o.pod_labels) pod_labels[k] = v;
  json container = {
      {"name", "velero"},
      {"image", o.image.empty() ? default_image() : o.image},
      {"imagePullPolicy", "IfNotPresent"},
      {"command", json::array({"/arca"})},
      {"args", args},
      {"ports", json::array({{{"name", "metrics"}, {"containerPort", 8085}}})},
      {"resources", resources(o.cpu_request, o.memory_request, o.cpu_limit, o.memory_limit)},
      {"env", json::array({{{"name", "VELERO_NAMESPACE"},
                            {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.namespace"}}}}}}})},
  };
  json pod_spec = {{"serviceAccountName", service_account}, {"restartPolicy", "Always"}, {"containers", json::array({container})}};
  if (!o.server_priority_class_name.empty()) pod_spec["priorityClassName"] = o.server_priority_class_name;
  // No credentials mount: the server reads the Secret named by the BSL's credential through the API.
  json pod_metadata = {{"labels", pod_labels}};
  json annotations = {{"prometheus.io/scrape", "true"}, {"prometheus.io/port", "8085"}, {"prometheus.io/path", "/metrics"}};
  for (const auto& [k, v] : o.pod_annotations) annotations[k] = v;
  pod_metadata["annotations"] = annotations;
  out.push_back({{"apiVersion", "apps/v1"},
                 {"kind", "Deployment"},
                 {"metadata", metadata("velero", ns)},
                 {"spec",
                  {{"replicas", 1},
                   {"selector", {{"matchLabels", {{"deploy", "velero"}}}}},
                   {"template", {{"metadata", pod_metadata}, {"spec", pod_spec}}}}}});
  if (o.use_node_agent) out.push_back(node_agent_daemonset(o, service_account, false));
  if (o.use_node_agent_windows) out.push_back(node_agent_daemonset(o, service_account, true));
  return out;
}

}  // namespace arca::install
