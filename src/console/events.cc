#include "console/events.h"

#include <algorithm>
#include <stdexcept>

#include "console/model.h"
#include "controller/context.h"

namespace arca::console {

using json = nlohmann::json;

namespace {
// A browser that falls this far behind is dropped; EventSource reconnects and starts from a fresh snapshot.
constexpr size_t kMaxQueuedFrames = 20000;

std::string frame(const std::string& event, const json& data) {
  return "event: " + event + "\ndata: " + data.dump() + "\n\n";
}
}  // namespace

const std::vector<std::string>& kinds() {
  static const std::vector<std::string> all = {"backup", "restore", "schedule", "location"};
  return all;
}

std::string resource_of(const std::string& kind) {
  if (kind == "backup") return "backups";
  if (kind == "restore") return "restores";
  if (kind == "schedule") return "schedules";
  if (kind == "location") return "backupstoragelocations";
  throw std::invalid_argument("unknown kind " + kind);
}

EventHub::EventHub(controller::ServerContext& ctx) : ctx_(ctx) {
  const std::string& ns = ctx.settings.namespace_name;
  for (const auto& kind : kinds()) {
    kube::ApiResource resource = kind == "backup"     ? ctx.backups
                                 : kind == "location" ? ctx.locations
                                                      : ctx.discovery.lookup("velero.io", "v1", resource_of(kind));
    auto informer = std::make_unique<kube::Informer>(ctx.transport, resource, ns);
    informer->add_handlers({[this, kind](const kube::ObjectPtr& o) { publish(kind, "upsert", *o); },
                            [this, kind](const kube::ObjectPtr&, const kube::ObjectPtr& o) { publish(kind, "upsert", *o); },
                            [this, kind](const kube::ObjectPtr& o) { publish(kind, "delete", *o); }});
    informers_.push_back(std::move(informer));
  }
  for (auto& informer : informers_) informer->start();
  for (auto& informer : informers_) informer->wait_for_sync(std::chrono::seconds(10));
}

void EventHub::close_all() {
  std::lock_guard lock(mutex_);
  for (auto& s : subscribers_) {
    std::lock_guard sub(s->mutex);
    s->closed = true;
    s->ready.notify_all();
  }
}

EventHub::~EventHub() {
  close_all();
  for (auto& informer : informers_) informer->request_stop();
  for (auto& informer : informers_) informer->stop();
}

kube::Informer& EventHub::informer(const std::string& kind) const {
  auto it = std::find(kinds().begin(), kinds().end(), kind);
  if (it == kinds().end()) throw std::invalid_argument("unknown kind " + kind);
  return *informers_[size_t(it - kinds().begin())];
}

kube::ObjectPtr EventHub::get(const std::string& kind, const std::string& name) const {
  return informer(kind).get(ctx_.settings.namespace_name + "/" + name);
}

json EventHub::summary(const std::string& kind, const json& object) const {
  if (kind == "backup") return backup_summary(object);
  if (kind == "restore") return restore_summary(object);
  if (kind == "schedule") return schedule_summary(object, ctx_.clock.now());
  return location_summary(object);
}

void EventHub::publish(const std::string& kind, const std::string& type, const json& object) {
  json data = {{"kind", kind}, {"type", type}, {"object", summary(kind, object)}};
  std::string text = frame("change", data);
  std::lock_guard lock(mutex_);
  for (auto& s : subscribers_) {
    if (!s->kinds.count(kind)) continue;
    std::lock_guard sub(s->mutex);
    if (s->closed) continue;
    if (s->frames.size() >= kMaxQueuedFrames) s->closed = true;
    else s->frames.push_back(text);
    s->ready.notify_all();
  }
}

std::shared_ptr<Subscriber> EventHub::subscribe(const std::set<std::string>& allowed) {
  auto s = std::make_shared<Subscriber>();
  s->kinds = allowed;
  {
    std::lock_guard lock(mutex_);
    subscribers_.push_back(s);
  }
  // Taken after registering: a change racing with it is applied twice (an idempotent upsert), never lost.
  json snapshot = json::object();
  for (const auto& kind : kinds()) {
    if (!allowed.count(kind)) continue;
    json items = json::array();
    for (const auto& object : informer(kind).list()) items.push_back(summary(kind, *object));
    snapshot[kind] = std::move(items);
  }
  std::lock_guard sub(s->mutex);
  s->frames.push_front(frame("snapshot", snapshot));
  return s;
}

void EventHub::unsubscribe(const std::shared_ptr<Subscriber>& s) {
  std::lock_guard lock(mutex_);
  std::erase(subscribers_, s);
}

bool EventHub::next(Subscriber& s, std::string& out, std::chrono::milliseconds wait) {
  std::unique_lock lock(s.mutex);
  s.ready.wait_for(lock, wait, [&] { return s.closed || !s.frames.empty(); });
  if (s.closed) return false;
  // Several frames per write: a burst of changes (a restore's progress, 1,000 backups synced) costs few writes.
  while (!s.frames.empty() && out.size() < (1 << 20)) {
    out += s.frames.front();
    s.frames.pop_front();
  }
  return true;
}

}  // namespace arca::console
