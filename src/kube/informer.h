#pragma once
// An informer: a local, always-converging copy of one collection (list, then watch; re-list after 410
// or errors) with add/update/delete handlers. Controllers read the store instead of the API server.
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "kube/discovery.h"
#include "kube/watch.h"

namespace arca::kube {

class Transport;

using ObjectPtr = std::shared_ptr<const nlohmann::json>;

struct InformerHandlers {
  std::function<void(const ObjectPtr&)> on_add;
  std::function<void(const ObjectPtr& old_object, const ObjectPtr& new_object)> on_update;
  std::function<void(const ObjectPtr&)> on_delete;  // the last state known
};

struct InformerOptions {
  std::string label_selector;
  std::string field_selector;
  // Every period, on_update(obj, obj) for every object, so controllers retry what they could not finish.
  std::chrono::milliseconds resync_period{0};
  int page_size = 500;
  int watch_timeout_seconds = 0;  // 0: client-go's random 5-10 minutes
};

// The store key of an object: "namespace/name", or "name" for cluster-scoped objects.
std::string object_key(const nlohmann::json& object);

class Informer {
 public:
  Informer(Transport& transport, ApiResource resource, std::string ns, InformerOptions options = {});
  ~Informer();  // stops
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void add_handlers(InformerHandlers handlers);  // before start()
  void start();
  // Asks the watch and resync threads to end, without waiting (so many informers stop in parallel).
  void request_stop();
  void stop();  // request_stop(), then waits for the threads
  // True once the first list has filled the store; false on timeout.
  bool wait_for_sync(std::chrono::milliseconds timeout);

  ObjectPtr get(const std::string& key) const;
  std::vector<ObjectPtr> list() const;
  size_t size() const;
  size_t list_count() const { return lists_.load(); }  // 1 + re-lists (after 410 or errors)
  std::string last_error() const;                     // the last failure that forced a re-list

 private:
  void run();
  std::string relist();
  void apply(const WatchEvent& event);
  void resync_loop();
  bool sleep_unless_stopped(std::chrono::milliseconds duration);

  Transport& transport_;
  ApiResource resource_;
  std::string namespace_;
  InformerOptions options_;
  std::vector<InformerHandlers> handlers_;

  mutable std::shared_mutex store_mutex_;
  std::map<std::string, ObjectPtr> store_;
  std::mutex dispatch_mutex_;  // handlers run one at a time, whether from the watch or a resync

  std::atomic<bool> stop_{false};
  std::atomic<size_t> lists_{0};
  mutable std::mutex state_mutex_;
  std::condition_variable state_changed_;
  bool synced_ = false;
  std::string last_error_;
  std::thread watch_thread_, resync_thread_;
};

}  // namespace arca::kube
