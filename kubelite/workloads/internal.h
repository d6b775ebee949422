#pragma once
// Internals shared by the workload files (queue, node list, kubelet state). Not a public interface.
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include "kubelite/objects.h"
#include "kubelite/workloads/workloads.h"

namespace kubelite::workloads {

// What the queue holds: a kind of work and the key it applies to.
enum class Work { Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, ServicesOf, ServiceDeleted, Pod, AllDaemonSets };

// --- helpers (util.cc) ---
std::string random_suffix(size_t n);
// The label hash kube-controller-manager puts on ReplicaSets and revisions: FNV-32a of the template, in the
// "safe" alphabet of k8s.io/apimachinery/pkg/util/rand.SafeEncodeString.
std::string template_hash(const json& tmpl);
json controller_ref(const json& owner);
std::string controller_uid(const json& object);  // the uid of its controller ownerReference, "" when none
bool selector_matches(const json& selector, const json& labels);  // a metav1.LabelSelector
bool is_terminating(const json& object);
bool pod_active(const json& pod);  // not terminating, neither Succeeded nor Failed
bool pod_ready(const json& pod);
int int_or_percent(const json& value, int total, bool round_up, int fallback);
std::string key_of(const json& object);
// An object's stored JSON with only its metadata built (spec, status, a slice's endpoints are skipped).
json parse_metadata(const std::string& text);
// Sets a count in a status, omitting zero as the Go structs' omitempty does.
void put_count(json& status, const char* name, int value);
// Sets condition `type` in `conditions`, keeping lastTransitionTime when the status did not change.
void set_condition(json& conditions, json condition);

// An Event about `object` as the real components record them (core/v1, with the legacy source fields).
void record_event(Workloads::Impl& w, const json& object, const std::string& type, const std::string& reason,
                  const std::string& message, const std::string& component);

// What the controllers read of a pod (pod_index.cc), kept from the change feed: each write of a pod is parsed
// once there (its spec skipped), so that the ReplicaSet, StatefulSet, DaemonSet, Job and Endpoints controllers
// look at their pods without parsing them again on every sync. Acting on a pod (deleting, adopting) reads it whole.
struct PodInfo {
  std::string key, name, uid, controller_uid, created, node, affinity_node, phase, ip;
  json labels = json::object();
  bool ready = false, terminating = false;
  bool active() const { return !terminating && phase != "Succeeded" && phase != "Failed"; }
  std::string label(const char* name) const;  // "" when absent
  // Whether what a controller or the Endpoints controller reads of the pod is the same.
  bool same_for_controllers(const PodInfo& other) const;
};

struct PodRuntime;  // kubelet.cc
class Prober;       // probes.h

struct Workloads::Impl {
  std::unique_ptr<Cluster> cluster;
  std::unique_ptr<ContainerRuntime> runtime;
  Options options;
  std::vector<NodeInfo> nodes;

  std::mutex mu;  // guards the queue and the stop flag
  std::condition_variable cv;
  std::set<std::pair<Work, std::string>> queue;
  bool stopping = false;
  std::atomic<bool> stop_requested{false};  // the same, read without `mu` between the items of a batch
  std::thread loop_thread;
  std::chrono::steady_clock::time_point next_lease_renewal{};

