#include "kube/informer.h"

#include <spdlog/spdlog.h>

#include "kube/dynamic.h"
#include "kube/errors.h"
#include "kube/transport.h"
#include "kube/watch.h"

namespace arca::kube {
namespace {

constexpr std::chrono::milliseconds kRetryMin{200};
constexpr std::chrono::milliseconds kRetryMax{10000};

}  // namespace

std::string object_key(const nlohmann::json& object) {
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object()) return "";
  const auto& meta = object["metadata"];
  std::string ns = meta.value("namespace", "");
  std::string name = meta.value("name", "");
  return ns.empty() ? name : ns + "/" + name;
}

Informer::Informer(Transport& transport, ApiResource resource, std::string ns, InformerOptions options)
    : transport_(transport), resource_(std::move(resource)), namespace_(std::move(ns)), options_(std::move(options)) {}

Informer::~Informer() { stop(); }

void Informer::add_handlers(InformerHandlers handlers) { handlers_.push_back(std::move(handlers)); }

void Informer::start() {
  stop_ = false;
  watch_thread_ = std::thread([this] { run(); });
  if (options_.resync_period.count() > 0) resync_thread_ = std::thread([this] { resync_loop(); });
}

void Informer::request_stop() {
  {
    std::lock_guard lock(state_mutex_);
    stop_ = true;
  }
  state_changed_.notify_all();
}

void Informer::stop() {
  request_stop();
  if (watch_thread_.joinable()) watch_thread_.join();
  if (resync_thread_.joinable()) resync_thread_.join();
}

bool Informer::wait_for_sync(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_mutex_);
  return state_changed_.wait_for(lock, timeout, [this] { return synced_; });
}

ObjectPtr Informer::get(const std::string& key) const {
  std::shared_lock lock(store_mutex_);
  auto it = store_.find(key);
  return it == store_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Informer::list() const {
  std::shared_lock lock(store_mutex_);
  std::vector<ObjectPtr> out;
  out.reserve(store_.size());
  for (const auto& [key, object] : store_) out.push_back(object);
  return out;
}

size_t Informer::size() const {
  std::shared_lock lock(store_mutex_);
  return store_.size();
}

std::string Informer::last_error() const {
  std::lock_guard lock(state_mutex_);
  return last_error_;
}

bool Informer::sleep_unless_stopped(std::chrono::milliseconds duration) {
  std::unique_lock lock(state_mutex_);
  return !state_changed_.wait_for(lock, duration, [this] { return stop_.load(); });
}

// Lists everything and makes the store equal to it, telling handlers what changed since the last view.
std::string Informer::relist() {
  std::map<std::string, ObjectPtr> fresh;
  ListOptions list_options;
  list_options.label_selector = options_.label_selector;
  list_options.field_selector = options_.field_selector;
  list_options.page_size = options_.page_size;
  DynamicClient client(transport_);
  ListSummary summary = client.list(
      resource_, namespace_, list_options,
      [&](const ListItem& item) {
        auto object = std::make_shared<const nlohmann::json>(item.parse());
        fresh[object_key(*object)] = std::move(object);
      },
      [&] { fresh.clear(); });
  ++lists_;

  std::vector<std::pair<ObjectPtr, ObjectPtr>> changes;  // (old, new); null old = added, null new = deleted
  {
    std::unique_lock lock(store_mutex_);
    for (const auto& [key, object] : fresh) {
      auto it = store_.find(key);
      if (it == store_.end()) {
        changes.emplace_back(nullptr, object);
      } else if (resource_version_of(*it->second) != resource_version_of(*object)) {
        changes.emplace_back(it->second, object);
      }
    }
    for (const auto& [key, object] : store_) {
      if (!fresh.count(key)) changes.emplace_back(object, nullptr);
    }
    store_ = std::move(fresh);
  }
  std::lock_guard dispatch(dispatch_mutex_);
  for (const auto& [old_object, new_object] : changes) {
    for (const auto& h : handlers_) {
      if (!old_object && h.on_add) h.on_add(new_object);
      if (old_object && new_object && h.on_update) h.on_update(old_object, new_object);
      if (!new_object && h.on_delete) h.on_delete(old_object);
    }
  }
  return summary.resource_version;
}

void Informer::apply(const WatchEvent& event) {
  if (event.type == WatchEvent::Type::Bookmark) return;
  auto object = std::make_shared<const nlohmann::json>(event.object);
  std::string key = object_key(*object);
  ObjectPtr old_object;
  {
    std::unique_lock lock(store_mutex_);
    auto it = store_.find(key);
    if (it != store_.end()) old_object = it->second;
    if (event.type == WatchEvent::Type::Deleted) {
      store_.erase(key);
    } else {
      store_[key] = object;
    }
  }
  std::lock_guard dispatch(dispatch_mutex_);
  for (const auto& h : handlers_) {
    if (event.type == WatchEvent::Type::Deleted) {
      if (h.on_delete) h.on_delete(old_object ? old_object : object);
    } else if (old_object) {
      if (h.on_update) h.on_update(old_object, object);
    } else if (h.on_add) {
      h.on_add(object);
    }
  }
}

void Informer::run() {
  auto retry_delay = kRetryMin;
  while (!stop_) {
    try {
      std::string version = relist();
      {
        std::lock_guard lock(state_mutex_);
        synced_ = true;
      }
      state_changed_.notify_all();
      retry_delay = kRetryMin;
      WatchOptions watch_options;
      watch_options.resource_version = version;
      watch_options.label_selector = options_.label_selector;
      watch_options.field_selector = options_.field_selector;
      watch_options.timeout_seconds = options_.watch_timeout_seconds;
      // Returns only when stopped; otherwise throws, and the loop re-lists.
      watch(transport_, resource_, namespace_, watch_options,
            [this](const WatchEvent& event) {
              apply(event);
              return true;
            },
            &stop_);
    } catch (const KubeError& e) {
      {
        std::lock_guard lock(state_mutex_);
        last_error_ = e.what();
      }
      if (is_gone(e)) continue;  // our resourceVersion is too old: re-list at once
      spdlog::warn("informer for {}: {}; retrying in {} ms", resource_.group_resource(), e.what(), retry_delay.count());
      if (!sleep_unless_stopped(retry_delay)) return;
      retry_delay = std::min(kRetryMax, retry_delay * 2);
    }
  }
}

void Informer::resync_loop() {
  while (sleep_unless_stopped(options_.resync_period)) {
    std::vector<ObjectPtr> objects = list();
    std::lock_guard dispatch(dispatch_mutex_);
    for (const auto& object : objects) {
      for (const auto& h : handlers_) {
        if (h.on_update) h.on_update(object, object);
      }
    }
  }
}

}  // namespace arca::kube
