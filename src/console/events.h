#pragma once
// The console's live view: informers on Backups, Restores, Schedules and BackupStorageLocations (their own
// watches, as the metrics server has) turn every change into a summary pushed to the browsers subscribed to
// that kind, over Server-Sent Events. Nothing polls.
#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "kube/informer.h"

namespace arca::controller {
struct ServerContext;
}

namespace arca::console {

// The four kinds the console lists, in the order of `kinds()`: "backup", "restore", "schedule", "location".
const std::vector<std::string>& kinds();
// The velero.io resource of a kind ("backups", ...), for access checks.
std::string resource_of(const std::string& kind);

// One browser's stream: SSE frames waiting to be written.
struct Subscriber {
  std::set<std::string> kinds;  // what this user may list
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<std::string> frames;
  bool closed = false;  // too slow (its queue overflowed) or the server stops: the browser reconnects
};

class EventHub {
 public:
  explicit EventHub(controller::ServerContext& context);
  ~EventHub();  // closes every stream, stops the informers

  // Registers `kinds` and queues a "snapshot" frame of them first, so no change falls between the two.
  std::shared_ptr<Subscriber> subscribe(const std::set<std::string>& kinds);
  void unsubscribe(const std::shared_ptr<Subscriber>& subscriber);
  // Next frames for the stream ("" after `wait` with nothing new: the caller sends a keep-alive); false once
  // the subscriber is closed.
  static bool next(Subscriber& subscriber, std::string& out, std::chrono::milliseconds wait);

  // Ends every open stream now (the server is stopping: no page should hold a thread for its keep-alive wait).
  void close_all();

  // The current object of a kind by name, from the informer (nullptr when absent).
  kube::ObjectPtr get(const std::string& kind, const std::string& name) const;

 private:
  nlohmann::json summary(const std::string& kind, const nlohmann::json& object) const;
  void publish(const std::string& kind, const std::string& type, const nlohmann::json& object);
  kube::Informer& informer(const std::string& kind) const;

  controller::ServerContext& ctx_;
  std::vector<std::unique_ptr<kube::Informer>> informers_;  // in the order of kinds()
  std::mutex mutex_;
  std::vector<std::shared_ptr<Subscriber>> subscribers_;
};

}  // namespace arca::console
