// The provisioning half of kubelite's CSI host-path storage (kubernetes-csi/external-provisioner's controller with
// csi-driver-host-path behind it), the reclaim of released volumes, and the worker thread that copies data.
#include "kubelite/storage/csi_hostpath.h"

#include <filesystem>
#include <iostream>

#include "kubelite/objects.h"
#include "kubelite/storage/crds.h"
#include "kubelite/storage/util.h"

namespace kubelite::storage {

namespace {

const char* kPvProtection = "kubernetes.io/pv-protection";
const char* kProvisionerFinalizer = "external-provisioner.volume.kubernetes.io/finalizer";
const char* kSelectedNode = "volume.kubernetes.io/selected-node";
// The topology key csi-driver-host-path reports for its nodes.
const char* kTopologyKey = "topology.hostpath.csi/node";

bool owned(const json& pv) { return str(pv, {"spec", "csi", "driver"}) == kDriverName; }

}  // namespace

CsiHostPath::CsiHostPath(std::string root, Cluster cluster) : root_(std::move(root)), cluster_(std::move(cluster)) {
  // external-provisioner's identity: "<start time in ms>-<random>-<driver>".
  provisioner_identity_ = std::to_string(now_nanos() / 1000000) + "-" + new_uid().substr(0, 4) + "-" + kDriverName;
  std::filesystem::create_directories(root_ + "/volumes");
  std::filesystem::create_directories(root_ + "/snapshots");
  worker_ = std::thread([this] { worker_loop(); });
}

CsiHostPath::~CsiHostPath() {
  {
    std::lock_guard lock(jobs_mu_);
    stopping_ = true;
  }
  jobs_cv_.notify_all();
  worker_.join();
}

std::vector<json> CsiHostPath::seed_objects() {
  std::vector<json> objects;
  for (const char* text : snapshot_crd_yamls())
    for (json& crd : decode_manifests(text)) objects.push_back(std::move(crd));
  // csi-driver-host-path's deploy/kubernetes-*/hostpath/csi-hostpath-driverinfo.yaml.
  objects.push_back({{"apiVersion", "storage.k8s.io/v1"},
                     {"kind", "CSIDriver"},
                     {"metadata",
                      {{"name", kDriverName},
                       {"labels",
                        {{"app.kubernetes.io/instance", kDriverName},
                         {"app.kubernetes.io/part-of", "csi-driver-host-path"},
                         {"app.kubernetes.io/name", kDriverName},
                         {"app.kubernetes.io/component", "csi-driver"}}}}},
                     {"spec",
                      {{"volumeLifecycleModes", {"Persistent", "Ephemeral"}},
                       {"podInfoOnMount", true},
                       {"attachRequired", false},
                       {"storageCapacity", false},
                       {"fsGroupPolicy", "File"},
                       {"requiresRepublish", false},
                       {"seLinuxMount", false}}}});
  // The default class of a kind cluster (`standard`), provisioned by this driver.
  objects.push_back({{"apiVersion", "storage.k8s.io/v1"},
                     {"kind", "StorageClass"},
                     {"metadata",
                      {{"name", "standard"}, {"annotations", {{"storageclass.kubernetes.io/is-default-class", "true"}}}}},
                     {"provisioner", kDriverName},
                     {"reclaimPolicy", "Delete"},
                     {"volumeBindingMode", "Immediate"},
                     {"allowVolumeExpansion", true}});
  // csi-driver-host-path's examples/csi-snapshotclass-v1.yaml, marked default for its driver.
  objects.push_back({{"apiVersion", "snapshot.storage.k8s.io/v1"},
                     {"kind", "VolumeSnapshotClass"},
                     {"metadata",
                      {{"name", "csi-hostpath-snapclass"},
                       {"annotations", {{"snapshot.storage.kubernetes.io/is-default-class", "true"}}}}},
                     {"driver", kDriverName},
                     {"deletionPolicy", "Delete"}});
  return objects;
}

// --- the worker thread ---

void CsiHostPath::start_job(const std::string& id, Job job) {
  {
    std::lock_guard lock(jobs_mu_);
    if (jobs_.count(id)) return;
    jobs_[id] = std::move(job);
    queue_.push_back(id);
  }
  jobs_cv_.notify_all();
}

std::optional<CsiHostPath::Job> CsiHostPath::job(const std::string& id) {
  std::lock_guard lock(jobs_mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second;
}

void CsiHostPath::forget_job(const std::string& id) {
  std::lock_guard lock(jobs_mu_);
  jobs_.erase(id);
}

bool CsiHostPath::volume_busy(const std::string& dir) {
  std::lock_guard lock(jobs_mu_);
  for (const auto& [id, j] : jobs_)
    if (!j.done && j.reads.count(dir)) return true;
  return false;
}

void CsiHostPath::worker_loop() {
  std::unique_lock lock(jobs_mu_);
  for (;;) {
    jobs_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    std::string id = queue_.front();
    queue_.pop_front();
    std::function<CopyStats()> work = jobs_[id].work;
    lock.unlock();
    CopyStats stats;
    std::string error;
    try {
      stats = work();
    } catch (const std::exception& e) {
      error = e.what();
    }
    lock.lock();
    Job& j = jobs_[id];
    j.stats = stats;
    j.error = error;
    j.done = true;
    completed_.push_back(id);
    lock.unlock();
    cluster_.wake();
    lock.lock();
  }
}

std::optional<std::string> CsiHostPath::remove_dir(const std::string& job_id, const std::string& dir,
                                                   const std::string& owner_storage_id, const std::string& owner_key,
                                                   std::set<std::string>& waiting) {
  std::optional<Job> j = job(job_id);
  if (!j) {
    if (dir.empty()) return "";  // a handle that names no directory of the driver: nothing to remove
    if (volume_busy(dir)) {
      waiting.insert(owner_key);  // a snapshot or clone is reading it: removed after that copy
      return std::nullopt;
    }
    Job removal;
    removal.work = [dir] {
      remove_tree(dir);
      return CopyStats{};
    };
    removal.owner_storage_id = owner_storage_id;
    removal.owner_key = owner_key;
    start_job(job_id, std::move(removal));
    return std::nullopt;
  }
  if (!j->done) return std::nullopt;
  forget_job(job_id);
  return j->error;
}

// --- the controller pass ---

void CsiHostPath::note(const std::string& storage_id, const std::string& key) {
  if (storage_id == "snapshot.storage.k8s.io/volumesnapshots") {
    snapshots_.insert(key);
    if (auto w = claims_waiting_on_snapshot_.find(key); w != claims_waiting_on_snapshot_.end())
      for (const auto& claim : w->second) cluster_.recheck_claim(claim);
  } else if (storage_id == "snapshot.storage.k8s.io/volumesnapshotcontents") {
    contents_.insert(key);
    if (auto s = snapshot_of_content_.find(key); s != snapshot_of_content_.end()) snapshots_.insert(s->second);
  } else if (storage_id == "/persistentvolumes") {
    volumes_.insert(key);
  } else if (storage_id == "/persistentvolumeclaims") {
    if (auto w = claims_waiting_on_claim_.find(key); w != claims_waiting_on_claim_.end())
      for (const auto& claim : w->second) cluster_.recheck_claim(claim);
  } else if (storage_id == "/pods") {
    pods_.insert(key);
  }
}

bool CsiHostPath::run() {
  std::vector<std::string> completed;
  {
    std::lock_guard lock(jobs_mu_);
    completed.swap(completed_);
  }
  // A finished copy may have been what kept a released volume's directory.
  if (!completed.empty()) {
    volumes_.merge(std::exchange(volumes_waiting_, {}));
    snapshots_.merge(std::exchange(snapshots_waiting_, {}));
    contents_.merge(std::exchange(contents_waiting_, {}));
  }
  for (const std::string& id : completed) {
    std::optional<Job> j = job(id);
    if (!j) continue;
    if (j->owner_storage_id == "/persistentvolumeclaims") cluster_.recheck_claim(j->owner_key);
    else note(j->owner_storage_id, j->owner_key);
  }
  if (!scanned_) {
    // After a restart (--data-dir): snapshots, contents and volumes whose work was under way are looked at again.
    scanned_ = true;
    for (const json& o : cluster_.list("snapshot.storage.k8s.io", "volumesnapshots")) snapshots_.insert(key_of(o));
    for (const json& o : cluster_.list("snapshot.storage.k8s.io", "volumesnapshotcontents")) contents_.insert(key_of(o));
    for (const json& o : cluster_.list("", "persistentvolumes"))
      if (owned(o) || o["metadata"].contains("deletionTimestamp")) volumes_.insert(key_of(o));
  }
  bool progress = false;
  // Each queue is taken whole: what a sync writes queues its object again for the next pass, which then finds
  // nothing to do.
  std::set<std::string> pods = std::exchange(pods_, {});
  for (auto it = pods.begin(); it != pods.end(); ++it) {
    if (cluster_.interrupted && cluster_.interrupted()) {
      pods_.insert(it, pods.end());
      return true;
    }
    progress |= sync_pod(*it);
  }
  for (const std::string& key : std::exchange(snapshots_, {})) progress |= sync_snapshot(key);
  for (const std::string& name : std::exchange(contents_, {})) progress |= sync_content(name);
  for (const std::string& name : std::exchange(volumes_, {})) progress |= sync_volume(name);
  return progress;
}

void CsiHostPath::event(const json& object, const std::string& type, const std::string& reason,
                        const std::string& message) {
  const json& meta = object["metadata"];
  std::string uid = meta.value("uid", "");
  if (type == "Warning") {
    // Failures are retried on every change: one event per distinct message (the real recorders aggregate repeats).
    std::string& last = reported_[uid + "/" + reason];
    if (last == message) return;
    last = message;
  }
  std::string ns = meta.value("namespace", "");
  std::string api_version = object.value("apiVersion", "");
  std::string now = now_rfc3339();
  json e = {{"metadata", {{"generateName", meta.value("name", "") + "."}, {"namespace", ns.empty() ? "default" : ns}}},
            {"involvedObject",
             {{"kind", object.value("kind", "")},
              {"namespace", ns},
              {"name", meta.value("name", "")},
              {"uid", uid},
              {"apiVersion", api_version},
              {"resourceVersion", meta.value("resourceVersion", "")}}},
            {"reason", reason},
            {"message", message},
            {"source", {{"component", api_version.rfind("snapshot.storage.k8s.io", 0) == 0
                                          ? "snapshot-controller"
                                          : std::string(kDriverName) + "_kubelite"}}},
            {"firstTimestamp", now},
            {"lastTimestamp", now},
            {"count", 1},
            {"type", type},
            {"reportingComponent", ""},
            {"reportingInstance", ""}};
  if (ns.empty()) e["involvedObject"].erase("namespace");
  try {
    cluster_.create("", "events", ns.empty() ? "default" : ns, e);
  } catch (const std::exception&) {
    // An event that cannot be written (the namespace is going away) is not worth failing the pass for.
  }
}

// --- provisioning ---

bool CsiHostPath::provisions(const json& storage_class) { return storage_class.value("provisioner", "") == kDriverName; }

// The directory a new volume's data comes from (dataSourceRef, else dataSource): {"dir": ...} for a snapshot or a
// claim to clone, {} for an empty volume, null when the claim must wait (`error` then says why, or is empty).
json CsiHostPath::source_for_claim(const json& claim, std::string& error) {
  const json& spec = claim["spec"];
  json ref = spec.value("dataSourceRef", json());
  if (!ref.is_object()) ref = spec.value("dataSource", json());
  if (!ref.is_object()) return json::object();
  std::string ns = str(claim, {"metadata", "namespace"});
  std::string claim_key = key_of(claim);
  std::string kind = ref.value("kind", ""), group = ref.value("apiGroup", ""), name = ref.value("name", "");
  uint64_t requested = quantity_bytes(str(claim, {"spec", "resources", "requests", "storage"}));
  if (!ref.value("namespace", "").empty() && ref.value("namespace", "") != ns) {
    error = "cross-namespace data sources are not supported";
    return json();
  }
  if (kind == "VolumeSnapshot" && group == "snapshot.storage.k8s.io") {
    claims_waiting_on_snapshot_[ns + "/" + name].insert(claim_key);
    std::string prefix = "error getting handle for DataSource Type VolumeSnapshot by Name " + name + ": ";
    json snapshot = cluster_.get("snapshot.storage.k8s.io", "volumesnapshots", ns + "/" + name);
    if (snapshot.is_null()) {
      error = prefix + "error getting snapshot " + name + " from api server: volumesnapshots.snapshot.storage.k8s.io " +
              go_quote(name) + " not found";
      return json();
    }
    const json& status = snapshot.value("status", json::object());
    if (!status.value("readyToUse", false)) {
      error = prefix + "snapshot " + name + " is not Ready";
      return json();
    }
    std::string content_name = status.value("boundVolumeSnapshotContentName", "");
    json content = cluster_.get("snapshot.storage.k8s.io", "volumesnapshotcontents", content_name);
    if (content.is_null()) {
      error = prefix + "error getting snapshotcontent " + content_name + " for snapshot " + ns + "/" + name +
              " from api server: volumesnapshotcontents.snapshot.storage.k8s.io " + go_quote(content_name) +
              " not found";
      return json();
    }
    if (str(content, {"spec", "driver"}) != kDriverName) {
      error = prefix + "driver name " + str(content, {"spec", "driver"}) + " defined in snapshotcontent " +
              content_name + " does not match driver name " + kDriverName + " defined in storageclass";
      return json();
    }
    uint64_t restore_size = content["status"].value("restoreSize", uint64_t{0});
    if (requested < restore_size) {
      error = "requested volume size " + std::to_string(requested) + " is less than the size " +
              std::to_string(restore_size) + " for the source snapshot " + name;
      return json();
    }
    std::string dir = snapshot_dir(root_, str(content, {"status", "snapshotHandle"}));
    if (dir.empty() || !std::filesystem::is_directory(dir)) {
      error = "rpc error: code = NotFound desc = cannot find snapshot " + str(content, {"status", "snapshotHandle"});
      return json();
    }
    return {{"dir", dir}};
  }
  if (kind == "PersistentVolumeClaim" && group.empty()) {
    claims_waiting_on_claim_[ns + "/" + name].insert(claim_key);
    json source = cluster_.get("", "persistentvolumeclaims", ns + "/" + name);
    if (source.is_null()) {
      error = "error getting PVC " + name + " (namespace " + go_quote(ns) + "): persistentvolumeclaims " +
              go_quote(name) + " not found";
      return json();
    }
    if (str(source, {"status", "phase"}) != "Bound") {
      error = "the PVC " + name + " (namespace " + go_quote(ns) + ") is not bound";
      return json();
    }
    std::string source_class = str(source, {"spec", "storageClassName"});
    std::string claim_class = str(claim, {"spec", "storageClassName"});
    if (source_class != claim_class) {
      error = "the source PVC and destination PVCs must be in the same storage class for cloning.  Source is in " +
              source_class + ", but new PVC is in " + claim_class;
      return json();
    }
    uint64_t source_size = quantity_bytes(str(source, {"status", "capacity", "storage"}));
    if (requested < source_size) {
      error = "error, new PVC request must be greater than or equal in size to the specified PVC data source, "
              "requested " + std::to_string(requested) + " but source is " + std::to_string(source_size);
      return json();
    }
    json pv = cluster_.get("", "persistentvolumes", str(source, {"spec", "volumeName"}));
    if (pv.is_null() || !owned(pv)) {
      error = "the source PVC and destination PVCs must use the same CSI driver " + std::string(kDriverName);
      return json();
    }
    return {{"dir", volume_dir(root_, str(pv, {"spec", "csi", "volumeHandle"}))}};
  }
  // Other kinds are volume populators this cluster does not run: the claim stays Pending, as it would.
  error = "";
  return json();
}

json CsiHostPath::provision(const json& claim, const json& storage_class) {
  const json& meta = claim["metadata"];
  std::string uid = meta.value("uid", "");
  std::string claim_key = key_of(claim);
  std::string job_id = "provision/" + uid;
  std::string handle;
  if (std::optional<Job> j = job(job_id)) {
    if (!j->done) return json();  // still copying
    std::string error = j->error;
    forget_job(job_id);
    if (!error.empty()) {
      provisioned_handles_.erase(uid);
      event(claim, "Warning", "ProvisioningFailed",
            "failed to provision volume with StorageClass " + go_quote(str(storage_class, {"metadata", "name"})) +
                ": rpc error: code = Internal desc = " + error);
      return json();
    }
    handle = provisioned_handles_[uid];
  } else {
    std::string error;
    json source = source_for_claim(claim, error);
    if (source.is_null()) {
      if (!error.empty())
        event(claim, "Warning", "ProvisioningFailed",
              "failed to provision volume with StorageClass " + go_quote(str(storage_class, {"metadata", "name"})) +
                  ": " + error);
      return json();
    }
    handle = new_uid();
    std::string dir = volume_dir(root_, handle);
    if (source.contains("dir")) {
      // The data is copied off the request path; the PV controller asks again when the copy is done.
      provisioned_handles_[uid] = handle;
      Job j;
      std::string from = source["dir"];
      j.work = [from, dir] { return copy_tree(from, dir); };
      j.owner_storage_id = "/persistentvolumeclaims";
      j.owner_key = claim_key;
      j.reads.insert(from);
      start_job(job_id, std::move(j));
      event(claim, "Normal", "Provisioning",
            "External provisioner is provisioning volume for claim " + go_quote(claim_key));
      return json();
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      event(claim, "Warning", "ProvisioningFailed", "failed to provision volume: cannot create " + dir + ": " + ec.message());
      return json();
    }
  }
  provisioned_handles_.erase(uid);
  for (auto* waiting : {&claims_waiting_on_snapshot_, &claims_waiting_on_claim_})
    for (auto it = waiting->begin(); it != waiting->end();) {
      it->second.erase(claim_key);
      it = it->second.empty() ? waiting->erase(it) : std::next(it);
    }
  for (auto it = reported_.begin(); it != reported_.end();)
    it = it->first.rfind(uid + "/", 0) == 0 ? reported_.erase(it) : std::next(it);
  std::string policy = storage_class.value("reclaimPolicy", "Delete");
  std::string pv_name = "pvc-" + uid;
  const json& spec = claim["spec"];
  json pv = {{"apiVersion", "v1"},
             {"kind", "PersistentVolume"},
             {"metadata",
              {{"name", pv_name},
               {"annotations",
                {{"pv.kubernetes.io/provisioned-by", kDriverName},
                 {"volume.kubernetes.io/provisioner-deletion-secret-name", ""},
                 {"volume.kubernetes.io/provisioner-deletion-secret-namespace", ""}}},
               {"finalizers", policy == "Delete" ? json::array({kProvisionerFinalizer, kPvProtection})
                                                 : json::array({kPvProtection})}}},
             {"spec",
              {{"capacity", {{"storage", str(claim, {"spec", "resources", "requests", "storage"})}}},
               {"accessModes", spec.value("accessModes", json::array({"ReadWriteOnce"}))},
               {"storageClassName", str(claim, {"spec", "storageClassName"})},
               {"persistentVolumeReclaimPolicy", policy},
               {"volumeMode", spec.value("volumeMode", "Filesystem")},
               {"csi",
                {{"driver", kDriverName},
                 {"volumeHandle", handle},
                 {"volumeAttributes", {{"storage.kubernetes.io/csiProvisionerIdentity", provisioner_identity_}}}}}}}};
  if (storage_class.contains("mountOptions")) pv["spec"]["mountOptions"] = storage_class["mountOptions"];
  std::string node = str(claim, {"metadata", "annotations", kSelectedNode});
  if (!node.empty())
    pv["spec"]["nodeAffinity"] = {
        {"required",
         {{"nodeSelectorTerms",
           json::array({{{"matchExpressions",
                          json::array({{{"key", kTopologyKey}, {"operator", "In"}, {"values", {node}}}})}}})}}}};
  event(claim, "Normal", "ProvisioningSucceeded", "Successfully provisioned volume " + pv_name);
  return pv;
}

// WaitForFirstConsumer: a scheduled pod (spec.nodeName) selects the node for the Pending claims it uses, as the
// scheduler's volume binder does; the PV controller then provisions them.
bool CsiHostPath::sync_pod(const std::string& key) {
  json pod = cluster_.get("", "pods", key);
  if (pod.is_null() || pod["metadata"].contains("deletionTimestamp")) return false;
  std::string node = str(pod, {"spec", "nodeName"});
  if (node.empty()) return false;
  bool progress = false;
  std::string ns = str(pod, {"metadata", "namespace"});
  for (const auto& volume : pod["spec"].value("volumes", json::array())) {
    std::string claim_name = str(volume, {"persistentVolumeClaim", "claimName"});
    if (claim_name.empty()) continue;
    json claim = cluster_.get("", "persistentvolumeclaims", ns + "/" + claim_name);
    if (claim.is_null() || str(claim, {"status", "phase"}) != "Pending" ||
        !str(claim, {"spec", "volumeName"}).empty() ||
        !str(claim, {"metadata", "annotations", kSelectedNode}).empty())
      continue;
    json sc = cluster_.get("storage.k8s.io", "storageclasses", str(claim, {"spec", "storageClassName"}));
    if (sc.is_null() || sc.value("volumeBindingMode", "Immediate") != "WaitForFirstConsumer") continue;
    json updated = claim;
    updated["metadata"]["annotations"][kSelectedNode] = node;
    cluster_.update("", "persistentvolumeclaims", claim, updated, false);
    progress = true;
  }
  return progress;
}

// --- reclaim ---

// A volume whose claim is gone (Released) with reclaimPolicy Delete, or a volume being deleted: its directory is
// removed (Delete) and then its finalizers, once it is no longer Bound (pv-protection).
bool CsiHostPath::sync_volume(const std::string& name) {
  json pv = cluster_.get("", "persistentvolumes", name);
  if (pv.is_null()) return false;
  bool deleting = pv["metadata"].contains("deletionTimestamp");
  std::string phase = str(pv, {"status", "phase"});
  if (!owned(pv)) {
    // pv-protection for every volume: a PV being deleted keeps its finalizer only while a claim is bound to it.
    if (deleting && phase != "Bound" && has_finalizer(pv, kPvProtection)) {
      json updated = pv;
      drop_finalizer(updated, kPvProtection);
      cluster_.update("", "persistentvolumes", pv, updated, false);
      return true;
    }
    return false;
  }
  std::string policy = str(pv, {"spec", "persistentVolumeReclaimPolicy"});
  bool reclaim = phase == "Released" && policy == "Delete";
  if (!deleting && !reclaim) return false;
  if (phase == "Bound") return false;  // pv-protection: kept until its claim lets go
  if (policy == "Delete") {
    std::string dir = volume_dir(root_, str(pv, {"spec", "csi", "volumeHandle"}));
    std::optional<std::string> removed =
        remove_dir("reclaim/" + name, dir, "/persistentvolumes", name, volumes_waiting_);
    if (!removed) return false;
    const std::string& error = *removed;
    if (!error.empty()) {
      std::cerr << "kubelite: csi-hostpath: " << error << std::endl;
      json failed = pv;
      failed["status"]["phase"] = "Failed";
      failed["status"]["message"] = "rpc error: code = Internal desc = " + error;
      cluster_.update("", "persistentvolumes", pv, failed, true);
      return true;
    }
  }
  if (!deleting) {
    cluster_.remove("", "persistentvolumes", pv);
    pv = cluster_.get("", "persistentvolumes", name);
    if (pv.is_null()) return true;
  }
  json updated = pv;
  drop_finalizer(updated, kPvProtection);
  drop_finalizer(updated, kProvisionerFinalizer);
  if (updated != pv) cluster_.update("", "persistentvolumes", pv, updated, false);
  return true;
}

}  // namespace kubelite::storage
