#include "podvolume/backupper.h"

#include <algorithm>
#include <thread>

#include "kube/dynamic.h"
#include "kube/errors.h"
#include "podvolume/repository.h"
#include "util/duration.h"
#include "util/names.h"

namespace arca::podvolume {
namespace {

using nlohmann::json;

bool is_terminal(const std::string& phase) {
  return phase == "Completed" || phase == "Failed" || phase == "Canceled";
}

std::string join(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? " " : "") + items[i];
  return out + "]";
}

}  // namespace

Backupper::Backupper(kube::Transport& transport, kube::Discovery& discovery, const api::Backup& backup,
                     backup::BackupLog& log, BackupperOptions options)
    : transport_(transport), discovery_(discovery), backup_(backup), log_(log), options_(std::move(options)) {
  default_fs_backup_ = backup.spec.default_volumes_to_fs_backup.value_or(false);
  auto timeout = options_.timeout;
  // Velero's pkg/backup/backup.go: the annotation velero.io/pod-volume-timeout overrides the server's timeout.
  auto it = backup.metadata.annotations.find(kPodVolumeTimeoutAnnotation);
  if (it != backup.metadata.annotations.end()) {
    try {
      timeout = std::chrono::duration_cast<std::chrono::milliseconds>(parse_duration(it->second));
    } catch (const std::exception& e) {
      log_.warning("Unable to parse pod volume timeout annotation " + it->second + ", using server value.", {},
                   e.what());
    }
  }
  deadline_ = std::chrono::steady_clock::now() + timeout;
}

json Backupper::get_or_null(const kube::ApiResource& resource, const std::string& ns, const std::string& name) {
  try {
    return kube::DynamicClient(transport_).get(resource, ns, name);
  } catch (const kube::KubeError& e) {
    if (kube::is_not_found(e)) return json();
    throw;
  }
}

Backupper::PVCFacts Backupper::pvc_facts(const std::string& ns, const json& pvc) {
  PVCFacts f;
  f.pvc = string_at(pvc, "/metadata/name");
  f.pv = string_at(pvc, "/spec/volumeName");
  if (!f.pv.empty()) {
    json pv = get_or_null(discovery_.lookup("", "v1", "persistentvolumes"), "", f.pv);
    f.reclaim_policy = string_at(pv, "/spec/persistentVolumeReclaimPolicy");
    const json labels = pv.value("/metadata/labels"_json_pointer, json::object());  // named: items() keeps a reference
    for (const auto& [k, v] : labels.items())
      if (v.is_string()) f.pv_labels[k] = v.get<std::string>();
  }
  (void)ns;
  return f;
}

bool Backupper::back_up_pod(std::string_view pod_json) {
  // Most pods of most backups ask for nothing: decided without parsing them.
  if (!default_fs_backup_ && options_.policies.empty() &&
      pod_json.find(kVolumesToBackupAnnotation) == std::string_view::npos)
    return false;
  const size_t created_before = created_.size();
  const json pod = json::parse(pod_json);
  const std::string ns = string_at(pod, "/metadata/namespace"), name = string_at(pod, "/metadata/name");
  backup::LogFields fields{"pods", ns, name, true};
  const auto pvcs = discovery_.lookup("", "v1", "persistentvolumeclaims");
  const auto pvs = discovery_.lookup("", "v1", "persistentvolumes");
  SelectionOptions selection;
  selection.default_volumes_to_fs_backup = default_fs_backup_;
  selection.backup_excludes_pvcs = options_.backup_excludes_pvcs;
  selection.policies = &options_.policies;
  selection.get_pvc = [&](const std::string& claim) { return get_or_null(pvcs, ns, claim); };
  selection.get_pv = [&](const std::string& pv) { return get_or_null(pvs, "", pv); };
  std::vector<std::string> volumes;
  try {
    for (const auto& d : decide_pod_volumes(pod, selection)) {
      log_.info(d.why, fields);
      if (!d.back_up) continue;
      // Velero's item_backupper.go: a PVC mounted by several pods (ReadWriteMany) is copied once.
      std::string claim;
      for (const auto& v : pod.value("/spec/volumes"_json_pointer, json::array()))
        if (v.value("name", "") == d.volume) claim = string_at(v, "/persistentVolumeClaim/claimName");
      if (!claim.empty() && pvcs_backed_up_.count(ns + "/" + claim)) {
        log_.info("Pod volume " + d.volume +
                      " uses a persistent volume claim which has already been backed up from another pod, skipping.",
                  fields);
        continue;
      }
      volumes.push_back(d.volume);
    }
    back_up_volumes(pod, volumes);
  } catch (const std::exception& e) {
    log_.error("Error backing up pod volumes", fields, e.what());
  }
  return created_.size() > created_before;
}

