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

}  // namespace

std::string default_image() { return std::string("arca/arca:v") + version(); }

std::string cluster_role_binding_name(const std::string& ns) { return ns == "velero" ? "velero" : "velero-" + ns; }

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
      {"resources",
       {{"requests", {{"cpu", o.cpu_request}, {"memory", o.memory_request}}},
        {"limits", {{"cpu", o.cpu_limit}, {"memory", o.memory_limit}}}}},
      {"env", json::array({{{"name", "VELERO_NAMESPACE"},
                            {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.namespace"}}}}}}})},
  };
  json pod_spec = {{"serviceAccountName", service_account}, {"restartPolicy", "Always"}, {"containers", json::array({container})}};
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
  return out;
}

}  // namespace arca::install
