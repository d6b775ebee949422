#pragma once
// The reconcile runtime: an informer feeds object keys into a work queue; workers call the controller's
// reconcile function with the key; failures come back with backoff, results may ask for a later visit.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "controller/work_queue.h"
#include "kube/informer.h"

namespace arca::controller {

struct ReconcileResult {
  std::chrono::milliseconds requeue_after{0};  // 0: only when the object changes again
};

// `object` is the informer's copy (may lag behind the server; nullptr once deleted).
using ReconcileFn = std::function<ReconcileResult(const std::string& key, const kube::ObjectPtr& object)>;

class Controller {
 public:
  Controller(std::string name, kube::Transport& transport, kube::ApiResource resource, std::string ns,
             ReconcileFn reconcile);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Starts the informer, waits for its first list, then the worker.
  void start();
  // Graceful: the worker finishes the key it is on, then everything stops. request_stop() only asks, so a
  // server stops all its controllers at once rather than one after another.
  void request_stop();
  void stop();
  const std::string& name() const { return name_; }
  // Queues `key` ("namespace/name") now, as a change of its object would.
  void enqueue(const std::string& key) { queue_.add(key); }

 private:
  void work();
  std::string name_;
  kube::Informer informer_;
  WorkQueue queue_;
  ReconcileFn reconcile_;
  std::thread worker_;
};

// GET, change, PUT with the object's resourceVersion; a Conflict (someone wrote in between) re-reads and
// tries again. `mutate` returns false to skip the write. Returns the stored object.
nlohmann::json update_with_retry(kube::Transport& transport, const kube::ApiResource& resource, const std::string& ns,
                                 const std::string& name, const std::function<bool(nlohmann::json&)>& mutate,
                                 const std::string& subresource = "");

// The update that claims an object for this run (a Backup or Restore from New to InProgress), carrying the
// resourceVersion read so that only one of two racing servers wins. When the server applied it but the answer was
// lost, the transport sends it again and that second PUT meets the first as a 409 Conflict; the claim then stayed
// InProgress with nobody running it (the fault suite's seed 606). An object whose stored status is exactly the one
// sent was claimed by this update: its stored version is returned. Any other conflict is thrown.
nlohmann::json claim_with_update(kube::Transport& transport, const kube::ApiResource& resource, const std::string& ns,
                                 const nlohmann::json& object);

// Typed convenience over update_with_retry for velero.io objects.
template <class T>
T update_object(kube::Transport& transport, const kube::ApiResource& resource, const std::string& ns,
                const std::string& name, const std::function<bool(T&)>& mutate, const std::string& subresource = "") {
  auto stored = update_with_retry(
      transport, resource, ns, name,
      [&](nlohmann::json& j) {
        T object = j.template get<T>();
        if (!mutate(object)) return false;
        j = object;
        return true;
      },
      subresource);
  return stored.template get<T>();
}

}  // namespace arca::controller
