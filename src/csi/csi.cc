#include "csi/csi.h"

#include <strings.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "crypt/primitives.h"

namespace arca::csi {

std::string string_at(const json& j, const json::json_pointer& p) {
  if (!j.is_object() || !j.contains(p)) return "";
  const json& v = j.at(p);
  return v.is_string() ? v.get<std::string>() : "";
}

api::OwnerReference controller_owner(const std::string& kind, const std::string& name, const std::string& uid) {
  api::OwnerReference owner;
  owner.api_version = "velero.io/v1";
  owner.kind = kind;
  owner.name = name;
  owner.uid = uid;
  owner.controller = true;
  return owner;
}

namespace {


std::string annotation(const json& object, const std::string& key) {
  if (!object.is_object() || !object.contains("metadata")) return "";
  const json& md = object["metadata"];
  auto a = md.find("annotations");
  if (a == md.end() || !a->is_object()) return "";
  auto v = a->find(key);
  return v != a->end() && v->is_string() ? v->get<std::string>() : "";
}

bool has_key(const json& object, const char* field, const std::string& key) {
  if (!object.is_object() || !object.contains("metadata")) return false;
  const json& md = object["metadata"];
  auto m = md.find(field);
  return m != md.end() && m->is_object() && m->contains(key);
}

bool iequals(const std::string& a, const std::string& b) { return ::strcasecmp(a.c_str(), b.c_str()) == 0; }

std::string name_of(const json& o) { return string_at(o, "/metadata/name"_json_pointer); }
std::string driver_of(const json& c) { return c.value("driver", ""); }

// A class named by an annotation must exist and be of the driver (Velero's GetVolumeSnapshotClassFrom*Annotations).
std::optional<json> by_annotation(const std::vector<json>& classes, const std::string& wanted, const std::string& driver,
                                  const std::string& not_found, const std::string& wrong_driver, std::string& error) {
  for (const auto& c : classes)
    if (iequals(name_of(c), wanted)) {
      if (!iequals(driver_of(c), driver)) {
        error = wrong_driver;
        return std::nullopt;
      }
      return c;
    }
  error = not_found;
  return std::nullopt;
}

}  // namespace

std::optional<json> choose_snapshot_class(const std::vector<json>& classes, const std::string& driver, const json& pvc,
                                          const json& storage_class, const json& backup, std::string& error) {
  error.clear();
  std::string ignored;
  // Each annotation source is tried in turn; a bad one is only logged by Velero (Debugf) and the next is tried.
  if (has_key(pvc, "annotations", kClassPVCAnnotation)) {
    std::string wanted = annotation(pvc, kClassPVCAnnotation);
    if (auto c = by_annotation(classes, wanted, driver,
                               "No CSI VolumeSnapshotClass found with name " + wanted + " for provisioner " + driver +
                                   " for PVC " + name_of(pvc),
                               "Incorrect VolumeSnapshotClass " + wanted + " is not for driver " + driver, ignored))
      return c;
  }
  if (has_key(storage_class, "annotations", kClassStorageClassAnnotation)) {
    std::string wanted = annotation(storage_class, kClassStorageClassAnnotation);
    if (auto c = by_annotation(classes, wanted, driver, "", "", ignored)) return c;
  }
  std::string backup_key = std::string(kClassBackupAnnotationPrefix) + "_";
  for (char ch : driver) backup_key += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (has_key(backup, "annotations", backup_key)) {
    std::string wanted = annotation(backup, backup_key);
    if (auto c = by_annotation(classes, wanted, driver, "", "", ignored)) return c;
  }
  // GetVolumeSnapshotClassForStorageClass: the labelled class, then the Kubernetes default, then the only one.
  int of_driver = 0;
  const json* only = nullptr;
  for (const auto& c : classes)
    if (driver_of(c) == driver) {
      ++of_driver;
      only = &c;
      if (has_key(c, "labels", kClassSelectorLabel)) return c;
    }
  for (const auto& c : classes)
    if (driver_of(c) == driver && has_key(c, "annotations", kKubernetesDefaultClass)) return c;
  if (of_driver == 1) return *only;
  error = "error getting VolumeSnapshotClass: failed to get VolumeSnapshotClass for provisioner " + driver +
          ", ensure that the desired VolumeSnapshot class has the " + kClassSelectorLabel + " label or " +
          kKubernetesDefaultClass + " annotation";
  return std::nullopt;
}

std::optional<int64_t> parse_quantity(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || value < 0) return std::nullopt;
  std::string suffix(end);
  static const std::pair<const char*, double> suffixes[] = {
      {"", 1},        {"Ki", 1024.0},  {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
      {"Pi", 1125899906842624.0}, {"Ei", 1152921504606846976.0}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9},
      {"T", 1e12},    {"P", 1e15},     {"E", 1e18},       {"m", 1e-3}};
  for (const auto& [s, factor] : suffixes)
    if (suffix == s) return static_cast<int64_t>(std::ceil(value * factor));
  return std::nullopt;  // "1e3" is read by strtod already; anything else is not a quantity
}

