// The snapshot half of kubelite's CSI host-path storage: kubernetes-csi/external-snapshotter's common snapshot
// controller (pkg/common-controller/snapshot_controller.go: binding, finalizers, default classes, the error messages
// of status.error) and its csi-snapshotter sidecar (pkg/sidecar-controller: taking and deleting the snapshot and
// writing the content's status), with csi-driver-host-path's snapshots as copies of the volume's directory.
#include <sys/stat.h>

#include <filesystem>

#include "kubelite/objects.h"
#include "kubelite/storage/csi_hostpath.h"
#include "kubelite/storage/util.h"

namespace kubelite::storage {

namespace {

const char* kGroup = "snapshot.storage.k8s.io";
const char* kAsSourceFinalizer = "snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection";
const char* kBoundFinalizer = "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection";
const char* kContentFinalizer = "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection";
const char* kBeingDeleted = "snapshot.storage.kubernetes.io/volumesnapshot-being-deleted";
const char* kDefaultClass = "snapshot.storage.kubernetes.io/is-default-class";

bool ref_points_to(const json& content, const json& snapshot) {
  const json& ref = content["spec"].value("volumeSnapshotRef", json::object());
  return ref.value("name", "") == str(snapshot, {"metadata", "name"}) &&
         ref.value("namespace", "") == str(snapshot, {"metadata", "namespace"}) &&
         ref.value("uid", "") == str(snapshot, {"metadata", "uid"});
}

}  // namespace

bool CsiHostPath::report_snapshot_error(json& snapshot, const std::string& message, bool set_ready_false,
                                        const std::string& reason) {
  // updateSnapshotErrorStatusWithEvent: written only when the message changes.
  if (str(snapshot, {"status", "error", "message"}) == message) return false;
  json updated = snapshot;
  updated["status"]["error"] = {{"time", now_rfc3339()}, {"message", message}};
  if (set_ready_false) updated["status"]["readyToUse"] = false;
  snapshot = cluster_.update(kGroup, "volumesnapshots", snapshot, updated, true);
  event(snapshot, "Warning", reason, message);
  return true;
}

// updateSnapshotStatus: the snapshot's status follows its content's.
bool CsiHostPath::update_snapshot_status(json& snapshot, const json& content) {
  const json& cs = content.value("status", json::object());
  json status = snapshot.value("status", json::object());
  json next = status;
  bool ready = cs.value("readyToUse", false);
  if (!status.contains("boundVolumeSnapshotContentName"))
    next["boundVolumeSnapshotContentName"] = str(content, {"metadata", "name"});
  if (!status.contains("creationTime") && cs.contains("creationTime"))
    next["creationTime"] = rfc3339_from_nanos(cs["creationTime"].get<int64_t>());
  if (!status.contains("readyToUse") || status["readyToUse"] != ready) {
    next["readyToUse"] = ready;
    if (ready) next.erase("error");
  }
  if (!status.contains("restoreSize") && cs.contains("restoreSize"))
    next["restoreSize"] = binary_quantity(cs["restoreSize"].get<uint64_t>());
  if (cs.contains("error")) next["error"] = cs["error"];
  else if (status.contains("error") && ready) next.erase("error");
  if (next == status) return false;
  json updated = snapshot;
  updated["status"] = next;
  bool became_ready = ready && !status.value("readyToUse", false);
  snapshot = cluster_.update(kGroup, "volumesnapshots", snapshot, updated, true);
  if (became_ready) {
    std::string name = key_of(snapshot);
    event(snapshot, "Normal", "SnapshotCreated", "Snapshot " + name + " was successfully created by the CSI driver.");
    event(snapshot, "Normal", "SnapshotReady", "Snapshot " + name + " is ready to use.");
  }
  return true;
}

// SetDefaultSnapshotClass: the one default class of the source volume's driver. Returns the error the real
// controller reports, "" with `class_name` set on success.
std::string CsiHostPath::default_class_error(const json& snapshot, std::string& class_name) {
  std::string ns = str(snapshot, {"metadata", "namespace"});
  std::string pvc_name = str(snapshot, {"spec", "source", "persistentVolumeClaimName"});
  json claim = cluster_.get("", "persistentvolumeclaims", ns + "/" + pvc_name);
  if (claim.is_null())
    return "failed to retrieve PVC " + pvc_name + " from the lister: " +
           go_quote("persistentvolumeclaim " + go_quote(pvc_name) + " not found");
  if (str(claim, {"status", "phase"}) != "Bound")
    return "the PVC " + pvc_name + " is not yet bound to a PV, will not attempt to take a snapshot";
  std::string pv_name = str(claim, {"spec", "volumeName"});
  json pv = cluster_.get("", "persistentvolumes", pv_name);
  if (pv.is_null())
    return "failed to retrieve PV " + pv_name + " from the API server: " +
           go_quote("persistentvolumes " + go_quote(pv_name) + " not found");
  if (str(pv, {"spec", "claimRef", "name"}) != pvc_name || str(pv, {"spec", "claimRef", "namespace"}) != ns)
    return "claim in dataSource not bound or invalid";
  if (!pv["spec"].contains("csi"))
    return "snapshotting non-CSI volumes is not supported, snapshot:" + ns + "/" + str(snapshot, {"metadata", "name"});
  std::string driver = str(pv, {"spec", "csi", "driver"});
  std::vector<std::string> defaults;
  for (const json& c : cluster_.list(kGroup, "volumesnapshotclasses"))
    if (str(c, {"metadata", "annotations", kDefaultClass}) == "true" && c.value("driver", "") == driver)
      defaults.push_back(str(c, {"metadata", "name"}));
  if (defaults.empty()) return "cannot find default snapshot class";
  if (defaults.size() > 1) return std::to_string(defaults.size()) + " default snapshot classes were found";
  class_name = defaults[0];
  return "";
}

bool CsiHostPath::sync_snapshot(const std::string& key) {
  json snapshot = cluster_.get(kGroup, "volumesnapshots", key);
  if (snapshot.is_null()) return false;
  if (snapshot["metadata"].contains("deletionTimestamp")) return delete_snapshot(snapshot);
  std::string name = str(snapshot, {"metadata", "name"});
  std::string uid = str(snapshot, {"metadata", "uid"});
  std::string pvc_name = str(snapshot, {"spec", "source", "persistentVolumeClaimName"});
  std::string content_name = str(snapshot, {"spec", "source", "volumeSnapshotContentName"});
  if (pvc_name.empty() == content_name.empty())
    return report_snapshot_error(snapshot, "Exactly one of PersistentVolumeClaimName and VolumeSnapshotContentName "
                                           "should be specified", true, "SnapshotValidationError");
  // checkAndUpdateSnapshotClass.
  bool progress = false;
  std::string class_name = str(snapshot, {"spec", "volumeSnapshotClassName"});
  json snapshot_class;
  if (!class_name.empty()) {
    snapshot_class = cluster_.get(kGroup, "volumesnapshotclasses", class_name);
    if (snapshot_class.is_null())
      return report_snapshot_error(snapshot,
                                   "Failed to get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io " +
                                       go_quote(class_name) + " not found",
                                   false, "GetSnapshotClassFailed");
  } else if (!pvc_name.empty()) {
    std::string error = default_class_error(snapshot, class_name);
    if (!error.empty())
      return report_snapshot_error(snapshot, "Failed to set default snapshot class with error " + error, false,
                                   "SetDefaultSnapshotClassFailed");
    json updated = snapshot;
    updated["spec"]["volumeSnapshotClassName"] = class_name;
    snapshot = cluster_.update(kGroup, "volumesnapshots", snapshot, updated, false);
    snapshot_class = cluster_.get(kGroup, "volumesnapshotclasses", class_name);
    progress = true;
  }

  json content;
  if (!content_name.empty()) {
    // A pre-provisioned content, which must name this snapshot.
    content = cluster_.get(kGroup, "volumesnapshotcontents", content_name);
    if (content.is_null())
      return report_snapshot_error(snapshot, "VolumeSnapshotContent is missing", true, "SnapshotContentMissing") ||
             progress;
    if (str(content, {"spec", "source", "snapshotHandle"}).empty())
      return report_snapshot_error(snapshot,
                                   "VolumeSnapshotContent is dynamically provisioned while expecting a pre-provisioned one",
                                   true, "SnapshotContentMismatch") ||
             progress;
    const json& ref = content["spec"].value("volumeSnapshotRef", json::object());
    if (ref.value("name", "") != name || ref.value("namespace", "") != str(snapshot, {"metadata", "namespace"}) ||
        (!ref.value("uid", "").empty() && ref.value("uid", "") != uid))
      return report_snapshot_error(snapshot, "VolumeSnapshotContent [" + content_name + "] is bound to a different snapshot",
                                   true, "SnapshotContentMisbound") ||
             progress;
    // checkandBindSnapshotContent: the content gets the snapshot's uid (and class).
    if (ref.value("uid", "").empty() || (!class_name.empty() && str(content, {"spec", "volumeSnapshotClassName"}).empty())) {
      json bound = content;
      bound["spec"]["volumeSnapshotRef"]["uid"] = uid;
      if (!class_name.empty()) bound["spec"]["volumeSnapshotClassName"] = class_name;
      content = cluster_.update(kGroup, "volumesnapshotcontents", content, bound, false);
      progress = true;
    }
  } else {
    content_name = "snapcontent-" + uid;
    content = cluster_.get(kGroup, "volumesnapshotcontents", content_name);
    if (!content.is_null()) {
      if (str(content, {"spec", "source", "volumeHandle"}).empty())
        return report_snapshot_error(snapshot, "VolumeSnapshotContent " + content_name +
                                                   " is pre-provisioned while expecting a dynamically provisioned one",
                                     true, "SnapshotContentMismatch") ||
               progress;
      if (!ref_points_to(content, snapshot))
        return report_snapshot_error(snapshot, "VolumeSnapshotContent [" + content_name + "] is bound to a different snapshot",
                                     true, "SnapshotContentMisbound") ||
               progress;
    } else if (!str(snapshot, {"status", "boundVolumeSnapshotContentName"}).empty()) {
      // syncReadySnapshot: a bound snapshot whose content went away is not taken again.
      return report_snapshot_error(snapshot, "VolumeSnapshotContent is missing", true, "SnapshotContentMissing") ||
             progress;
    } else {
      // createSnapshotContent.
      std::string ns = str(snapshot, {"metadata", "namespace"});
      std::string failed = "Failed to create snapshot content with error ";
      json claim = cluster_.get("", "persistentvolumeclaims", ns + "/" + pvc_name);
      if (claim.is_null())
        return report_snapshot_error(snapshot, failed + "snapshot controller failed to update " + name +
                                                   " on API server: cannot get claim from snapshot",
                                     true, "SnapshotContentCreationFailed") ||
               progress;
      if (claim["metadata"].contains("deletionTimestamp"))
        return report_snapshot_error(snapshot, failed + "snapshot controller failed to update " + pvc_name +
                                                   " on API server: cannot add finalizer on claim because it is being deleted",
                                     true, "SnapshotContentCreationFailed") ||
               progress;
      std::string input = failed + "failed to get input parameters to create snapshot " + name + ": ";
      if (str(claim, {"status", "phase"}) != "Bound")
        return report_snapshot_error(
                   snapshot,
                   input + go_quote("the PVC " + pvc_name + " is not yet bound to a PV, will not attempt to take a snapshot"),
                   true, "SnapshotContentCreationFailed") ||
               progress;
      std::string pv_name = str(claim, {"spec", "volumeName"});
      json pv = cluster_.get("", "persistentvolumes", pv_name);
      if (pv.is_null())
        return report_snapshot_error(snapshot,
                                     input + go_quote("failed to retrieve PV " + pv_name + " from the API server: " +
                                                      go_quote("persistentvolumes " + go_quote(pv_name) + " not found")),
                                     true, "SnapshotContentCreationFailed") ||
               progress;
      if (!pv["spec"].contains("csi"))
        return report_snapshot_error(snapshot, failed + "cannot find CSI PersistentVolumeSource for volume " + pv_name,
                                     true, "SnapshotContentCreationFailed") ||
               progress;
      json created = {{"apiVersion", "snapshot.storage.k8s.io/v1"},
                      {"kind", "VolumeSnapshotContent"},
                      {"metadata", {{"name", content_name}}},
                      {"spec",
                       {{"volumeSnapshotRef",
                         {{"kind", "VolumeSnapshot"},
                          {"namespace", ns},
                          {"name", name},
                          {"uid", uid},
                          {"apiVersion", "snapshot.storage.k8s.io/v1"},
                          {"resourceVersion", str(snapshot, {"metadata", "resourceVersion"})}}},
                        {"source", {{"volumeHandle", str(pv, {"spec", "csi", "volumeHandle"})}}},
                        {"volumeSnapshotClassName", class_name},
                        {"deletionPolicy", snapshot_class.value("deletionPolicy", "Delete")},
                        {"driver", snapshot_class.value("driver", "")},
                        {"sourceVolumeMode", pv["spec"].value("volumeMode", "Filesystem")}}}};
      content_capacity_[content_name] = quantity_bytes(str(pv, {"spec", "capacity", "storage"}));
      content = cluster_.create(kGroup, "volumesnapshotcontents", "", created);
      event(snapshot, "Normal", "CreatingSnapshot",
            "Waiting for a snapshot " + key_of(snapshot) + " to be created by the CSI driver.");
      progress = true;
    }
  }
  snapshot_of_content_[content_name] = key;
  // checkandAddSnapshotFinalizers: as-source always, bound when deleting the snapshot deletes the content.
  json with_finalizers = snapshot;
  add_finalizer(with_finalizers, kAsSourceFinalizer);
  if (str(content, {"spec", "deletionPolicy"}) == "Delete") add_finalizer(with_finalizers, kBoundFinalizer);
  if (with_finalizers != snapshot) {
    snapshot = cluster_.update(kGroup, "volumesnapshots", snapshot, with_finalizers, false);
    progress = true;
  }
  return update_snapshot_status(snapshot, content) || progress;
}

// processSnapshotWithDeletionTimestamp and checkandRemoveSnapshotFinalizersAndCheckandDeleteContent.
bool CsiHostPath::delete_snapshot(json& snapshot) {
  std::string key = key_of(snapshot);
  std::string content_name = str(snapshot, {"status", "boundVolumeSnapshotContentName"});
  if (content_name.empty() && !str(snapshot, {"spec", "source", "persistentVolumeClaimName"}).empty())
    content_name = "snapcontent-" + str(snapshot, {"metadata", "uid"});
  json content = content_name.empty() ? json() : cluster_.get(kGroup, "volumesnapshotcontents", content_name);
  if (!content.is_null() && !ref_points_to(content, snapshot)) content = json();
  bool delete_content = !content.is_null() && str(content, {"spec", "deletionPolicy"}) == "Delete";
  bool progress = false;
  if (!content.is_null()) {
    snapshot_of_content_[content_name] = key;
    // A claim is being restored from it: wait (isVolumeBeingCreatedFromSnapshot).
    std::string dir = snapshot_dir(root_, str(content, {"status", "snapshotHandle"}));
    if (!dir.empty() && volume_busy(dir)) {
      event(snapshot, "Warning", "SnapshotDeletePending", "Snapshot is being used to restore a PVC");
      snapshots_waiting_.insert(key);
      return false;
    }
    if (str(content, {"metadata", "annotations", kBeingDeleted}) != "yes") {
      json annotated = content;
      annotated["metadata"]["annotations"][kBeingDeleted] = "yes";
      content = cluster_.update(kGroup, "volumesnapshotcontents", content, annotated, false);
      progress = true;
    }
    if (delete_content && !content["metadata"].contains("deletionTimestamp")) {
      cluster_.remove(kGroup, "volumesnapshotcontents", content);
      progress = true;
    }
  }
  json updated = snapshot;
  drop_finalizer(updated, kAsSourceFinalizer);
  if (!delete_content) drop_finalizer(updated, kBoundFinalizer);
  if (updated != snapshot) {
    cluster_.update(kGroup, "volumesnapshots", snapshot, updated, false);
    progress = true;
  }
  return progress;
}

bool CsiHostPath::set_content_status(const json& content, const json& status) {
  json current = content.value("status", json::object());
  json next = current;
  for (const auto& [k, v] : status.items()) next[k] = v;
  if (!status.contains("error")) next.erase("error");
  if (next == current) return false;
  json updated = content;
  updated["status"] = next;
  cluster_.update(kGroup, "volumesnapshotcontents", content, updated, true);
  return true;
}

// The csi-snapshotter sidecar's part (and the common controller's content finalizer).
bool CsiHostPath::sync_content(const std::string& name) {
  json content = cluster_.get(kGroup, "volumesnapshotcontents", name);
  if (content.is_null()) {
    snapshot_of_content_.erase(name);
    content_capacity_.erase(name);
    return false;
  }
  if (str(content, {"spec", "driver"}) != kDriverName) return false;
  const json& ref = content["spec"].value("volumeSnapshotRef", json::object());
  snapshot_of_content_[name] = ref.value("namespace", "") + "/" + ref.value("name", "");
  std::string volume_handle = str(content, {"spec", "source", "volumeHandle"});
  std::string source_snapshot = str(content, {"spec", "source", "snapshotHandle"});
  if (volume_handle.empty() == source_snapshot.empty()) {
    event(content, "Warning", "ContentValidationError", "Exactly one of VolumeHandle and SnapshotHandle should be specified");
    return false;
  }
  std::string handle = str(content, {"status", "snapshotHandle"});
  if (handle.empty()) handle = source_snapshot;

  if (content["metadata"].contains("deletionTimestamp")) {
    if (str(content, {"spec", "deletionPolicy"}) == "Delete" && !handle.empty()) {
      std::string dir = snapshot_dir(root_, handle);
      std::optional<std::string> removed = remove_dir("delete-snapshot/" + name, dir,
                                                      "snapshot.storage.k8s.io/volumesnapshotcontents", name,
                                                      contents_waiting_);
      if (!removed) return false;
      const std::string& error = *removed;
      if (!error.empty())
        return set_content_status(content, {{"error", {{"time", now_rfc3339()},
                                                       {"message", "Failed to delete snapshot: " + error}}}});
    }
    json released = content;
    drop_finalizer(released, kContentFinalizer);
    if (released == content) return false;
    cluster_.update(kGroup, "volumesnapshotcontents", content, released, false);
    return true;
  }
  // The common controller's syncContent adds the finalizer before it looks at the binding (needToAddContentFinalizer
  // comes first), so a pre-bound content no snapshot has bound yet is protected too: deleting it with policy Delete
  // removes the snapshot (what Velero's backup deletion relies on with its temporary contents).
  bool progress = false;
  if (!has_finalizer(content, kContentFinalizer)) {
    json with = content;
    add_finalizer(with, kContentFinalizer);
    content = cluster_.update(kGroup, "volumesnapshotcontents", content, with, false);
    progress = true;
  }
  // Pre-bound to a snapshot that has not bound it yet: the snapshot's sync does that.
  if (ref.value("uid", "").empty()) return progress;
  const json& status = content.value("status", json::object());
  if (!source_snapshot.empty()) {
    // A pre-provisioned snapshot: ListSnapshots tells whether it exists.
    if (status.contains("readyToUse")) return progress;
    std::string dir = snapshot_dir(root_, source_snapshot);
    struct stat st {};
    if (dir.empty() || stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return set_content_status(content, {{"readyToUse", false},
                                          {"error", {{"time", now_rfc3339()},
                                                     {"message", "Failed to check and update snapshot content: "
                                                                 "can not find snapshot for snapshotID " + source_snapshot}}}}) ||
             progress;
    int64_t created = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    return set_content_status(content, {{"snapshotHandle", source_snapshot},
                                        {"creationTime", created},
                                        {"restoreSize", tree_bytes(dir)},
                                        {"readyToUse", true}}) ||
           progress;
  }
  if (!str(status, {"snapshotHandle"}).empty()) return progress;  // taken already
  // CreateSnapshot: a copy of the volume's directory, made off the request path.
  std::string job_id = "snapshot/" + name;
  std::optional<Job> j = job(job_id);
  if (!j) {
    // Test knob: a class with parameter kubelite.dev/never-ready "true" gets contents that are never taken (no
    // status, no error), as a driver stuck in CreateSnapshot: what a backup's --csi-snapshot-timeout is for.
    json snapshot_class = cluster_.get(kGroup, "volumesnapshotclasses", str(content, {"spec", "volumeSnapshotClassName"}));
    if (!snapshot_class.is_null() && str(snapshot_class, {"parameters", kNeverReadyParameter}) == "true") return progress;
    std::string from = volume_dir(root_, volume_handle);
    if (from.empty() || !std::filesystem::is_directory(from))
      return set_content_status(content, {{"readyToUse", false},
                                          {"error", {{"time", now_rfc3339()},
                                                     {"message", "Failed to check and update snapshot content: failed "
                                                                 "to take snapshot of the volume " + volume_handle + ": " +
                                                                 go_quote("rpc error: code = NotFound desc = source volume " +
                                                                          volume_handle + " not found")}}}}) ||
             progress;
    Job copy;
    copy.result = new_uid();
    copy.started = now_nanos();
    std::string to = snapshot_dir(root_, copy.result);
    copy.work = [from, to] { return copy_tree(from, to); };
    copy.reads.insert(from);
    copy.owner_storage_id = "snapshot.storage.k8s.io/volumesnapshotcontents";
    copy.owner_key = name;
    start_job(job_id, std::move(copy));
    return progress;
  }
  if (!j->done) return progress;
  const Job& finished = *j;
  forget_job(job_id);
  if (!finished.error.empty())
    return set_content_status(content, {{"readyToUse", false},
                                        {"error", {{"time", now_rfc3339()},
                                                   {"message", "Failed to check and update snapshot content: failed to "
                                                               "take snapshot of the volume " + volume_handle + ": " +
                                                               go_quote("rpc error: code = Internal desc = " +
                                                                        finished.error)}}}}) ||
           progress;
  // csi-driver-host-path reports the source volume's capacity as the snapshot's size.
  uint64_t size = content_capacity_.count(name) ? content_capacity_[name] : finished.stats.bytes;
  return set_content_status(content, {{"snapshotHandle", finished.result},
                                      {"creationTime", finished.started},
                                      {"restoreSize", size},
                                      {"readyToUse", true}}) ||
         progress;
}

}  // namespace kubelite::storage
