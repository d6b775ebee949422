#include "podvolume/restorer.h"

#include <algorithm>

#include "kube/dynamic.h"
#include "kube/errors.h"
#include "podvolume/repository.h"
#include "restore/modifiers.h"
#include "util/names.h"
#include "util/version.h"

namespace arca::podvolume {
namespace {

using nlohmann::json;

std::string config_value(const RestoreHelperConfig& config, const char* key) {
  auto it = config.data.find(key);
  return it == config.data.end() ? "" : it->second;
}

// Velero's getSecurityContext + kube.ParseSecurityContext: secCtx is a SecurityContext in YAML, the other keys
// override its fields.
json security_context(const RestoreHelperConfig& config, std::vector<std::string>* warnings) {
  json out = json::object();
  try {
    std::string yaml = config_value(config, "secCtx");
    if (!yaml.empty()) {
      out = restore::yaml_to_json(yaml);
      if (!out.is_object()) throw std::invalid_argument("secCtx is not a mapping");
    }
    for (const char* key : {"secCtxRunAsUser", "secCtxRunAsGroup"}) {
      std::string value = config_value(config, key);
      if (value.empty()) continue;
      size_t used = 0;
      long long id = std::stoll(value, &used);
      if (used != value.size()) throw std::invalid_argument(std::string(key) + " is not a number: " + value);
      out[std::string(key) == "secCtxRunAsUser" ? "runAsUser" : "runAsGroup"] = id;
    }
    std::string escalation = config_value(config, "secCtxAllowPrivilegeEscalation");
    if (!escalation.empty()) {
      if (escalation != "true" && escalation != "false")
        throw std::invalid_argument("secCtxAllowPrivilegeEscalation is not a boolean: " + escalation);
      out["allowPrivilegeEscalation"] = escalation == "true";
    }
  } catch (const std::exception& e) {
    if (warnings)
      warnings->push_back(std::string("Using default securityContext values, couldn't parse securityContext "
                                      "requirements: ") + e.what() + ".");
    out = json::object();
  }
  return out;
}

}  // namespace

std::string restore_helper_image(const RestoreHelperConfig& config, const std::string& default_image) {
  std::string image = config_value(config, "image");
  if (image.empty() || image.find('/') == std::string::npos) return default_image;  // no registry part
  std::string last = image.substr(image.rfind('/') + 1);
  if (last.find(':') == std::string::npos) return image + ":v" + version();  // tag-less: this server's tag
  return image;
}

json restore_wait_container(const std::vector<std::string>& volumes, const std::string& restore_uid,
                            const RestoreHelperConfig& config, const std::string& default_image,
                            std::vector<std::string>* warnings) {
  const char* kDefaultCPU = "100m";
  const char* kDefaultMemory = "128Mi";
  std::string cpu_request = config_value(config, "cpuRequest"), mem_request = config_value(config, "memRequest"),
              cpu_limit = config_value(config, "cpuLimit"), mem_limit = config_value(config, "memLimit");
  for (auto* v : {&cpu_request, &cpu_limit})
    if (v->empty()) *v = kDefaultCPU;
  for (auto* v : {&mem_request, &mem_limit})
    if (v->empty()) *v = kDefaultMemory;
  // Velero's ParseResourceRequirements: every value a quantity, requests not above limits ("0" is unbounded).
  std::string bad;
  for (const auto* v : {&cpu_request, &mem_request, &cpu_limit, &mem_limit})
    if (!parse_quantity(*v)) bad = "quantities must match the regular expression: " + *v;
  if (bad.empty() && *parse_quantity(cpu_limit) != 0 && *parse_quantity(cpu_request) > *parse_quantity(cpu_limit))
    bad = "CPU request " + cpu_request + " must be less than or equal to CPU limit " + cpu_limit;
  if (bad.empty() && *parse_quantity(mem_limit) != 0 && *parse_quantity(mem_request) > *parse_quantity(mem_limit))
    bad = "Memory request " + mem_request + " must be less than or equal to Memory limit " + mem_limit;
  if (!bad.empty()) {
    if (warnings) warnings->push_back("Using default resource values, couldn't parse resource requirements: " + bad + ".");
    cpu_request = cpu_limit = kDefaultCPU;
    mem_request = mem_limit = kDefaultMemory;
  }
  json requests = json::object(), limits = json::object();
  // "0" means unbounded: the value is left out.
  if (*parse_quantity(cpu_request) != 0) requests["cpu"] = cpu_request;
  if (*parse_quantity(mem_request) != 0) requests["memory"] = mem_request;
  if (*parse_quantity(cpu_limit) != 0) limits["cpu"] = cpu_limit;
  if (*parse_quantity(mem_limit) != 0) limits["memory"] = mem_limit;

  json mounts = json::array();
  std::vector<std::string> sorted = volumes;
  std::sort(sorted.begin(), sorted.end());
  for (const auto& v : sorted) mounts.push_back({{"name", v}, {"mountPath", "/restores/" + v}});
  std::string command = config_value(config, "command");
  json env = json::array();
  for (const auto& [name, field] : {std::pair{"POD_NAMESPACE", "metadata.namespace"}, {"POD_NAME", "metadata.name"}})
    env.push_back({{"name", name}, {"valueFrom", {{"fieldRef", {{"fieldPath", field}}}}}});
  return {{"name", kRestoreWaitContainer},
          {"image", restore_helper_image(config, default_image)},
          {"command", json::array({command.empty() ? kDefaultRestoreHelperCommand : command})},
          {"args", json::array({restore_uid})},
          {"env", env},
          {"resources", {{"requests", requests}, {"limits", limits}}},
          {"volumeMounts", mounts},
          {"securityContext", security_context(config, warnings)}};
}

void add_restore_wait(json& pod, const json& container) {
  json& spec = pod["spec"];
  if (!spec.contains("initContainers") || !spec["initContainers"].is_array()) spec["initContainers"] = json::array();
  json& init = spec["initContainers"];
  std::string first = init.empty() ? "" : init[0].value("name", "");
  if (first == kRestoreWaitContainer || first == kRestoreWaitContainerLegacy)
    init[0] = container;
  else
    init.insert(init.begin(), container);
}

Restorer::Restorer(kube::Transport& transport, kube::Discovery& discovery, const api::Restore& restore,
                   std::vector<json> pod_volume_backups, std::string backup_location, RestorerOptions options)
    : transport_(transport),
      discovery_(discovery),
      restore_(restore),
      pvbs_(std::move(pod_volume_backups)),
      backup_location_(std::move(backup_location)),
      options_(std::move(options)),
      deadline_(std::chrono::steady_clock::now() + options_.timeout) {}

Restorer::~Restorer() {
  for (auto& t : workers_)
    if (t.joinable()) t.join();
}

bool Restorer::pv_has_pod_volume_backup(const json& pv) const {
  const std::string claim_ns = string_at(pv, "/spec/claimRef/namespace"), claim = string_at(pv, "/spec/claimRef/name");
  if (claim.empty()) return false;
  for (const auto& pvb : pvbs_)
    if (string_at(pvb, "/metadata/annotations/velero.io~1pvc-name") == claim &&
        string_at(pvb, "/spec/pod/namespace") == claim_ns)
      return true;
  return false;
}

bool Restorer::prepare_pod(json& pod, const std::string& original_ns) {
  auto snapshots = snapshots_for_pod(pvbs_, pod, original_ns);
  std::vector<std::string> volumes;
  for (const auto& s : snapshots)
    if (s.repository_type == "restic") volumes.push_back(s.volume);  // kopia volumes fail in restore_pod
  if (snapshots.empty()) return false;
  std::lock_guard lock(mutex_);
  outcome_.log.push_back("Pod volume backups for pod " + original_ns + "/" + string_at(pod, "/metadata/name") + " found");
  if (volumes.empty()) return true;
  if (!config_) {
    config_.emplace();
    try {
      std::vector<json> found;
      kube::ListOptions selector;
      selector.label_selector = kRestoreHelperConfigSelector;
      kube::DynamicClient(transport_).list(discovery_.lookup("", "v1", "configmaps"), restore_.metadata.namespace_,
                                           selector, [&](const kube::ListItem& item) { found.push_back(item.parse()); });
      if (found.size() > 1)
        outcome_.warnings.push_back("found more than one ConfigMap matching label selector \"" +
                                    std::string(kRestoreHelperConfigSelector) + "\": using " +
                                    string_at(found[0], "/metadata/name"));
      const json data = found.empty() ? json::object() : found[0].value("data", json::object());
      for (const auto& [k, v] : data.items())
          if (v.is_string()) config_->data[k] = v.get<std::string>();
    } catch (const kube::KubeError& e) {
      outcome_.warnings.push_back(std::string("cannot read the pod volume restore configuration: ") + e.what());
    }
  }
  json container = restore_wait_container(volumes, restore_.metadata.uid, *config_, options_.default_image,
                                           &outcome_.warnings);
  outcome_.log.push_back("Using image \"" + container.value("image", "") + "\" for the restore-wait container of pod " +
                         original_ns + "/" + string_at(pod, "/metadata/name") + " (configuration from " +
                         std::to_string(config_->data.size()) + " ConfigMap keys)");
  add_restore_wait(pod, container);
  return true;
}

void Restorer::pod_created(const std::string& created_pod_json, const std::string& original_ns) {
  // Most restores have nothing to do here: decided without parsing the pod.
  if (pvbs_.empty() && created_pod_json.find(kPodSnapshotAnnotationPrefix) == std::string::npos) return;
  json pod = json::parse(created_pod_json);
  auto snapshots = snapshots_for_pod(pvbs_, pod, original_ns);
  if (snapshots.empty()) return;
  std::lock_guard lock(mutex_);
  workers_.emplace_back([this, pod = std::move(pod), snapshots = std::move(snapshots), original_ns]() mutable {
    restore_pod(std::move(pod), std::move(snapshots), std::move(original_ns));
  });
}

void Restorer::record_error(const std::string& message) {
  std::lock_guard lock(mutex_);
  outcome_.errors.push_back(message);
  ++outcome_.failed;
}

void Restorer::restore_pod(json pod, std::vector<VolumeSnapshot> snapshots, std::string original_ns) {
  const std::string ns = string_at(pod, "/metadata/namespace"), name = string_at(pod, "/metadata/name");
  const std::string where_pod = ns + "/" + name;
  auto fail_volume = [&](const std::string& volume, const std::string& why) {
    record_error("pod volume restore failed for volume " + volume + " of pod " + where_pod + ": " + why);
  };
  std::vector<VolumeSnapshot> restic;
  for (auto& s : snapshots) {
    if (s.repository_type == "restic") {
      restic.push_back(std::move(s));
      continue;
    }
    fail_volume(s.volume, s.repository_type == "kopia"
                              ? "its data was backed up with the kopia uploader (snapshot " + s.snapshot_id +
                                    "); arca restores restic-format repositories only"
                              : "empty repository type found among volume snapshots, snapshot ID " + s.snapshot_id +
                                    ", uploader " + s.uploader_type);
  }
  if (restic.empty()) return;

  json repo;
  try {
    repo = ensure_repository(transport_, discovery_, restore_.metadata.namespace_,
                             {original_ns, backup_location_, "restic"}, options_.repository_timeout);
  } catch (const std::exception& e) {
    for (const auto& s : restic) fail_volume(s.volume, e.what());
    return;
  }
  const auto pvr_resource = discovery_.lookup("velero.io", "v1", "podvolumerestores");
  const std::string pod_uid = string_at(pod, "/metadata/uid");
  std::map<std::string, std::string> pvc_of_volume;
  for (const auto& v : pod.value("/spec/volumes"_json_pointer, json::array()))
    if (v.contains("/persistentVolumeClaim/claimName"_json_pointer))
      pvc_of_volume[v.value("name", "")] = string_at(v, "/persistentVolumeClaim/claimName");
  const auto pvcs = discovery_.lookup("", "v1", "persistentvolumeclaims");
  std::map<std::string, VolumeSnapshot> created;  // PVR name → snapshot
  std::map<std::string, std::string> pv_of_volume;
  for (const auto& s : restic) {
    // Velero's newPodVolumeRestore.
    json pvr = owned_object("PodVolumeRestore", "Restore", restore_.metadata.namespace_, restore_.metadata.name,
                            restore_.metadata.uid,
                            {{"velero.io/restore-name", valid_label_value(restore_.metadata.name)},
                             {"velero.io/restore-uid", restore_.metadata.uid},
                             {"velero.io/pod-uid", pod_uid}});
    pvr["spec"] = {{"pod", {{"kind", "Pod"}, {"namespace", ns}, {"name", name}, {"uid", pod_uid}}},
                   {"volume", s.volume},
                   {"snapshotID", s.snapshot_id},
                   {"backupStorageLocation", backup_location_},
                   {"repoIdentifier", string_at(repo, "/spec/resticIdentifier")},
                   {"uploaderType", s.uploader_type},
                   {"sourceNamespace", original_ns}};
    if (s.size > 0) pvr["spec"]["snapshotSize"] = s.size;
    if (restore_.spec.uploader_config) {
      json settings = json::object();
      if (restore_.spec.uploader_config->write_sparse_files)
        settings["WriteSparseFiles"] = *restore_.spec.uploader_config->write_sparse_files ? "true" : "false";
      if (restore_.spec.uploader_config->parallel_files_download > 0)
        settings["ParallelFilesDownload"] = std::to_string(restore_.spec.uploader_config->parallel_files_download);
      if (!settings.empty()) pvr["spec"]["uploaderSettings"] = settings;
    }
    auto claim = pvc_of_volume.find(s.volume);
    if (claim != pvc_of_volume.end()) {
      try {
        json pvc = kube::DynamicClient(transport_).get(pvcs, ns, claim->second);
        pvr["metadata"]["labels"]["velero.io/pvc-uid"] = string_at(pvc, "/metadata/uid");
        pv_of_volume[s.volume] = string_at(pvc, "/spec/volumeName");
      } catch (const kube::KubeError& e) {
        fail_volume(s.volume, std::string("error getting persistent volume claim for volume: ") + e.what());
        continue;
      }
    }
    try {
      json made = kube::DynamicClient(transport_).create(pvr_resource, restore_.metadata.namespace_, pvr);
      std::lock_guard lock(mutex_);
      outcome_.log.push_back("Created PodVolumeRestore " + string_at(made, "/metadata/name") + " for volume " + s.volume +
                             " of pod " + where_pod + " (snapshot " + s.snapshot_id + ")");
      created[string_at(made, "/metadata/name")] = s;
    } catch (const kube::KubeError& e) {
      fail_volume(s.volume, e.what());
    }
  }
  if (created.empty()) return;

  // Wait for each PodVolumeRestore to end; the node agent only starts once the pod is scheduled on its node.
  kube::ListOptions selector;
  selector.label_selector = "velero.io/restore-uid=" + restore_.metadata.uid + ",velero.io/pod-uid=" + pod_uid;
  std::map<std::string, json> latest;
  while (true) {
    latest.clear();
    try {
      kube::DynamicClient(transport_).list(pvr_resource, restore_.metadata.namespace_, selector,
                                           [&](const kube::ListItem& item) { latest[std::string(item.name)] = item.parse(); });
    } catch (const kube::KubeError&) {
      // transient: asked again next round
    }
    bool done = std::all_of(created.begin(), created.end(), [&](const auto& entry) {
      auto it = latest.find(entry.first);
      std::string phase = it == latest.end() ? "" : string_at(it->second, "/status/phase");
      return phase == "Completed" || phase == "Failed" || phase == "Canceled";
    });
    if (done || std::chrono::steady_clock::now() >= deadline_) break;
    std::this_thread::sleep_for(options_.poll_interval);
  }
  for (const auto& [pvr_name, s] : created) {
    auto it = latest.find(pvr_name);
    json pvr = it == latest.end() ? json() : it->second;
    std::string phase = string_at(pvr, "/status/phase");
    if (phase == "Completed") {
      std::lock_guard lock(mutex_);
      ++outcome_.completed;
      outcome_.log.push_back("PodVolumeRestore " + pvr_name + " of volume " + s.volume + " of pod " + where_pod +
                             " completed");
    } else if (phase == "Failed" || phase == "Canceled") {
      fail_volume(s.volume, "PodVolumeRestore " + pvr_name + " " + phase + ": " + string_at(pvr, "/status/message"));
    } else {
      fail_volume(s.volume, "timed out waiting for all PodVolumeRestores to complete (PodVolumeRestore " + pvr_name +
                                " is " + (phase.empty() ? "New" : phase) +
                                "; is the node agent of the pod's node running?)");
    }
    // Velero's RestoreVolumeInfo for a pod volume restore.
    json info = {{"restoreMethod", "PodVolumeRestore"},
                 {"snapshotDataMoved", false},
                 {"pvrInfo",
                  {{"snapshotHandle", s.snapshot_id},
                   {"uploaderType", s.uploader_type},
                   {"volumeName", s.volume},
                   {"podName", name},
                   {"podNamespace", ns}}}};
    if (s.size > 0) info["pvrInfo"]["size"] = s.size;
    if (pvc_of_volume.count(s.volume)) {
      info["pvcName"] = pvc_of_volume[s.volume];
      info["pvcNamespace"] = ns;
      if (!pv_of_volume[s.volume].empty()) info["pvName"] = pv_of_volume[s.volume];
    }
    std::lock_guard lock(mutex_);
    outcome_.volume_infos.push_back(std::move(info));
  }
}

RestorerOutcome Restorer::wait_all() {
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mutex_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
  std::lock_guard lock(mutex_);
  return outcome_;
}

}  // namespace arca::podvolume