std::string format_binary_quantity(int64_t bytes) {
  static const char* suffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  int i = 0;
  while (bytes != 0 && bytes % 1024 == 0 && i < 6) {
    bytes /= 1024;
    ++i;
  }
  return std::to_string(bytes) + suffixes[i];
}

bool volume_conditions_match(const json& conditions, const json& pvc, const json& pv) {
  if (!conditions.is_object()) return true;
  for (const auto& [key, want] : conditions.items()) {
    if (key == "capacity") {
      std::string range = want.is_string() ? want.get<std::string>() : "";
      auto comma = range.find(',');
      std::string low = range.substr(0, comma), high = comma == std::string::npos ? "" : range.substr(comma + 1);
      auto size = parse_quantity(string_at(pv, "/spec/capacity/storage"_json_pointer));
      if (!size) size = parse_quantity(string_at(pvc, "/spec/resources/requests/storage"_json_pointer));
      if (!size) return false;
      auto lo = parse_quantity(low), hi = parse_quantity(high);
      if ((lo && *size < *lo) || (hi && *size > *hi)) return false;
    } else if (key == "storageClass") {
      std::string sc = string_at(pvc, "/spec/storageClassName"_json_pointer);
      if (sc.empty()) sc = string_at(pv, "/spec/storageClassName"_json_pointer);
      if (!want.is_array() || std::none_of(want.begin(), want.end(), [&](const json& s) { return s == sc; }))
        return false;
    } else if (key == "csi") {
      if (!pv.is_object() || !pv.contains("/spec/csi"_json_pointer)) return false;
      const json& csi = pv["spec"]["csi"];
      if (want.contains("driver") && want["driver"] != csi.value("driver", "")) return false;
      if (want.contains("volumeAttributes"))
        for (const auto& [k, v] : want["volumeAttributes"].items())
          if (!csi.contains("volumeAttributes") || csi["volumeAttributes"].value(k, json()) != v) return false;
    } else if (key == "nfs") {
      if (!pv.is_object() || !pv.contains("/spec/nfs"_json_pointer)) return false;
    } else if (key == "pvcLabels") {
      for (const auto& [k, v] : want.items())
        if (!pvc.contains("/metadata/labels"_json_pointer) || pvc["metadata"]["labels"].value(k, json()) != v)
          return false;
    } else if (key == "pvcPhase") {
      std::string phase = string_at(pvc, "/status/phase"_json_pointer);
      if (!want.is_array() || std::none_of(want.begin(), want.end(), [&](const json& s) { return s == phase; }))
        return false;
    } else if (key == "volumeTypes") {
      bool csi = pv.is_object() && pv.contains("/spec/csi"_json_pointer);
      if (!want.is_array() || std::none_of(want.begin(), want.end(), [&](const json& s) {
            return s == "persistentVolumeClaim" || (csi && s == "csi");
          }))
        return false;
    }
  }
  return true;
}

std::string restored_snapshot_name(const std::string& restore_uid, const std::string& vs_name) {
  return crypt::hex(crypt::sha256(restore_uid + "/" + vs_name));
}

namespace {
json to_json(const ResourceIdentifier& r) {
  return {{"Group", r.group}, {"Resource", r.resource}, {"Namespace", r.namespace_name}, {"Name", r.name}};
}
}  // namespace

json to_json(const BackupOperation& op) {
  json post = op.post_operation_items.empty() ? json() : json::array();
  for (const auto& r : op.post_operation_items) post.push_back(to_json(r));
  json status = json::object();
  if (!op.phase.empty()) status["phase"] = op.phase;
  if (!op.error.empty()) status["error"] = op.error;
  if (!op.created.empty()) status["created"] = op.created;
  if (!op.started.empty()) status["started"] = op.started;
  if (!op.updated.empty()) status["updated"] = op.updated;
  return {{"spec",
           {{"backupName", op.backup_name},
            {"backupUID", op.backup_uid},
            {"backupItemAction", op.action},
            {"ResourceIdentifier", to_json(op.item)},
            {"OperationID", op.operation_id},
            {"PostOperationItems", post}}},
          {"status", status}};
}

// ---- restore actions

bool has_restore_action(const std::string& group_resource) {
  return group_resource == "volumesnapshots.snapshot.storage.k8s.io" ||
         group_resource == "volumesnapshotcontents.snapshot.storage.k8s.io" ||
         group_resource == "persistentvolumeclaims" || group_resource == "datauploads.velero.io";
}

