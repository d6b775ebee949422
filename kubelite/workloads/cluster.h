#pragma once
// What the workload controllers, the scheduler and the kubelets see of the API server: objects by storage id
// ("apps/deployments", "/pods") and store key ("<namespace>/<name>", or "<name>" when cluster-scoped), and a
// feed of the writes. They are clients of the API, as kube-controller-manager and the kubelet are: nothing in
// the API server knows about them.
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace kubelite::workloads {

using json = nlohmann::json;

struct Change {
  const std::string& storage_id;
  const std::string& key;
  const std::string& object_json;  // the stored compact JSON (the last state when deleted)
  bool deleted;
  const json* object = nullptr;  // the same, parsed (without apiVersion/kind), when the writer had it: or null
};

class Cluster {
 public:
  virtual ~Cluster() = default;
  // Every other call happens inside run(), which holds the API server's write lock for `fn` and wakes the
  // watchers of what it wrote afterwards.
  virtual void run(const std::function<void()>& fn) = 0;
  virtual json get(const std::string& storage_id, const std::string& key) = 0;  // null when absent
  // Objects of a collection, of one namespace ("" : all), in key order.
  virtual std::vector<json> list(const std::string& storage_id, const std::string& ns) = 0;
  // The same, parsing only the objects whose stored JSON text `keep` accepts: a controller looking for its own
  // dependents among a namespace's pods skips the others without parsing them (their text lacks its uid).
  virtual std::vector<json> list_if(const std::string& storage_id, const std::string& ns,
                                    const std::function<bool(const std::string& text)>& keep) = 0;
  // Every object of a collection as stored, unparsed: its key and compact JSON (without apiVersion and kind), in
  // key order. What the controllers index at start (every pod of a --data-dir) is read without building trees.
  virtual void scan(const std::string& storage_id,
                    const std::function<void(const std::string& key, const std::string& text)>& fn) = 0;
  // Writes go through the API server's own pipeline (defaults, generation, managedFields, GC bookkeeping) and
  // return the stored object; they throw ApiError.
  virtual json create(const std::string& storage_id, const std::string& ns, json object) = 0;
  virtual json update(const std::string& storage_id, const json& old, json updated) = 0;
  // The status subresource: only `updated`'s status (and managedFields, when set) is read, so a body of
  // {"metadata": {}, "status": ...} does (the controllers do not copy the whole object into it).
  virtual json update_status(const std::string& storage_id, const json& old, json updated) = 0;
  // The pods/binding subresource: `updated` carries spec.nodeName and the PodScheduled condition, stored in one
  // write without a managedFields entry, as kube-apiserver's BindingREST assigns a pod.
  virtual json bind(const json& old, json updated) = 0;
  // Background deletion (dependents go through the garbage collector).
  virtual void remove(const std::string& storage_id, const json& object) = 0;
  // Called with the write lock held, for every write (also the controllers' own): keep it cheap.
  virtual void on_change(std::function<void(const Change&)> observer) = 0;
};

}  // namespace kubelite::workloads