void Backupper::wait_pod(std::string_view pod_json) {
  const json pod = json::parse(pod_json);
  const std::string ns = string_at(pod, "/metadata/namespace"), name = string_at(pod, "/metadata/name");
  const auto pvb_resource = discovery_.lookup("velero.io", "v1", "podvolumebackups");
  kube::DynamicClient client(transport_);
  for (const auto& c : created_) {
    if (c.pod_namespace != ns || c.pod_name != name) continue;
    while (std::chrono::steady_clock::now() < deadline_) {
      try {
        if (is_terminal(string_at(client.get(pvb_resource, backup_.metadata.namespace_, c.name), "/status/phase"))) break;
      } catch (const kube::KubeError& e) {
        log_.warning("Error reading PodVolumeBackup " + c.name + ", retrying", {"pods", ns, name, true}, e.what());
      }
      std::this_thread::sleep_for(options_.poll_interval);
    }
  }
}

void Backupper::skip_pvc(const std::string& pod_namespace, const PVCFacts& pvc, const std::string& reason) {
  if (pvc.pvc.empty()) return;
  const std::string key = pod_namespace + "/" + pvc.pvc;
  if (!pvcs_backed_up_.count(key)) skipped_pvcs_[key] = {pvc, reason};
}

void Backupper::back_up_volumes(const json& pod, const std::vector<std::string>& volumes) {
  if (volumes.empty()) return;
  const std::string ns = string_at(pod, "/metadata/namespace"), name = string_at(pod, "/metadata/name");
  const std::string pod_key = ns + "/" + name;
  backup::LogFields fields{"pods", ns, name, true};
  log_.info("pod " + pod_key + " has volumes to backup: " + join(volumes), fields);

  const auto pvcs = discovery_.lookup("", "v1", "persistentvolumeclaims");
  std::map<std::string, json> pod_volumes;
  std::map<std::string, PVCFacts> pvc_of_volume;
  std::map<std::string, json> pvc_json_of_volume;
  for (const auto& v : pod.value("/spec/volumes"_json_pointer, json::array())) {
    const std::string volume = v.value("name", "");
    pod_volumes[volume] = v;
    std::string claim = string_at(v, "/persistentVolumeClaim/claimName");
    if (claim.empty()) continue;
    json pvc;
    try {
      pvc = kube::DynamicClient(transport_).get(pvcs, ns, claim);
    } catch (const kube::KubeError& e) {
      log_.error("error getting persistent volume claim for volume", fields, e.what());
      continue;
    }
    pvc_of_volume[volume] = pvc_facts(ns, pvc);
    pvc_of_volume[volume].pvc = claim;
    pvc_of_volume[volume].pv = string_at(pvc, "/spec/volumeName");
    pvc_json_of_volume[volume] = pvc;
  }
  auto skip_all = [&](const std::string& error) {
    for (const auto& volume : volumes) {
      log_.warning("Skip pod volume " + volume, fields, error);
      if (pvc_of_volume.count(volume))
        skip_pvc(ns, pvc_of_volume[volume],
                 "encountered a problem with backing up the PVC of pod " + pod_key + ": " + error);
    }
  };

  // Velero's kube.IsPodRunning: a pod that is not running has no volume directories to read.
  const std::string phase = string_at(pod, "/status/phase");
  if (string_at(pod, "/spec/nodeName").empty() || phase != "Running" || pod.contains("/metadata/deletionTimestamp"_json_pointer)) {
    skip_all("pod is not in the expected status, name=" + name + ", namespace=" + ns + ", phase=" + phase +
             ": pod is not running");
    return;
  }

  json repo;
  try {
    repo = ensure_repository(transport_, discovery_, backup_.metadata.namespace_,
                             {ns, backup_.spec.storage_location, "restic"}, options_.repository_timeout);
  } catch (const std::exception& e) {
    skip_all(e.what());
    log_.error("Error backing up pod volumes of pod " + pod_key, fields, e.what());
    return;
  }
  const std::string repo_identifier = string_at(repo, "/spec/resticIdentifier");

  std::set<std::string> mounted, devices;
  for (const auto& c : pod.value("/spec/containers"_json_pointer, json::array())) {
    for (const auto& m : c.value("volumeMounts", json::array())) mounted.insert(m.value("name", ""));
    for (const auto& d : c.value("volumeDevices", json::array())) devices.insert(d.value("name", ""));
  }
  const auto pv_resource = discovery_.lookup("", "v1", "persistentvolumes");
  const auto pvb_resource = discovery_.lookup("velero.io", "v1", "podvolumebackups");
  for (const auto& volume : volumes) {
    auto found = pod_volumes.find(volume);
    if (found == pod_volumes.end()) {
      log_.warning("No volume named " + volume + " found in pod " + pod_key + ", skipping", fields);
      continue;
    }
    const json& v = found->second;
    const bool is_pvc = v.contains("persistentVolumeClaim");
    if (is_pvc && !pvc_of_volume.count(volume)) continue;  // the PVC could not be read: already an error
    // hostPath volumes are not under the kubelet's pod directory, so the node agent cannot reach them.
    bool host_path = v.contains("hostPath");
    if (is_pvc && !pvc_of_volume[volume].pv.empty()) {
      json pv = get_or_null(pv_resource, "", pvc_of_volume[volume].pv);
      host_path = host_path || (pv.is_object() && pv.contains("/spec/hostPath"_json_pointer));
    }
    if (host_path) {
      log_.warning("Volume " + volume + " in pod " + pod_key +
                       " is a hostPath volume which is not supported for pod volume backup, skipping",
                   fields);
      continue;
    }
    if (devices.count(volume)) {
      std::string msg = "volume " + volume + " declared in pod " + pod_key +
                        " is a block volume. Block volumes are not supported for fs backup, skipping";
      log_.warning(msg, fields);
      if (is_pvc) skip_pvc(ns, pvc_of_volume[volume], msg);
      continue;
    }
    if (!mounted.count(volume)) {
      std::string msg = "volume " + volume + " is declared in pod " + pod_key + " but not mounted by any container, skipping";
      log_.warning(msg, fields);
      if (is_pvc) skip_pvc(ns, pvc_of_volume[volume], msg);
      continue;
    }

    // Velero's newPodVolumeBackup.
    const std::string pod_uid = string_at(pod, "/metadata/uid");
    json pvb = owned_object("PodVolumeBackup", "Backup", backup_.metadata.namespace_, backup_.metadata.name,
                            backup_.metadata.uid,
                            {{"velero.io/backup-name", valid_label_value(backup_.metadata.name)},
                             {"velero.io/backup-uid", backup_.metadata.uid}});
    pvb["spec"] = {{"node", string_at(pod, "/spec/nodeName")},
                   {"pod", {{"kind", "Pod"}, {"namespace", ns}, {"name", name}, {"uid", pod_uid}}},
                   {"volume", volume},
                   {"tags",
                    {{"backup", backup_.metadata.name},
                     {"backup-uid", backup_.metadata.uid},
                     {"pod", name},
                     {"pod-uid", pod_uid},
                     {"ns", ns},
                     {"volume", volume}}},
                   {"backupStorageLocation", backup_.spec.storage_location},
                   {"repoIdentifier", repo_identifier},
                   {"uploaderType", options_.uploader_type}};
    if (backup_.spec.uploader_config && backup_.spec.uploader_config->parallel_files_upload > 0)
      pvb["spec"]["uploaderSettings"] = {
          {"ParallelFilesUpload", std::to_string(backup_.spec.uploader_config->parallel_files_upload)}};
    PVCFacts facts;
    if (is_pvc) {
      facts = pvc_of_volume[volume];
      const std::string pvc_uid = string_at(pvc_json_of_volume[volume], "/metadata/uid");
      pvb["metadata"]["annotations"] = {{kPVCNameAnnotation, facts.pvc}};
      pvb["metadata"]["labels"]["velero.io/pvc-uid"] = pvc_uid;
      pvb["spec"]["tags"]["pvc-uid"] = pvc_uid;
    }
    json created;
    try {
      created = kube::DynamicClient(transport_).create(pvb_resource, backup_.metadata.namespace_, pvb);
    } catch (const kube::KubeError& e) {
      log_.error("Error creating PodVolumeBackup for volume " + volume + " of pod " + pod_key, fields, e.what());
      continue;
    }
    Created c{string_at(created, "/metadata/name"), ns, name, volume, string_at(pod, "/spec/nodeName"), facts};
    log_.info("Created PodVolumeBackup " + c.name + " for volume " + volume + " of pod " + pod_key + " on node " +
                  c.node,
              fields);
    created_.push_back(std::move(c));
    if (is_pvc) {
      pvcs_backed_up_.insert(ns + "/" + facts.pvc);
      skipped_pvcs_.erase(ns + "/" + facts.pvc);
    }
  }
}