namespace {

// pkg/restore/actions/csi/volumesnapshot_action.go: bound statically to a content of the same generated name.
std::string restore_volume_snapshot(json& vs, const json& from_backup, const RestoreContext& context, bool& skip) {
  if (!context.restore_pvs) {
    skip = true;
    return "";
  }
  std::string bound = string_at(from_backup, "/status/boundVolumeSnapshotContentName"_json_pointer);
  if (bound.empty()) return "VS " + name_of(from_backup) + " doesn't have bound VSC";
  std::string generated = restored_snapshot_name(context.restore_uid, name_of(from_backup));
  vs["spec"]["source"] = {{"volumeSnapshotContentName", generated}};
  vs["metadata"]["name"] = generated;
  vs["metadata"]["annotations"][kVSCDeletionPolicy] = "Retain";
  return "";
}

// pkg/restore/actions/csi/volumesnapshotcontent_action.go: a pre-provisioned content on the backed-up snapshot
// handle, Retain, bound to the restored VolumeSnapshot.
std::string restore_volume_snapshot_content(json& vsc, const json& from_backup, const RestoreContext& context,
                                            bool& skip) {
  if (!context.restore_pvs) {
    skip = true;
    return "";
  }
  std::string handle = string_at(from_backup, "/status/snapshotHandle"_json_pointer);
  if (handle.empty()) return "fail to get snapshot handle from VSC " + name_of(from_backup) + " status";
  json& ref = vsc["spec"]["volumeSnapshotRef"];
  std::string ref_ns = ref.value("namespace", "");
  if (auto mapped = context.namespace_mapping.find(ref_ns); mapped != context.namespace_mapping.end())
    ref["namespace"] = mapped->second;
  std::string generated =
      restored_snapshot_name(context.restore_uid, string_at(from_backup, "/spec/volumeSnapshotRef/name"_json_pointer));
  vsc["metadata"]["name"] = generated;
  ref["name"] = generated;
  ref.erase("resourceVersion");
  ref.erase("uid");
  vsc["spec"]["deletionPolicy"] = "Retain";
  vsc["spec"]["source"] = {{"snapshotHandle", handle}};
  vsc["spec"].erase("volumeSnapshotClassName");
  std::string cls = context.class_for_driver ? context.class_for_driver(vsc["spec"].value("driver", "")) : "";
  if (!cls.empty()) vsc["spec"]["volumeSnapshotClassName"] = cls;
  return "";
}

// pkg/restore/actions/csi/pvc_action.go (snapshot case): the claim is provisioned from the restored VolumeSnapshot.
std::string restore_pvc(json& pvc, const json& from_backup, const std::string& target_ns, const RestoreContext& context) {
  std::string vs_name = annotation(from_backup, kVolumeSnapshotLabel);
  const bool moved = context.backup_moved_data && !annotation(from_backup, kDataUploadNameAnnotation).empty() &&
                     context.restore_moved_pvc;
  if (vs_name.empty() && !moved) return "";  // not snapshotted by CSI: unchanged
  if (pvc["metadata"].contains("annotations") && pvc["metadata"]["annotations"].is_object())
    for (const char* key : {"pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller",
                            "volume.kubernetes.io/storage-provisioner", "volume.beta.kubernetes.io/storage-provisioner",
                            "volume.kubernetes.io/selected-node", kVolumeSnapshotLabel,
                            "velero.io/data-upload-name"})
      pvc["metadata"]["annotations"].erase(key);
  json& spec = pvc["spec"];
  spec.erase("volumeName");
  spec.erase("dataSourceRef");
  if (!context.restore_pvs) {
    spec.erase("dataSource");
    return "";
  }
  if (moved) {
    spec.erase("dataSource");
    return context.restore_moved_pvc(pvc, from_backup, target_ns);
  }
  std::string generated = restored_snapshot_name(context.restore_uid, vs_name);
  // The larger of the claim's request and the snapshot's size: a claim smaller than its source cannot be provisioned.
  std::string size = context.restore_size_of ? context.restore_size_of(target_ns, generated) : "";
  if (auto restore_size = parse_quantity(size)) {
    auto requested = parse_quantity(string_at(pvc, "/spec/resources/requests/storage"_json_pointer));
    if (!requested || *requested < *restore_size) spec["resources"]["requests"]["storage"] = size;
  }
  spec["dataSource"] = {{"apiGroup", kSnapshotGroup}, {"kind", "VolumeSnapshot"}, {"name", generated}};
  return "";
}

}  // namespace

std::string run_restore_action(const std::string& group_resource, json& item, const json& from_backup,
                               const std::string& target_ns, const RestoreContext& context, bool& skip) {
  skip = false;
  if (group_resource == "volumesnapshots.snapshot.storage.k8s.io")
    return restore_volume_snapshot(item, from_backup, context, skip);
  if (group_resource == "volumesnapshotcontents.snapshot.storage.k8s.io")
    return restore_volume_snapshot_content(item, from_backup, context, skip);
  if (group_resource == "persistentvolumeclaims") return restore_pvc(item, from_backup, target_ns, context);
  if (group_resource == "datauploads.velero.io") {
    if (context.on_data_upload) context.on_data_upload(from_backup);
    skip = true;
  }
  return "";
}

}  // namespace arca::csi
