#include "restore/item_actions.h"

#include <cstdlib>
#include <algorithm>
#include <stdexcept>

#include "restore/hooks.h"
#include "util/includes_excludes.h"
#include "util/names.h"

namespace arca::restore {

namespace {
constexpr const char* kBackupNameLabel = "velero.io/backup-name";
constexpr const char* kRestoreNameLabel = "velero.io/restore-name";

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

std::string string_at(const json& j, const json::json_pointer& p) {
  return j.contains(p) && j.at(p).is_string() ? j.at(p).get<std::string>() : std::string();
}

void erase_at(json& j, const json::json_pointer& parent, const std::string& key) {
  if (j.contains(parent) && j.at(parent).is_object()) j.at(parent).erase(key);
}

// Pods: node binding, priority and the service account token volumes go; the cluster recreates them.
void pod_action(json& pod) {
  json& spec = pod["spec"];
  spec.erase("nodeName");
  spec.erase("priority");
  std::string sa = spec.value("serviceAccountName", "");
  if (sa.empty() || !spec.contains("volumes")) return;
  std::string prefix = sa + "-token-";
  std::vector<std::string> dropped;
  json kept = json::array();
  for (auto& volume : spec["volumes"]) {
    std::string name = volume.value("name", "");
    if (starts_with(name, prefix))
      dropped.push_back(name);
    else
      kept.push_back(volume);
  }
  spec["volumes"] = kept;
  for (const char* list : {"containers", "initContainers"}) {
    if (!spec.contains(list)) continue;
    for (auto& container : spec[list]) {
      if (!container.contains("volumeMounts")) continue;
      json mounts = json::array();
      for (auto& mount : container["volumeMounts"])
        if (std::find(dropped.begin(), dropped.end(), mount.value("name", "")) == dropped.end()) mounts.push_back(mount);
      container["volumeMounts"] = mounts;
    }
  }
}

void job_action(json& job) {
  for (const char* path : {"/spec/selector/matchLabels", "/spec/template/metadata/labels"}) {
    json::json_pointer p(path);
    erase_at(job, p, "controller-uid");
    erase_at(job, p, "batch.kubernetes.io/controller-uid");
  }
  // Velero leaves `selector: {}` for the API server to fill in; an absent selector means the same to the Job
  // strategy (it generates one) and is also accepted by servers that refuse an empty non-manual selector.
  json::json_pointer selector("/spec/selector");
  if (job.contains(selector) && !job.value("/spec/manualSelector"_json_pointer, false) &&
      job.at(selector).value("matchLabels", json::object()).empty() && !job.at(selector).contains("matchExpressions"))
    job["spec"].erase("selector");
}

// Node ports the user wrote survive; the others were allocated by the cluster and would collide. As Velero's
// pkg/restore/actions/service_action.go: when the last-applied configuration exists it alone decides a port's
// nodePort (a named port by name, an unnamed one by its value), so a managedFields entry that lists an allocated
// port (client-side apply of a LoadBalancer) does not keep it; without the annotation, managedFields decide. For
// healthCheckNodePort either source keeps it.
bool node_port_explicit(const json& service, const json& port, const char* field) {
  std::string last_applied =
      string_at(service, json::json_pointer("/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration"));
  if (!last_applied.empty()) {
    json applied = json::parse(last_applied, nullptr, false);
    if (!applied.is_discarded()) {
      if (std::string(field) == "healthCheckNodePort") {
        if (applied.value("/spec/healthCheckNodePort"_json_pointer, 0) > 0) return true;
      } else {
        for (const auto& p : applied.value("/spec/ports"_json_pointer, json::array())) {
          if (!p.is_object() || !p.contains(field)) continue;
          const json& value = p[field];
          int node_port = value.is_number() ? value.get<int>() : value.is_string() ? std::atoi(value.get<std::string>().c_str()) : 0;
          if (node_port <= 0) continue;
          if (port.contains("name") && !port.value("name", "").empty()) {
            if (p.value("name", "") == port.value("name", "")) return true;
          } else if (!p.contains("name") && node_port == port.value(field, -1)) {
            return true;
          }
        }
        return false;
      }
    }
  }
  for (const auto& entry : service.value("/metadata/managedFields"_json_pointer, json::array())) {
    const json spec = entry.value("/fieldsV1/f:spec"_json_pointer, json::object());
    if (std::string(field) == "healthCheckNodePort") {
      if (spec.contains("f:healthCheckNodePort")) return true;
      continue;
    }
    std::string key = "k:{\"port\":" + std::to_string(port.value("port", 0)) + ",\"protocol\":\"" +
                      port.value("protocol", "TCP") + "\"}";
    if (spec.contains("f:ports") && spec["f:ports"].contains(key) && spec["f:ports"][key].contains("f:nodePort"))
      return true;
  }
  return false;
}

void service_action(json& service, bool preserve_node_ports) {
  json& spec = service["spec"];
  if (spec.value("type", "") == "ExternalName") return;
  if (spec.value("clusterIP", "") != "None") {
    spec.erase("clusterIP");
    spec.erase("clusterIPs");
  }
  if (preserve_node_ports) return;
  if (spec.contains("ports"))
    for (auto& port : spec["ports"])
      if (port.contains("nodePort") && !node_port_explicit(service, port, "nodePort")) port.erase("nodePort");
  if (spec.value("type", "") == "LoadBalancer" && spec.value("externalTrafficPolicy", "") == "Local" &&
      spec.contains("healthCheckNodePort") && !node_port_explicit(service, json::object(), "healthCheckNodePort"))
    spec.erase("healthCheckNodePort");
}

void service_account_action(json& sa) {
  if (!sa.contains("secrets") || !sa["secrets"].is_array()) return;
  std::string prefix = sa["metadata"].value("name", "") + "-token-";
  auto& secrets = sa["secrets"];
  for (size_t i = secrets.size(); i-- > 0;) {
    if (starts_with(secrets[i].value("name", ""), prefix)) {
      secrets.erase(i);
      return;
    }
  }
}

bool secret_action(json& secret, const std::string& target_ns, const ActionContext& context) {
  if (secret.value("type", "") != "kubernetes.io/service-account-token") return false;
  std::string name = secret["metadata"].value("name", "");
  if (context.service_accounts)
    for (const auto& sa : context.service_accounts(target_ns))
      if (starts_with(name, sa + "-token-")) return true;
  erase_at(secret, json::json_pointer("/metadata/annotations"), "kubernetes.io/service-account.uid");
  erase_at(secret, json::json_pointer("/data"), "token");
  erase_at(secret, json::json_pointer("/data"), "ca.crt");
  return false;
}

void role_binding_action(json& binding, const api::RestoreSpec& spec) {
  if (!binding.contains("subjects")) return;
  for (auto& subject : binding["subjects"]) {
    auto mapped = spec.namespace_mapping.find(subject.value("namespace", ""));
    if (mapped != spec.namespace_mapping.end()) subject["namespace"] = mapped->second;
  }
}

std::string change_storage_class(json& item, const json::json_pointer& path, const ActionContext& context) {
  std::string current = string_at(item, path);
  auto mapped = context.storage_class_mapping.find(current);
  if (current.empty() || mapped == context.storage_class_mapping.end()) return {};
  if (context.storage_class_error) {
    std::string error = context.storage_class_error(mapped->second);
    if (!error.empty()) return "error getting storage class " + mapped->second + " from API: " + error;
  }
  item[path] = mapped->second;
  return {};
}

void change_image_names(json& pod_spec, const ActionContext& context) {
  for (const char* list : {"containers", "initContainers"}) {
    if (!pod_spec.contains(list)) continue;
    for (auto& container : pod_spec[list]) {
      std::string image = container.value("image", "");
      for (const auto& [key, rule] : context.image_name_rules) {
        size_t comma = rule.find(',');
        if (comma == std::string::npos) continue;
        std::string from = rule.substr(0, comma), to = rule.substr(comma + 1);
        if (from.empty() || image.find(from) == std::string::npos) continue;
        for (size_t at = image.find(from); at != std::string::npos; at = image.find(from, at + to.size()))
          image.replace(at, from.size(), to);
        container["image"] = image;
        break;
      }
    }
  }
}

void pvc_action(json& pvc) {
  for (const char* annotation :
       {"pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller",
        "volume.kubernetes.io/storage-provisioner", "volume.beta.kubernetes.io/storage-provisioner",
        "volume.kubernetes.io/selected-node", "velero.io/volume-snapshot-name", "velero.io/data-upload-name"})
    erase_at(pvc, json::json_pointer("/metadata/annotations"), annotation);
}

void crd_preserve_fields_action(json& crd) {
  if (crd.value("apiVersion", "") != "apiextensions.k8s.io/v1") return;
  if (!crd.value("/spec/preserveUnknownFields"_json_pointer, false)) return;
  crd["spec"]["preserveUnknownFields"] = false;
  for (auto& version : crd["spec"]["versions"])
    version["schema"]["openAPIV3Schema"]["x-kubernetes-preserve-unknown-fields"] = true;
}

void admission_webhook_action(json& configuration) {
  if (configuration.value("apiVersion", "") != "admissionregistration.k8s.io/v1") return;
  if (!configuration.contains("webhooks")) return;
  for (auto& webhook : configuration["webhooks"]) {
    std::string effects = webhook.value("sideEffects", "");
    if (effects != "None" && effects != "NoneOnDryRun") webhook["sideEffects"] = "None";
  }
}
}  // namespace

const std::vector<std::string>& non_restorable_resources() {
  static const std::vector<std::string> kList = {
      "nodes", "events", "events.events.k8s.io", "backups.velero.io", "restores.velero.io",
      "resticrepositories.velero.io", "csinodes.storage.k8s.io", "volumeattachments.storage.k8s.io",
      "backuprepositories.velero.io"};
  return kList;
}

Labels labels_of(const json& item) {
  Labels labels;
  auto metadata = item.find("metadata");
  if (metadata == item.end() || !metadata->is_object()) return labels;
  auto found = metadata->find("labels");
  if (found == metadata->end() || !found->is_object()) return labels;
  for (const auto& [key, value] : found->items())
    if (value.is_string()) labels[key] = value.get<std::string>();
  return labels;
}

bool is_completed(const std::string& group_resource, const json& item) {
  if (group_resource == "pods") {
    std::string phase = string_at(item, json::json_pointer("/status/phase"));
    return phase == "Succeeded" || phase == "Failed";
  }
  if (group_resource == "jobs.batch") return !string_at(item, json::json_pointer("/status/completionTime")).empty();
  return false;
}

bool is_mirror_pod(const std::string& group_resource, const json& item) {
  return group_resource == "pods" &&
         item.contains(json::json_pointer("/metadata/annotations/kubernetes.io~1config.mirror"));
}

void reset_metadata_and_status(json& item) {
  if (!item.contains("metadata") || !item["metadata"].is_object())
    throw std::invalid_argument("object has no metadata");
  json& metadata = item["metadata"];
  for (const char* field : {"generateName", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
                            "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences"})
    metadata.erase(field);
  item.erase("status");
}

void add_restore_labels(json& item, const std::string& backup, const std::string& restore) {
  json& labels = item["metadata"]["labels"];
  if (!labels.is_object()) labels = json::object();
  labels[kBackupNameLabel] = valid_label_value(backup);
  labels[kRestoreNameLabel] = valid_label_value(restore);
}

bool should_restore_status(const api::RestoreSpec& spec, const std::string& group_resource, const json& item) {
  bool restore = false;
  if (spec.restore_status) {
    IncludesExcludes filter{spec.restore_status->included_resources, spec.restore_status->excluded_resources};
    restore = filter.should_include(group_resource);
  }
  std::string annotation = string_at(item, json::json_pointer("/metadata/annotations/velero.io~1restore-status"));
  annotation.erase(0, annotation.find_first_not_of(" \t\n"));
  annotation.erase(annotation.find_last_not_of(" \t\n") + 1);
  std::transform(annotation.begin(), annotation.end(), annotation.begin(), ::tolower);
  if (annotation == "true") return true;
  if (annotation == "false") return false;
  return restore;
}

ActionOutcome run_item_actions(const std::string& group_resource, json& item, const std::string& target_ns,
                               const ActionContext& context) {
  const api::RestoreSpec& spec = *context.spec;
  ActionOutcome outcome;
  if (group_resource == "pods") {  // Velero's order: change-image-name, init-restore-hook, pod
    if (!context.image_name_rules.empty()) change_image_names(item["spec"], context);
    outcome.error = apply_init_hooks(item, target_ns, spec.hooks);
    pod_action(item);
  } else if (group_resource == "jobs.batch") {
    job_action(item);
  } else if (group_resource == "services") {
    service_action(item, spec.preserve_node_ports.value_or(false));
  } else if (group_resource == "serviceaccounts") {
    service_account_action(item);
  } else if (group_resource == "secrets") {
    outcome.skip = secret_action(item, target_ns, context);
  } else if (group_resource == "rolebindings.rbac.authorization.k8s.io" ||
             group_resource == "clusterrolebindings.rbac.authorization.k8s.io") {
    role_binding_action(item, spec);
  } else if (group_resource == "persistentvolumeclaims") {
    outcome.error = change_storage_class(item, json::json_pointer("/spec/storageClassName"), context);
    pvc_action(item);
  } else if (group_resource == "persistentvolumes") {
    outcome.error = change_storage_class(item, json::json_pointer("/spec/storageClassName"), context);
  } else if (group_resource == "statefulsets.apps") {
    if (item.contains(json::json_pointer("/spec/volumeClaimTemplates")))
      for (size_t i = 0; i < item["spec"]["volumeClaimTemplates"].size() && outcome.error.empty(); ++i)
        outcome.error = change_storage_class(
            item, json::json_pointer("/spec/volumeClaimTemplates/" + std::to_string(i) + "/spec/storageClassName"),
            context);
  } else if (group_resource == "customresourcedefinitions.apiextensions.k8s.io") {
    crd_preserve_fields_action(item);
  } else if (group_resource == "apiservices.apiregistration.k8s.io") {
    outcome.skip = item.contains(json::json_pointer("/metadata/labels/kube-aggregator.kubernetes.io~1automanaged"));
  } else if (group_resource == "mutatingwebhookconfigurations.admissionregistration.k8s.io" ||
             group_resource == "validatingwebhookconfigurations.admissionregistration.k8s.io") {
    admission_webhook_action(item);
  }
  static const std::vector<std::string> kImageKinds = {"deployments.apps", "statefulsets.apps", "daemonsets.apps",
                                                       "replicasets.apps", "replicationcontrollers", "jobs.batch"};
  if (!context.image_name_rules.empty()) {
    if (std::find(kImageKinds.begin(), kImageKinds.end(), group_resource) != kImageKinds.end() &&
        item.contains(json::json_pointer("/spec/template/spec")))
      change_image_names(item["spec"]["template"]["spec"], context);
    if (group_resource == "cronjobs.batch" && item.contains(json::json_pointer("/spec/jobTemplate/spec/template/spec")))
      change_image_names(item["spec"]["jobTemplate"]["spec"]["template"]["spec"], context);
  }
  return outcome;
}

void reset_volume_binding(json& item) {
  erase_at(item, json::json_pointer("/spec/claimRef"), "uid");
  erase_at(item, json::json_pointer("/spec/claimRef"), "resourceVersion");
  erase_at(item, json::json_pointer("/metadata/annotations"), "pv.kubernetes.io/bind-completed");
  erase_at(item, json::json_pointer("/metadata/annotations"), "pv.kubernetes.io/bound-by-controller");
}

json normalized_live(json live, const json& desired) {
  reset_metadata_and_status(live);
  // What the cluster allocated for a Service (its cluster IPs, node ports the service action leaves to the
  // server) is no difference from the backup: the desired object lacks it only because the restore drops it.
  if (live.value("kind", "") == "Service" && live.contains("spec") && live["spec"].is_object() &&
      desired.contains("spec") && desired["spec"].is_object()) {
    json& spec = live["spec"];
    const json& wanted = desired["spec"];
    for (const char* field : {"clusterIP", "clusterIPs", "healthCheckNodePort"})
      if (!wanted.contains(field)) spec.erase(field);
    if (spec.contains("ports") && spec["ports"].is_array() && wanted.contains("ports") && wanted["ports"].is_array() &&
        spec["ports"].size() == wanted["ports"].size())
      for (size_t i = 0; i < spec["ports"].size(); ++i)
        if (spec["ports"][i].is_object() && wanted["ports"][i].is_object() && !wanted["ports"][i].contains("nodePort"))
          spec["ports"][i].erase("nodePort");
  }
  for (const char* label : {kBackupNameLabel, kRestoreNameLabel}) {
    json::json_pointer p("/metadata/labels/" + std::string(label).replace(std::string(label).find('/'), 1, "~1"));
    if (desired.contains(p)) live[p] = desired[p];
  }
  return live;
}

json merge_patch_between(const json& from, const json& to) {
  if (!from.is_object() || !to.is_object()) return to;
  json patch = json::object();
  for (const auto& [key, value] : from.items())
    if (!to.contains(key)) patch[key] = nullptr;
  for (const auto& [key, value] : to.items()) {
    auto it = from.find(key);
    if (it == from.end())
      patch[key] = value;
    else if (*it != value)
      patch[key] = value.is_object() && it->is_object() ? merge_patch_between(*it, value) : value;
  }
  return patch;
}

}  // namespace arca::restore