  // Guarded by `mu`: work to queue again at a time (a pod's back-off or running processes, a CronJob's next run).
  std::map<std::pair<Work, std::string>, std::chrono::steady_clock::time_point> timers;
  // The CronJob controller's clock: wall time at start, advancing options.cron_speed times as fast.
  int64_t cron_epoch_wall = 0;
  std::chrono::steady_clock::time_point cron_epoch_steady{};
  // Guarded by `mu`: pods held in ContainerCreating by a claim that is not Bound, by claim key; the claim's next
  // write wakes them (polling each such pod every second kept a --load of unbound StatefulSet claims busy).
  std::map<std::string, std::set<std::string>> claim_waiters;
  // Kubelet state by pod key; touched only by the loop thread (inside Cluster::run), and find_container under
  // `pods_mu`.
  std::mutex pods_mu;
  std::map<std::string, std::shared_ptr<PodRuntime>> pods;
  // Scheduler: pods bound per node (rebuilt when stale).
  std::map<std::string, int> node_load;
  std::chrono::steady_clock::time_point node_load_built{};
  // The Node objects the scheduler matches pods against, parsed once per change of /nodes (the change feed
  // clears it) instead of once per binding.
  std::optional<std::vector<json>> node_objects;
  uint32_t next_pod_ip = 0;
  bool seeding = false;  // settle() of a --load: no Events recorded
  // Guarded by the API's write lock (the change feed and the controllers both run under it): pods by store key,
  // and their keys by the uid of their controller.
  std::map<std::string, PodInfo> pod_index;
  std::unordered_map<std::string, std::set<std::string>> pods_by_controller;
  std::set<std::string> orphan_pods;  // the keys of pods without a controller (a ReplicaSet may adopt them)
  // Guarded by the same lock: the keys of the objects a controller owns (ReplicaSets of Deployments, Jobs of
  // CronJobs, ControllerRevisions of StatefulSets and DaemonSets, EndpointSlices of Services), by collection and
  // by the uid of their controller ownerReference, kept from the change feed. Scanning a namespace's objects for
  // the owner's uid on every sync made a --load quadratic in the objects per namespace.
  struct OwnedIndex {
    std::unordered_map<std::string, std::set<std::string>> keys_by_uid;
    std::unordered_map<std::string, std::string> uid_by_key;
  };
  std::map<std::string, OwnedIndex> owned_index;
  // Guarded by the same lock: by Service key, a hash of what its Endpoints and EndpointSlice were last written
  // from (sync_services); any write of either (or of the Service) clears it.
  std::unordered_map<std::string, size_t> endpoints_synced;
  // A pod key whose writes by the scheduler or its kubelet do not queue that pod again (they just synced it).
  std::string writing_pod;
  // The object a controller is syncing (reconcile): its own writes of it do not queue it again.
  Work syncing_work = Work::Deployment;
  std::string syncing_key;
  std::unique_ptr<Prober> prober;  // runs the kubelets' probes off the loop thread

  void enqueue(Work w, const std::string& key);
  void observe(const Change& c);
  void loop();
  // Reconciles up to 64 queued keys under one lock hold; false when nothing was queued.
  bool run_batch();
  void reconcile(Work w, const std::string& key);
  void reconcile_logged(Work w, const std::string& key);  // errors logged (or, for conflicts, left to the next change)
  // Works the queue until it is empty (or `stop`), bottom-up: settle() of a --load.
  void run_seeding(const std::atomic<bool>& stop);

  // pod_index.cc
  // Indexes a pod's write; `summary` points to the pod as written (Change::object) or to what was parsed of it
  // into `scratch` (metadata, status, no spec). Returns whether anything a controller reads changed (always for
  // a new or deleted pod).
  bool index_pod(const Change& c, json& scratch, const json*& summary);
  void rebuild_pod_index();
  std::vector<PodInfo> pods_of_controller(const std::string& uid);
  std::vector<PodInfo> pods_in_namespace(const std::string& ns, const std::function<bool(const PodInfo&)>& keep);
  std::vector<PodInfo> orphan_pods_in(const std::string& ns);  // pods of `ns` without a controller
  // The owned-object index (owned_index): whether `storage_id` is indexed; a write of one of its objects; the
  // objects whose controller has `uid`, parsed, in key order (as a list of the namespace would have them).
  static bool owned_indexed(const std::string& storage_id);
  void index_owned(const std::string& storage_id, const std::string& key, const std::string& controller_uid, bool deleted);
  void rebuild_owned_index();
  std::vector<json> owned_by(const std::string& storage_id, const std::string& uid);
  json read_pod(const PodInfo& p);  // the whole stored pod, null when gone
  // nodes.cc
  void register_nodes();
  void renew_leases();
  // scheduler.cc
  bool schedule(json& pod);  // false when no node fits; else `pod` becomes the bound pod as stored
  // controllers.cc
  void sync_deployment(const std::string& key);
  void sync_replicaset(const std::string& key);
  // stateful.cc
  void sync_statefulset(const std::string& key);
  void sync_daemonset(const std::string& key);
  // revisions.cc: the ControllerRevision of `tmpl` (<owner>-<hash>), created or renumbered as the newest; the
  // history beyond revisionHistoryLimit goes, except revisions named in `in_use`. Returns its name.
  std::string sync_revisions(const json& owner, const json& tmpl, const std::string& hash,
                             const std::set<std::string>& in_use);
  // jobs_endpoints.cc
  void sync_job(const std::string& key);
  // cronjobs.cc
  void sync_cronjob(const std::string& key);
  int64_t cron_now();  // seconds since the epoch on the CronJob controller's clock
  void sync_services(const std::string& ns);
  // kubelet.cc
  void sync_pod(const std::string& key, json pod);  // `pod`: as stored under `key` (null when absent)
  void stop_all_pods();
  std::map<std::string, int> pods_per_node();  // the pods the kubelets run, by node
};

}  // namespace kubelite::workloads
