#pragma once
// Internals of Api shared by the request handlers (api.cc, api_reads.cc, api_writes.cc) and the
// background controllers (controllers.cc). Not a public interface.
#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <thread>

#include "kubelite/api.h"
#include "kubelite/builtins.h"
#include "kubelite/objects.h"
#include "kubelite/storage/csi_hostpath.h"

namespace kubelite {

using json = nlohmann::json;

// A request's target: resource, namespace, name, subresource (each may be empty).
struct Target {
  ResourcePtr r;
  std::string ns, name, sub;
  std::string key() const { return r->namespaced ? ns + "/" + name : name; }
};

struct WriteOptions {
  std::string manager;      // fieldManager, or derived from the User-Agent
  bool dry_run = false;
  bool managed_fields_done = false;  // server-side apply already computed managedFields
  std::string subresource;           // "status" for status writes, "binding" for the scheduler's (spec and status)
  std::string field_validation = "Warn";          // Ignore | Warn | Strict (unknown fields of custom resources)
  std::vector<std::string>* warnings = nullptr;   // Warning headers for the response
  ObjectPtr* stored = nullptr;  // receives what the write stored, whose compact JSON the response reuses
};

struct DeleteOptions {
  std::string propagation;  // "", Orphan, Background, Foreground
  std::string precondition_uid, precondition_rv;
  bool dry_run = false;
};

// Consistent list pages: the first page's matching objects are kept so that continue tokens read the same
// snapshot (k8s.io/apiserver's handlers); evicted snapshots answer 410 Expired.
struct ListSnapshot {
  std::string scope;  // resource + namespace + selectors the token is valid for
  uint64_t rv;
  std::vector<ObjectPtr> items;
  std::chrono::steady_clock::time_point created;
};

struct Api::Impl {
  Impl(ApiOptions& options, Registry& registry, Store& store) : options(options), registry(registry), store(store) {}
  ~Impl();

  ApiOptions& options;
  Registry& registry;
  Store& store;

  // --- api.cc: routing ---
  ApiResponse route(const ApiRequest& req);
  void authorize(const UserInfo& user, const std::string& verb, const Target& t);  // ApiError 403 when RBAC says no
  Target parse_target(const std::vector<std::string>& segments, size_t start, const std::string& group,
                      const std::string& version);
  void seed();  // namespaces and the kubernetes Service of a fresh cluster

  // --- api_reads.cc ---
  ApiResponse get(const Target& t, const ApiRequest& req);
  ApiResponse list(const Target& t, const ApiRequest& req);
  ApiResponse watch(const Target& t, const ApiRequest& req);
  std::mutex snapshots_mu;
  std::list<ListSnapshot> snapshots;  // most recent first

  // --- api_writes.cc ---
  // The write handlers take the store lock exclusively for the read-modify-write alone (bodies are decoded and
  // responses serialized outside it); the pipeline below them expects it held.
  ApiResponse create(const Target& t, const ApiRequest& req);
  ApiResponse create_subresource(const Target& t, const ApiRequest& req);  // eviction, binding, token
  ApiResponse update(const Target& t, const ApiRequest& req);
  ApiResponse patch(const Target& t, const ApiRequest& req);
  ApiResponse update_unwarned(const Target& t, const ApiRequest& req, std::vector<std::string>& warnings);
  ApiResponse patch_unwarned(const Target& t, const ApiRequest& req, std::vector<std::string>& warnings);
  ApiResponse remove(const Target& t, const ApiRequest& req);
  ApiResponse remove_collection(const Target& t, const ApiRequest& req);

