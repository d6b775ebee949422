#include "podvolume/selection.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace arca::podvolume {
namespace {

std::map<std::string, std::string> string_map(const json& object) {
  std::map<std::string, std::string> out;
  if (!object.is_object()) return out;
  for (const auto& [k, v] : object.items())
    if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

bool has(const json& object, const char* key) {
  return object.is_object() && object.contains(key) && !object[key].is_null();
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    auto comma = text.find(',', start);
    out.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string annotation(const json& pod, const char* key) {
  const json* annotations = nullptr;
  if (pod.is_object() && pod.contains("metadata") && pod["metadata"].contains("annotations"))
    annotations = &pod["metadata"]["annotations"];
  if (!annotations || !annotations->is_object() || !annotations->contains(key) || !(*annotations)[key].is_string())
    return "";
  return (*annotations)[key].get<std::string>();
}

// Velero's getVolumeTypeFromPV / getVolumeTypeFromVolume, in their order of checks.
const char* const kPVSources[] = {"awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "fc",
                                  "flocker", "flexVolume", "gcePersistentDisk", "glusterfs", "hostPath", "iscsi",
                                  "local", "nfs", "photonPersistentDisk", "portworxVolume", "quobyte", "rbd",
                                  "scaleIO", "storageos", "vsphereVolume"};
const char* const kPodVolumeSources[] = {"awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi",
                                         "fc", "flocker", "flexVolume", "gcePersistentDisk", "gitRepo", "glusterfs",
                                         "iscsi", "nfs", "secret", "rbd", "downwardAPI", "configMap", "projected",
                                         "ephemeral", "photonPersistentDisk", "portworxVolume", "quobyte", "scaleIO",
                                         "storageos", "vsphereVolume", "hostPath", "emptyDir"};

// The JSON field is storageos; Velero's SupportedVolume name is storageOS.
std::string supported_volume_name(const std::string& field) { return field == "storageos" ? "storageOS" : field; }

// Velero's Capacity.isInRange: an empty side is 0 and means unbounded on that side.
bool capacity_matches(const json& condition, const std::optional<long double>& capacity) {
  std::string text = condition.is_string() ? condition.get<std::string>() : condition.dump();
  if (text.empty()) text = ",";
  auto comma = text.find(',');
  if (comma == std::string::npos) return false;
  auto side = [](std::string s) -> long double {
    s.erase(0, s.find_first_not_of(" \t"));
    s.erase(s.find_last_not_of(" \t") + 1);
    if (s.empty()) return 0;
    return parse_quantity(s).value_or(0);
  };
  long double lower = side(text.substr(0, comma)), upper = side(text.substr(comma + 1));
  long double y = capacity.value_or(0);
  if (lower == 0 && upper >= y) return true;
  if (upper == 0 && lower <= y) return true;
  if (lower != 0 && upper != 0) return lower <= y && upper >= y;
  return false;
}

bool string_list_contains(const json& list, const std::string& value) {
  if (!list.is_array()) return false;
  for (const auto& v : list)
    if (v.is_string() && v.get<std::string>() == value) return true;
  return false;
}

// Every condition of the rule, as Velero's volumeConditions: an absent condition matches.
bool rule_matches(const json& c, const VolumeFacts& v) {
  if (!c.is_object()) return true;
  if (has(c, "capacity") && !capacity_matches(c["capacity"], v.capacity)) return false;
  if (has(c, "storageClass") && c["storageClass"].is_array() && !c["storageClass"].empty()) {
    if (v.storage_class.empty() || !string_list_contains(c["storageClass"], v.storage_class)) return false;
  }
  if (has(c, "nfs")) {
    if (!v.nfs) return false;
    std::string server = string_at(c["nfs"], "/server");
    std::string path = string_at(c["nfs"], "/path");
    if (!path.empty() && path != v.nfs->second) return false;
    if (!server.empty() && server != v.nfs->first) return false;
  }
  if (has(c, "csi")) {
    if (!v.csi_driver) return false;
    std::string driver = string_at(c["csi"], "/driver");
    if (!driver.empty() && driver != *v.csi_driver) return false;
    // Velero 1.15+: volumeAttributes must all be present with the same values.
    for (const auto& [k, want] : string_map(c["csi"].value("volumeAttributes", json::object()))) {
      auto it = v.csi_volume_attributes.find(k);
      if (it == v.csi_volume_attributes.end() || it->second != want) return false;
    }
  }
  if (has(c, "volumeTypes") && c["volumeTypes"].is_array() && !c["volumeTypes"].empty() &&
      !string_list_contains(c["volumeTypes"], v.volume_type))
    return false;
  if (has(c, "pvcLabels") && c["pvcLabels"].is_object() && !c["pvcLabels"].empty()) {
    for (const auto& [k, want] : string_map(c["pvcLabels"])) {
      auto it = v.pvc_labels.find(k);
      if (it == v.pvc_labels.end() || it->second != want) return false;
    }
  }
  if (has(c, "pvcPhase") && c["pvcPhase"].is_array() && !c["pvcPhase"].empty() &&
      !string_list_contains(c["pvcPhase"], v.pvc_phase))
    return false;
  return true;
}

}  // namespace

std::string string_at(const json& object, const char* pointer) {
  json::json_pointer p(pointer);
  if (!object.is_object() || !object.contains(p) || !object.at(p).is_string()) return "";
  return object.at(p).get<std::string>();
}

json owned_object(const char* kind, const char* owner_kind, const std::string& owner_namespace,
                  const std::string& owner_name, const std::string& owner_uid, json labels) {
  return {{"apiVersion", "velero.io/v1"},
          {"kind", kind},
          {"metadata",
           {{"namespace", owner_namespace},
            {"generateName", owner_name + "-"},
            {"ownerReferences", json::array({{{"apiVersion", "velero.io/v1"},
                                              {"kind", owner_kind},
                                              {"name", owner_name},
                                              {"uid", owner_uid},
                                              {"controller", true}}})},
            {"labels", std::move(labels)}}}};
}

std::optional<long double> parse_quantity(std::string_view text) {
  if (text.empty()) return std::nullopt;
  size_t i = 0;
  bool negative = false;
  if (text[0] == '+' || text[0] == '-') {
    negative = text[0] == '-';
    ++i;
  }
  size_t digits_start = i;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == digits_start) return std::nullopt;
  long double number;
  try {
    number = std::stold(std::string(text.substr(digits_start, i - digits_start)));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::string_view suffix = text.substr(i);
  static const std::pair<std::string_view, long double> suffixes[] = {
      {"", 1},         {"Ki", 1024.0L},      {"Mi", 1048576.0L}, {"Gi", 1073741824.0L}, {"Ti", 1099511627776.0L},
      {"Pi", 1125899906842624.0L}, {"Ei", 1152921504606846976.0L}, {"n", 1e-9L}, {"u", 1e-6L}, {"m", 1e-3L},
      {"k", 1e3L},     {"M", 1e6L},          {"G", 1e9L},        {"T", 1e12L},          {"P", 1e15L},
      {"E", 1e18L}};
  long double factor = -1;
  for (const auto& [s, f] : suffixes)
    if (suffix == s) factor = f;
  if (factor < 0) {
    if (suffix.size() >= 2 && (suffix[0] == 'e' || suffix[0] == 'E')) {  // decimal exponent, e.g. 1e3
      try {
        size_t used = 0;
        int exponent = std::stoi(std::string(suffix.substr(1)), &used);
        if (used != suffix.size() - 1) return std::nullopt;
        factor = std::pow(10.0L, exponent);
      } catch (const std::exception&) {
        return std::nullopt;
      }
    } else {
      return std::nullopt;
    }
  }
  return (negative ? -number : number) * factor;
}

// The nfs and csi sources, alike in a PV's spec and a pod volume.
static void read_nfs_and_csi(const json& source, VolumeFacts& f) {
  if (has(source, "nfs")) f.nfs = std::make_pair(source["nfs"].value("server", ""), source["nfs"].value("path", ""));
  if (has(source, "csi")) {
    f.csi_driver = source["csi"].value("driver", "");
    f.csi_volume_attributes = string_map(source["csi"].value("volumeAttributes", json::object()));
  }
}

VolumeFacts facts_from_pv(const json& pv, const json& pvc) {
  VolumeFacts f;
  if (pv.is_object() && pv.contains("spec")) {
    const json& spec = pv["spec"];
    std::string capacity = string_at(spec, "/capacity/storage");
    f.capacity = parse_quantity(capacity).value_or(0);
    f.storage_class = spec.value("storageClassName", "");
    read_nfs_and_csi(spec, f);
    for (const char* source : kPVSources)
      if (has(spec, source)) {
        f.volume_type = supported_volume_name(source);
        break;
      }
  }
  if (pvc.is_object()) {
    f.pvc_labels = string_map(pvc.value("/metadata/labels"_json_pointer, json::object()));
    f.pvc_phase = string_at(pvc, "/status/phase");
  }
  return f;
}

VolumeFacts facts_from_pod_volume(const json& volume) {
  VolumeFacts f;
  read_nfs_and_csi(volume, f);
  for (const char* source : kPodVolumeSources)
    if (has(volume, source)) {
      f.volume_type = supported_volume_name(source);
      break;
    }
  return f;
}

std::optional<std::string> match_volume_policy(const std::vector<VolumePolicyRule>& rules, const VolumeFacts& volume) {
  for (const auto& rule : rules)
    if (rule_matches(rule.conditions, volume)) return rule.action;
  return std::nullopt;
}

std::vector<std::string> volumes_to_backup_annotation(const json& pod) {
  std::string value = annotation(pod, kVolumesToBackupAnnotation);
  if (value.empty()) return {};
  return split_commas(value);
}

std::vector<std::string> volumes_to_exclude_annotation(const json& pod) {
  return split_commas(annotation(pod, kVolumesToExcludeAnnotation));
}

std::string never_backed_up_reason(const json& volume, bool backup_excludes_pvcs) {
  // hostPath volumes are not under the kubelet's pod directory, so the node agent cannot reach them; secrets and
  // configMaps are backed up as objects; projected and downwardAPI data comes from the cluster's state.
  for (const char* source : {"hostPath", "secret", "configMap", "projected", "downwardAPI"})
    if (has(volume, source)) return std::string("it is a ") + source + " volume";
  if (has(volume, "persistentVolumeClaim") && backup_excludes_pvcs) return "PVCs are excluded from the backup";
  if (volume.value("name", "").rfind("default-token", 0) == 0) return "it mounts the default service account token";
  return "";
}

std::vector<VolumeDecision> decide_pod_volumes(const json& pod, const SelectionOptions& options) {
  std::vector<VolumeDecision> out;
  const std::string pod_key = pod.value("/metadata/namespace"_json_pointer, std::string()) + "/" +
                              pod.value("/metadata/name"_json_pointer, std::string());
  const auto opt_in = volumes_to_backup_annotation(pod);
  const auto opt_out = volumes_to_exclude_annotation(pod);
  for (const auto& volume : pod.value("/spec/volumes"_json_pointer, json::array())) {
    VolumeDecision d;
    d.volume = volume.value("name", "");
    if (!never_backed_up_reason(volume, options.backup_excludes_pvcs).empty()) {
      d.why = "skip fs-backup action for pod " + pod_key + "'s volume " + d.volume + ", due to not pass volume check.";
      out.push_back(std::move(d));
      continue;
    }
    if (options.policies && !options.policies->empty()) {
      VolumeFacts facts;
      if (has(volume, "persistentVolumeClaim")) {
        json pvc = options.get_pvc ? options.get_pvc(volume["persistentVolumeClaim"].value("claimName", "")) : json();
        std::string pv_name = pvc.is_object() ? pvc.value("/spec/volumeName"_json_pointer, std::string()) : "";
        json pv = options.get_pv && !pv_name.empty() ? options.get_pv(pv_name) : json();
        facts = facts_from_pv(pv, pvc);
      } else {
        facts = facts_from_pod_volume(volume);
      }
      if (auto action = match_volume_policy(*options.policies, facts)) {
        d.back_up = *action == "fs-backup";
        d.why = d.back_up ? "Perform fs-backup action for volume " + d.volume + " of pod " + pod_key +
                                " due to volume policy match"
                          : "Skip fs-backup action for volume " + d.volume + " for pod " + pod_key +
                                " because the action type is " + *action;
        out.push_back(std::move(d));
        continue;
      }
    }
    if (!options.default_volumes_to_fs_backup)
      d.back_up = std::find(opt_in.begin(), opt_in.end(), d.volume) != opt_in.end();
    else
      d.back_up = std::find(opt_out.begin(), opt_out.end(), d.volume) == opt_out.end();
    d.why = std::string(d.back_up ? "Perform" : "Skip") + " fs-backup action for volume " + d.volume + " of pod " +
            pod_key + " due to opt-in/out way";
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<VolumeSnapshot> snapshots_for_pod(const std::vector<json>& pod_volume_backups, const json& pod,
                                              const std::string& source_namespace) {
  const std::string pod_name = pod.value("/metadata/name"_json_pointer, std::string());
  const json volumes = pod.value("/spec/volumes"_json_pointer, json::array());
  auto non_restorable = [&](const std::string& name) {
    for (const auto& v : volumes)
      if (v.value("name", "") == name) return has(v, "projected") || has(v, "downwardAPI");
    return false;
  };
  auto repository_type = [](const std::string& uploader) -> std::string {
    if (uploader.empty() || uploader == "restic") return "restic";
    if (uploader == "kopia") return "kopia";
    return "";
  };
  std::map<std::string, VolumeSnapshot> by_volume;  // a volume appears once (Velero keys a map by volume)
  for (const auto& pvb : pod_volume_backups) {
    if (string_at(pvb, "/spec/pod/name") != pod_name ||
        string_at(pvb, "/spec/pod/namespace") != source_namespace)
      continue;
    std::string snapshot = string_at(pvb, "/status/snapshotID");
    std::string volume = string_at(pvb, "/spec/volume");
    if (snapshot.empty() || non_restorable(volume)) continue;
    std::string uploader = string_at(pvb, "/spec/uploaderType");
    VolumeSnapshot s{volume, snapshot, uploader.empty() ? "restic" : uploader, repository_type(uploader), 0};
    if (pvb.contains("/status/progress/totalBytes"_json_pointer) && pvb["status"]["progress"]["totalBytes"].is_number())
      s.size = pvb["status"]["progress"]["totalBytes"].get<int64_t>();
    by_volume[volume] = std::move(s);
  }
  if (by_volume.empty()) {
    const json annotations = pod.value("/metadata/annotations"_json_pointer, json::object());
    for (const auto& [key, value] : annotations.items())
      if (key.rfind(kPodSnapshotAnnotationPrefix, 0) == 0 && value.is_string()) {
        std::string volume = key.substr(std::string_view(kPodSnapshotAnnotationPrefix).size());
        by_volume[volume] = {volume, value.get<std::string>(), "restic", "restic", 0};
      }
  }
  std::vector<VolumeSnapshot> out;
  for (auto& [_, s] : by_volume) out.push_back(std::move(s));
  return out;
}

}  // namespace arca::podvolume