BackupperResult Backupper::wait_all() {
  result_ = {};
  if (created_.empty()) return result_;
  log_.info("Waiting for " + std::to_string(created_.size()) + " pod volume backups to complete");
  const auto pvb_resource = discovery_.lookup("velero.io", "v1", "podvolumebackups");
  kube::ListOptions options;
  options.label_selector = "velero.io/backup-uid=" + backup_.metadata.uid;
  std::map<std::string, json> latest;
  bool timed_out = false;
  while (true) {
    latest.clear();
    try {
      kube::DynamicClient(transport_).list(pvb_resource, backup_.metadata.namespace_, options,
                                           [&](const kube::ListItem& item) { latest[std::string(item.name)] = item.parse(); });
    } catch (const kube::KubeError& e) {
      log_.warning("Error listing pod volume backups, retrying", {}, e.what());
    }
    bool all_done = std::all_of(created_.begin(), created_.end(), [&](const Created& c) {
      auto it = latest.find(c.name);
      return it != latest.end() && is_terminal(string_at(it->second, "/status/phase"));
    });
    if (all_done) break;
    if (std::chrono::steady_clock::now() >= deadline_) {
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(options_.poll_interval);
  }
  if (timed_out) log_.error("timed out waiting for all PodVolumeBackups to complete");
  for (const auto& c : created_) {
    backup::LogFields fields{"pods", c.pod_namespace, c.pod_name, true};
    const std::string where = "volume " + c.volume + " of pod " + c.pod_namespace + "/" + c.pod_name;
    auto it = latest.find(c.name);
    json pvb = it == latest.end() ? json() : it->second;
    const std::string phase = string_at(pvb, "/status/phase");
    if (phase == "Completed") {
      ++result_.completed;
      log_.info("pod volume backup " + c.name + " of " + where + " completed: snapshot " +
                    string_at(pvb, "/status/snapshotID"),
                fields);
    } else if (phase == "Failed" || phase == "Canceled") {
      ++result_.failed;
      log_.error("pod volume backup failed: " + where + ": " + string_at(pvb, "/status/message"), fields);
    } else {
      ++result_.unfinished;
      log_.error("pod volume backup " + c.name + " of " + where + " did not finish within the fs-backup timeout" +
                     " (phase " + (phase.empty() ? "New" : phase) + ", node " + c.node +
                     "): is the node agent of that node running?",
                 fields);
      // Velero's WaitAllPodVolumesProcessed cancels what is still running, so no node agent keeps copying data
      // into a backup that is over.
      if (pvb.is_object()) {
        try {
          kube::DynamicClient(transport_).patch(pvb_resource, backup_.metadata.namespace_, c.name,
                                                kube::PatchType::Merge, R"({"spec":{"cancel":true}})");
        } catch (const kube::KubeError& e) {
          log_.warning("Error canceling PodVolumeBackup " + c.name, fields, e.what());
        }
      }
    }
    if (pvb.is_object()) result_.pod_volume_backups.push_back(std::move(pvb));
  }
  return result_;
}

void Backupper::add_volume_infos(backup::VolumeInfoCollector& collector) const {
  // Velero's internal/volume/volumes_information.go generateVolumeInfoFromPVB.
  for (const auto& pvb : result_.pod_volume_backups) {
    backup::BackupVolumeInfo info;
    info.backup_method = backup::kMethodPodVolumeBackup;
    info.start_timestamp = string_at(pvb, "/status/startTimestamp");
    info.completion_timestamp = string_at(pvb, "/status/completionTimestamp");
    const std::string phase = string_at(pvb, "/status/phase");
    info.result = phase == "Completed" ? backup::kVolumeSucceeded : phase == "Failed" || phase == "Canceled"
                                                                         ? backup::kVolumeFailed
                                                                         : "";
    backup::PodVolumeInfo p;
    p.snapshot_handle = string_at(pvb, "/status/snapshotID");
    p.size = pvb.value("/status/progress/totalBytes"_json_pointer, int64_t{0});
    p.uploader_type = string_at(pvb, "/spec/uploaderType");
    p.volume_name = string_at(pvb, "/spec/volume");
    p.pod_name = string_at(pvb, "/spec/pod/name");
    p.pod_namespace = string_at(pvb, "/spec/pod/namespace");
    p.node_name = string_at(pvb, "/spec/node");
    p.phase = phase;
    info.pvb_info = p;
    for (const auto& c : created_)
      if (c.name == string_at(pvb, "/metadata/name") && !c.pvc.pvc.empty()) {
        info.pvc_name = c.pvc.pvc;
        info.pvc_namespace = c.pod_namespace;
        info.pv_name = c.pvc.pv;
        info.pv_info = backup::PVInfo{c.pvc.reclaim_policy, c.pvc.pv_labels};
      }
    collector.add(std::move(info));
  }
  for (const auto& [key, entry] : skipped_pvcs_) {
    const auto& [facts, reason] = entry;
    backup::BackupVolumeInfo info;
    info.pvc_name = facts.pvc;
    info.pvc_namespace = key.substr(0, key.find('/'));
    info.pv_name = facts.pv;
    info.skipped = true;
    info.skipped_reason = "skipped due to podvolume: " + reason;
    if (!facts.pv.empty()) info.pv_info = backup::PVInfo{facts.reclaim_policy, facts.pv_labels};
    collector.add(std::move(info));
  }
}

}  // namespace arca::podvolume