  // The shared write pipeline. `object` carries apiVersion/kind or not; results are full objects.
  json create_object(const ResourceInfo& r, const std::string& ns, json object, const WriteOptions& w);
  json update_object(const ResourceInfo& r, const json& old, json updated, const WriteOptions& w);
  // Returns the object's last state (200 body) and whether it is gone.
  json delete_object(const ResourceInfo& r, const json& old, const DeleteOptions& d, bool& gone);
  // Assigns resourceVersion and stores; `stored_out` receives the stored object.
  json commit(const ResourceInfo& r, json object, ObjectPtr* stored_out = nullptr);
  // Writes `object` (the stored state) with its managedFields replaced by `entries`, what
  // managed_fields_to_store made of a request's; nothing is written when `entries` is null or equals them.
  json replace_managed_fields(const ResourceInfo& r, json object, json entries, const WriteOptions& w);
  // The same on the stored text (`entries_text`: entries.dump()), nothing parsed: returns `current` when nothing
  // changes, the stored object when written, null when the text cannot take it (replace_managed_fields then).
  ObjectPtr splice_managed_fields(const ResourceInfo& r, const ObjectPtr& current, const json& entries,
                                  const std::string& entries_text);
  void note_service_allocations_unchanged(const ResourceInfo& r);
  // Stores `text` (compact JSON whose metadata.resourceVersion is `rv`) under `key`.
  // `parsed`: the same object parsed (without apiVersion/kind) when the writer has it, for the change feed.
  ObjectPtr store_text(const ResourceInfo& r, std::string key, std::string text, uint64_t rv,
                       const json* parsed = nullptr);
  // Prunes a custom resource's unknown fields per fieldValidation (Strict: 400, Warn: Warning header).
  void enforce_schema(const ResourceInfo& r, json& object, const WriteOptions& w);
  void erase(const ResourceInfo& r, const json& last_state);
  // Flags the controllers that care about this resource (`o`: what was stored, or the last state removed).
  void note_change(const ResourceInfo& r, const StoredObject& o);
  PodStreams* pod_streams = nullptr;
  // Told of every stored write and removal with the lock held (the workload controllers' change feed).
  // `parsed`: the object's JSON without apiVersion/kind when the write had it parsed, else null.
  std::function<void(const std::string& storage_id, const StoredObject& object, bool deleted, const json* parsed)>
      write_observer;
  json read(const ResourceInfo& r, const std::string& key) const;  // null when absent
  ClusterState cluster_state();
  // Cluster IPs and node ports in use, derived from /services. Rebuilt only when /services changed other than
  // by a create that already recorded itself here, so bulk creates stay linear.
  struct ServiceAllocations {
    uint64_t writes_seen = UINT64_MAX;
    std::set<std::string> ips;
    std::set<int> ports;
    uint32_t last_ip = 0;  // where the next free-IP search starts
  } service_allocations;
  ServiceAllocations& current_service_allocations();
  static void add_service_allocations(ServiceAllocations& a, const json& svc);
  void register_crd(const json& crd);

  // --- csi_wiring.cc: the CSI host-path driver and its controllers (kubelite/storage/), when options.csi_root ---
  std::unique_ptr<storage::CsiHostPath> csi;
  void start_storage();

