#pragma once
// kubelite's CSI host-path storage: what a test cluster with kubernetes-csi/csi-driver-host-path and the external
// provisioner, snapshotter and snapshot controller shows through the API, with the data really on disk
// (kubelite/storage/hostpath.h says where).
//
//  - Provisioning (external-provisioner): a claim of a class whose provisioner is hostpath.csi.k8s.io gets a
//    directory and a PV with spec.csi {driver, volumeHandle}; a claim whose dataSource(Ref) is a VolumeSnapshot gets
//    the snapshot's data, one whose dataSource is a PVC a copy of that claim's volume (a clone). The PV controller
//    (kubelite/controllers.cc) asks provision() and binds what it returns.
//  - Reclaim: a Released volume with reclaimPolicy Delete loses its directory, then its PV; Retain keeps both.
//    pv-protection: a PV being deleted keeps its finalizer while Bound.
//  - WaitForFirstConsumer: a pod with spec.nodeName that uses a Pending claim of such a class gets the claim
//    annotated volume.kubernetes.io/selected-node (the scheduler's volume binder), which lets it be provisioned.
//  - Snapshots (snapshot.storage.k8s.io/v1, the common snapshot controller and the csi-snapshotter sidecar):
//    dynamic VolumeSnapshotContents named snapcontent-<snapshot uid>, a point-in-time copy of the volume made off
//    the API's request path, readyToUse once complete; pre-provisioned contents bind; deletionPolicy Delete removes
//    the content and the data, Retain keeps them; errors in status.error with the real controller's messages.
//  - Test knob (no real driver has it): a VolumeSnapshotClass with parameter `kubelite.dev/never-ready: "true"` gets
//    contents that are never taken: no status, no error, never readyToUse (a driver stuck in CreateSnapshot).
//
// Everything runs inside kubelite's controller passes (the store lock held) through the small Cluster interface;
// copies and removals run on a worker thread of their own, which wakes the controllers when done.
#include <nlohmann/json.hpp>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kubelite/storage/hostpath.h"

namespace kubelite::storage {

using json = nlohmann::json;

inline constexpr const char* kNeverReadyParameter = "kubelite.dev/never-ready";

// What the storage controllers need from the API server. Every call is made with the store lock held exclusively.
// Resources are named by group and plural (all at version v1); keys are "<ns>/<name>" or "<name>".
struct Cluster {
  std::function<json(const std::string& group, const std::string& resource, const std::string& key)> get;  // null: absent
  std::function<std::vector<json>(const std::string& group, const std::string& resource)> list;
  std::function<json(const std::string& group, const std::string& resource, const std::string& ns, const json& object)>
      create;
  // `status`: through the status subresource.
  std::function<json(const std::string& group, const std::string& resource, const json& old, const json& updated,
                     bool status)>
      update;
  std::function<void(const std::string& group, const std::string& resource, const json& object)> remove;
  // Asks the PV controller to look at this claim again ("<ns>/<name>").
  std::function<void(const std::string& claim_key)> recheck_claim;
  // Called from the worker thread when a copy or removal finished: run a controller pass soon.
  std::function<void()> wake;
  // Whether a signal came while settling a --load: a pass ends early, what it did not reach stays queued.
  std::function<bool()> interrupted;
};

class CsiHostPath {
 public:
  // `root`: the driver's directory (hostpath.h).
  CsiHostPath(std::string root, Cluster cluster);
  ~CsiHostPath();
  CsiHostPath(const CsiHostPath&) = delete;
  CsiHostPath& operator=(const CsiHostPath&) = delete;

  // What a fresh cluster holds: the snapshot.storage.k8s.io CRDs (external-snapshotter's client/config/crd), the
  // CSIDriver, the default StorageClass `standard` and the VolumeSnapshotClass `csi-hostpath-snapclass`.
  static std::vector<json> seed_objects();

  const std::string& root() const { return root_; }

  // A write to `storage_id` ("<group>/<resource>") under `key`: queues what the controllers must look at.
  void note(const std::string& storage_id, const std::string& key);
  // One pass over what was queued; true when it wrote anything.
  bool run();

  // Whether this driver provisions claims of `storage_class`.
  static bool provisions(const json& storage_class);
  // The PV to create for `claim`, or null while its data is being copied or it cannot be provisioned (the reason
  // is reported as a ProvisioningFailed event on the claim; the claim is looked at again when its source changes).
  json provision(const json& claim, const json& storage_class);

 private:
  struct Job {
    std::function<CopyStats()> work;
    bool done = false;
    std::string error;
    CopyStats stats;
    std::string owner_storage_id, owner_key;  // queued again when the job completes
    std::set<std::string> reads;              // directories it reads: not removed meanwhile
    std::string result;                       // the handle it creates
    int64_t started = 0;                      // Unix nanoseconds: a snapshot's creationTime
  };
  void start_job(const std::string& id, Job job);
  std::optional<Job> job(const std::string& id);  // a copy of its state; nullopt when none
  void forget_job(const std::string& id);
  bool volume_busy(const std::string& dir);
  // Removes `dir` on the worker thread (DeleteVolume, DeleteSnapshot). nullopt while that is under way, or while a
  // copy still reads `dir` (`waiting` then gets `owner_key`); else the error, "" when removed.
  std::optional<std::string> remove_dir(const std::string& job_id, const std::string& dir,
                                        const std::string& owner_storage_id, const std::string& owner_key,
                                        std::set<std::string>& waiting);
  void worker_loop();

  bool sync_snapshot(const std::string& key);
  bool sync_content(const std::string& name);
  bool sync_volume(const std::string& name);
  bool sync_pod(const std::string& key);
  bool delete_snapshot(json& snapshot);
  bool report_snapshot_error(json& snapshot, const std::string& message, bool set_ready_false,
                             const std::string& reason);
  bool set_content_status(const json& content, const json& status);
  bool update_snapshot_status(json& snapshot, const json& content);
  std::string default_class_error(const json& snapshot, std::string& class_name);
  void event(const json& object, const std::string& type, const std::string& reason, const std::string& message);
  json source_for_claim(const json& claim, std::string& error);

  std::string root_;
  Cluster cluster_;
  // Guarded by the store lock (controller passes): what the next pass looks at.
  std::set<std::string> snapshots_, contents_, volumes_, pods_;
  bool scanned_ = false;  // the stored objects were queued once (a restart)
  // Claims waiting for a snapshot or a source claim ("<ns>/<name>" of the source → claim keys).
  std::map<std::string, std::set<std::string>> claims_waiting_on_snapshot_, claims_waiting_on_claim_;
  std::map<std::string, std::string> snapshot_of_content_;  // content name → "<ns>/<name>" of its snapshot
  std::map<std::string, std::string> reported_;             // object uid + reason → last event message
  std::map<std::string, std::string> provisioned_handles_;  // claim uid → volume handle while its data is copied
  // Objects whose data a running copy reads: looked at again when a copy completes.
  std::set<std::string> volumes_waiting_, snapshots_waiting_, contents_waiting_;
  std::map<std::string, uint64_t> content_capacity_;  // content name → its source volume's capacity (restoreSize)
  std::string provisioner_identity_;                        // storage.kubernetes.io/csiProvisionerIdentity

  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  std::map<std::string, Job> jobs_;
  std::deque<std::string> queue_;
  std::vector<std::string> completed_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace kubelite::storage
