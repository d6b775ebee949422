#include "controller/runtime.h"

#include <spdlog/spdlog.h>

#include "kube/dynamic.h"
#include "kube/errors.h"

namespace arca::controller {

Controller::Controller(std::string name, kube::Transport& transport, kube::ApiResource resource, std::string ns,
                       ReconcileFn reconcile)
    : name_(std::move(name)), informer_(transport, std::move(resource), std::move(ns)), reconcile_(std::move(reconcile)) {
  auto enqueue = [this](const kube::ObjectPtr& object) { queue_.add(kube::object_key(*object)); };
  informer_.add_handlers({enqueue, [enqueue](const kube::ObjectPtr&, const kube::ObjectPtr& now) { enqueue(now); },
                          enqueue});
}

Controller::~Controller() { stop(); }

void Controller::start() {
  informer_.start();
  if (!informer_.wait_for_sync(std::chrono::seconds(30)))
    throw std::runtime_error(name_ + ": the informer did not sync: " + informer_.last_error());
  worker_ = std::thread([this] { work(); });
}

void Controller::request_stop() {
  queue_.shutdown();
  informer_.request_stop();
}

void Controller::stop() {
  request_stop();
  if (worker_.joinable()) worker_.join();
  informer_.stop();
}

void Controller::work() {
  std::string key;
  while (queue_.get(key)) {
    try {
      auto result = reconcile_(key, informer_.get(key));
      queue_.forget(key);
      if (result.requeue_after.count() > 0) queue_.add_after(key, result.requeue_after);
    } catch (const std::exception& e) {
      spdlog::error("controller={} key={} reconcile failed, retrying: {}", name_, key, e.what());
      queue_.add_rate_limited(key);
    }
    queue_.done(key);
  }
}

nlohmann::json claim_with_update(kube::Transport& transport, const kube::ApiResource& resource, const std::string& ns,
                                 const nlohmann::json& object) {
  kube::DynamicClient client(transport);
  try {
    return client.update(resource, ns, object);
  } catch (const kube::KubeError& e) {
    if (!kube::is_conflict(e)) throw;
    const std::string name = object["metadata"].value("name", "");
    nlohmann::json live = client.get(resource, ns, name);
    if (live.value("status", nlohmann::json()) != object.value("status", nlohmann::json())) throw;
    spdlog::info("{} {}/{}: the answer to its update was lost, and the stored object shows the update applied",
                 resource.resource, ns, name);
    return live;
  }
}

nlohmann::json update_with_retry(kube::Transport& transport, const kube::ApiResource& resource, const std::string& ns,
                                 const std::string& name, const std::function<bool(nlohmann::json&)>& mutate,
                                 const std::string& subresource) {
  kube::DynamicClient client(transport);
  for (int attempt = 0;; ++attempt) {
    auto object = client.get(resource, ns, name);
    if (!mutate(object)) return object;
    try {
      return client.update(resource, ns, object, {}, subresource);
    } catch (const kube::KubeError& e) {
      if (!kube::is_conflict(e) || attempt >= 5) throw;
    }
  }
}

}  // namespace arca::controller