  // --- controllers.cc ---
  void start_controllers();
  void controller_loop();
  // One pass of every controller with the store lock held exclusively; true when any of them wrote.
  bool run_controllers_once();
  void wake_controllers() {
    controllers_dirty = true;
    controllers_cv.notify_all();
  }
  bool run_namespace_cleanup();
  bool report_namespace_content(const ResourceInfo& namespaces, const json& ns_object);
  bool run_garbage_collection();
  bool collect_orphaned_dependents(const std::vector<ResourcePtr>& resources);
  bool run_crd_cleanup();
  bool run_volume_binding();
  std::thread controller_thread;
  std::mutex controllers_mu;
  std::condition_variable controllers_cv;
  std::atomic<bool> controllers_dirty{false};
  std::atomic<bool> stopping{false};
  // While settle_controllers() runs: the signal that ends it (a controller pass stops early); else null.
  const std::atomic<bool>* interrupt = nullptr;
  bool interrupted() const { return interrupt && *interrupt; }
  // Guarded by the store lock: uids of removed objects whose dependents the garbage collector must delete.
  std::set<std::string> gc_deleted_uids;
  // Guarded by the store lock: owners being deleted with a foregroundDeletion or orphan finalizer.
  std::set<std::pair<std::string, std::string>> gc_owners;  // (storage id, key)
  bool gc_owners_scanned = false;
  // Guarded by the store lock: objects written with ownerReferences, whose owners the collector checks.
  std::set<std::pair<std::string, std::string>> gc_dependents_to_verify;
  // Guarded by the store lock: (storage id, key) of the objects whose ownerReferences name a uid, by that uid,
  // kept by every write (store_text, erase) once built from the whole store (on first use, which also covers a
  // --data-dir's replayed objects). An entry may outlive the reference it was made for: the collector reads the
  // object's references again. Scanning every object of the store for each pass with a deletion made a settle
  // with CronJobs trimming their Jobs quadratic.
  std::unordered_map<std::string, std::set<std::pair<std::string, std::string>>> gc_dependents;
  bool gc_dependents_built = false;
  // A write changed an object's ownerReferences from `before` to `after` (nullopt: none, or removed).
  void index_dependents(const std::string& storage_id, const std::string& key, std::optional<std::string_view> before,
                        std::optional<std::string_view> after);
  std::atomic<bool> volumes_dirty{true};    // a PV, PVC or StorageClass changed
  // Guarded by the store lock: what the volume binding controller works from, so that a pass reads only the
  // claims and volumes written since the last one (a restore creates tens of thousands of claims; re-reading
  // them all on every pass made each create cost O(#claims)).
  struct VolumeBinding {
    bool scanned = false;  // the stored ones (a --data-dir restart, --load) were queued once
    std::set<std::string> claims_to_check, volumes_to_check;  // store keys written since the last pass
    // Available volumes by storageClassName, with what matching a claim needs.
    struct Available {
      double capacity = 0;
      std::string prebound_claim;  // "<ns>/<name>" of spec.claimRef, "" when none
    };
    std::map<std::string, std::map<std::string, Available>> available;
    std::map<std::string, std::string> available_class;  // volume name -> its key in `available`
    // Pending claims that found no volume, by what would let them bind: "class:<name>" (a volume or a
    // StorageClass of that name) or "volume:<name>" (the volume their spec.volumeName names).
    std::map<std::string, std::map<std::string, double>> waiting;  // wait key -> claim key -> requested bytes
    std::map<std::string, std::string> waiting_on;                  // claim key -> wait key
    // Volumes whose spec.claimRef carries a uid, by the claim they name: that claim's deletion releases them.
    std::map<std::string, std::set<std::string>> volumes_of_claim;
    std::map<std::string, std::string> claim_of_volume;
  } volume_binding;
  // Claims and volumes the volume binding controller has read from the store since the start (/metrics).
  std::atomic<uint64_t> volume_objects_examined{0};
  std::map<std::string, std::chrono::steady_clock::time_point> namespaces_terminating_since;
  // Guarded by the store lock: store.writes() of the CRDs at the cleanup's last scan, and whether it found any
  // being deleted.
  uint64_t crds_writes_scanned = UINT64_MAX;
  bool crds_deleting = false;
  uint64_t namespaces_writes_scanned = UINT64_MAX;  // store.writes("/namespaces") at the last scan for Terminating
};

// The text of metadata.ownerReferences in stored compact JSON (the whole text when it mentions ownerReferences
// elsewhere only), nullopt when there are none.
std::optional<std::string_view> owner_references_text(const std::string& text);
// The uids named in an ownerReferences text (owner_references_text), as the collector matches them.
std::vector<std::string> owner_uids(std::string_view refs);
// "{"apiVersion":...,"kind":...,<stored fields>}" — stored objects omit both, the serving version adds them.
std::string serialize_with_kind(const ResourceInfo& r, const std::string& stored_json);
std::string manager_from(const ApiRequest& req);
// A response whose body is `body` serialized.
ApiResponse json_response(int status, const nlohmann::json& body);
// A query parameter's value, "" when absent.
std::string query(const ApiRequest& req, const std::string& name);
// Field selectors a resource accepts: the built-in lists, or a CRD version's selectableFields.
std::vector<std::string> field_selectors_of(const ResourceInfo& r);

}  // namespace kubelite
