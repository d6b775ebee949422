// The work queue and its loop: the change feed queues what a write concerns (the object, its controller, the
// Services of its namespace), and one thread reconciles queued keys in batches under the API's write lock.
#include <iostream>

#include "kubelite/semantics/errors.h"
#include "kubelite/workloads/internal.h"
#include "kubelite/workloads/probes.h"

namespace kubelite::workloads {

namespace {

const std::chrono::seconds kLeaseRenewal(10);  // the kubelet's default: a quarter of the 40 s lease

std::optional<Work> owner_work(const std::string& kind) {
  if (kind == "Deployment") return Work::Deployment;
  if (kind == "ReplicaSet") return Work::ReplicaSet;
  if (kind == "StatefulSet") return Work::StatefulSet;
  if (kind == "DaemonSet") return Work::DaemonSet;
  if (kind == "Job") return Work::Job;
  if (kind == "CronJob") return Work::CronJob;
  return std::nullopt;
}

}  // namespace

Workloads::Workloads(std::unique_ptr<Cluster> cluster, std::unique_ptr<ContainerRuntime> runtime, Options options)
    : impl_(std::make_unique<Impl>()) {
  impl_->cluster = std::move(cluster);
  impl_->runtime = std::move(runtime);
  impl_->options = std::move(options);
  impl_->cron_epoch_wall = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
  impl_->cron_epoch_steady = std::chrono::steady_clock::now();
  impl_->prober = std::make_unique<Prober>(2);
  Impl* w = impl_.get();
  if (impl_->options.enabled) impl_->cluster->on_change([w](const Change& c) { w->observe(c); });
}

Workloads::~Workloads() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    impl_->stop_requested = true;
  }
  impl_->cv.notify_all();
  if (impl_->loop_thread.joinable()) impl_->loop_thread.join();
  if (impl_->options.enabled) impl_->cluster->on_change([](const Change&) {});
  impl_->prober.reset();  // probes under way end (each within its timeoutSeconds) before the containers go
  impl_->stop_all_pods();
}

void Workloads::start() {
  Impl& w = *impl_;
  if (!w.options.enabled) return;
  w.cluster->run([&] {
    w.rebuild_pod_index();
    w.rebuild_owned_index();
    w.register_nodes();
    for (const auto& [sid, work] : std::vector<std::pair<const char*, Work>>{{"apps/deployments", Work::Deployment},
                                                                           {"apps/replicasets", Work::ReplicaSet},
                                                                           {"apps/statefulsets", Work::StatefulSet},
                                                                           {"apps/daemonsets", Work::DaemonSet},
                                                                           {"batch/jobs", Work::Job},
                                                                           {"batch/cronjobs", Work::CronJob},
                                                                           {"/pods", Work::Pod}})
      w.cluster->scan(sid, [&](const std::string& key, const std::string&) { w.enqueue(work, key); });
    std::set<std::string> namespaces;
    w.cluster->scan("/services", [&](const std::string& key, const std::string&) {
      namespaces.insert(key.substr(0, key.find('/')));
    });
    for (const auto& ns : namespaces) w.enqueue(Work::ServicesOf, ns);
  });
  w.next_lease_renewal = std::chrono::steady_clock::now() + kLeaseRenewal;
}

void Workloads::settle(const std::atomic<bool>& stop) {
  // Loaded objects stand for a cluster that exists already: no Events about how their pods came to be (a
  // real cluster's expire after an hour, kube-apiserver's --event-ttl), which were a third of the writes.
  impl_->seeding = true;
  impl_->run_seeding(stop);
  impl_->seeding = false;
}

void Workloads::Impl::run_seeding(const std::atomic<bool>& stop) {
  // Before serving, nobody waits for the lock: one hold for all of it. The queue is worked from the bottom up,
  // what the last write queued at the lowest level first (pods, then their ReplicaSet, then its Deployment,
  // Endpoints last), so that an owner looks at its dependents once they have settled instead of at every step:
  // in queue order (Deployments first, all that was queued per pass), each Deployment's status was written four
  // times on the way and each namespace's Endpoints synced eleven times.
  static const Work kBottomUp[] = {Work::Pod,        Work::ReplicaSet,    Work::Job,           Work::StatefulSet,
                                   Work::DaemonSet,  Work::Deployment,    Work::CronJob,       Work::AllDaemonSets,
                                   Work::ServicesOf, Work::ServiceDeleted};
  cluster->run([&] {
    while (!stop) {
      std::pair<Work, std::string> item;
      {
        std::lock_guard lock(mu);
        auto it = queue.end();
        for (Work w : kBottomUp)
          if (auto first = queue.lower_bound({w, ""}); first != queue.end() && first->first == w) {
            it = first;
            break;
          }
        if (it == queue.end()) return;
        item = queue.extract(it).value();
      }
      reconcile_logged(item.first, item.second);
    }
  });
}

bool Workloads::idle() {
  std::lock_guard lock(impl_->mu);
  return impl_->queue.empty();
}

void Workloads::start_loop() {
  if (!impl_->options.enabled) return;
  impl_->loop_thread = std::thread([this] { impl_->loop(); });
}

const std::vector<NodeInfo>& Workloads::nodes() const { return impl_->nodes; }
ContainerRuntime& Workloads::runtime() { return *impl_->runtime; }

void Workloads::Impl::enqueue(Work w, const std::string& key) {
  {
    std::lock_guard lock(mu);
    queue.insert({w, key});
  }
  cv.notify_all();
}

void Workloads::Impl::observe(const Change& c) {
  const std::string& sid = c.storage_id;
  std::string ns = c.key.substr(0, c.key.find('/'));
  auto owners_in = [&](const json& o) {
    for (const auto& ref : array_at(object_at(o, "metadata"), "ownerReferences"))
      if (auto work = owner_work(ref.value("kind", ""))) enqueue(*work, ns + "/" + ref.value("name", ""));
  };
  // Owned collections: the owned-object index learns the object's controller, and (for ReplicaSets and Jobs)
  // its owners look again.
  if (owned_indexed(sid)) {
    json scratch;
    const json* object = c.object;
    if (!object && c.object_json.find("\"ownerReferences\"") != std::string::npos) {
      scratch = parse_metadata(c.object_json);
      object = &scratch;
    }
    index_owned(sid, c.key, object ? controller_uid(*object) : "", c.deleted);
    if (object && sid == "discovery.k8s.io/endpointslices")
      endpoints_synced.erase(ns + "/" + object_at(object_at(*object, "metadata"), "labels")
                                            .value("kubernetes.io/service-name", ""));
    if (object && (sid == "apps/replicasets" || sid == "batch/jobs")) owners_in(*object);
  }
  // A controller's write of the object it is syncing (its status, at the end of the sync) does not queue that
  // object again: the next sync would find what this one just wrote (a third of the syncs of a --load).
  auto self = [&](Work w) {
    if (c.deleted || syncing_key != c.key || syncing_work != w) enqueue(w, c.key);
  };
  if (sid == "apps/deployments") self(Work::Deployment);
  else if (sid == "apps/replicasets") self(Work::ReplicaSet);
  else if (sid == "apps/statefulsets") self(Work::StatefulSet);
  else if (sid == "apps/daemonsets") self(Work::DaemonSet);
  else if (sid == "batch/jobs") self(Work::Job);
  else if (sid == "batch/cronjobs") self(Work::CronJob);
  else if (sid == "/pods") {
    json scratch;
    const json* summary = nullptr;
    bool changed = index_pod(c, scratch, summary);
    // The scheduler's and the kubelet's own writes of the pod they just synced do not sync it again.
    if (c.key != writing_pod || c.deleted) enqueue(Work::Pod, c.key);
    // Its controller and the Endpoints of its namespace look again only when what they read of it changed.
    if (changed) {
      enqueue(Work::ServicesOf, ns);
      owners_in(*summary);
    }
  } else if (sid == "/services" || sid == "/endpoints") {
    endpoints_synced.erase(c.key);
    if (sid == "/endpoints") return;
    enqueue(Work::ServicesOf, ns);
    if (c.deleted) enqueue(Work::ServiceDeleted, c.key);
  }
  else if (sid == "/persistentvolumeclaims") {
    std::lock_guard lock(mu);
    if (auto it = claim_waiters.find(c.key); it != claim_waiters.end()) {
      for (const auto& pod : it->second) queue.insert({Work::Pod, pod});
      claim_waiters.erase(it);
      cv.notify_all();
    }
  } else if (sid == "/nodes") {
    node_objects.reset();
    std::lock_guard lock(mu);
    if (!queue.count({Work::AllDaemonSets, ""})) queue.insert({Work::AllDaemonSets, ""});
  }
}

bool Workloads::Impl::run_batch() {
  std::vector<std::pair<Work, std::string>> batch;
  {
    std::lock_guard lock(mu);
    // A small batch per lock hold, so that client requests do not wait behind a long catch-up.
    while (!queue.empty() && batch.size() < 64) batch.push_back(queue.extract(queue.begin()).value());
  }
  if (batch.empty()) return false;
  cluster->run([&] {
    // Stopping ends the batch at the next item: kubelite exits promptly on SIGTERM with work queued.
    for (const auto& [work, key] : batch) {
      if (stop_requested) return;
      reconcile_logged(work, key);
    }
  });
  return true;
}

void Workloads::Impl::reconcile_logged(Work w, const std::string& key) {
  try {
    reconcile(w, key);
  } catch (const ApiError& e) {
    // A conflict or a refused write: the object's next change (or the write that raced us) queues it again.
    if (e.code != 409 && e.code != 404) std::cerr << "kubelite: workloads: " << key << ": " << e.what() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "kubelite: workloads: " << key << ": " << e.what() << std::endl;
  }
}

void Workloads::Impl::reconcile(Work w, const std::string& key) {
  struct Syncing {
    std::string& slot;
    ~Syncing() { slot.clear(); }
  } syncing{syncing_key};
  syncing_key = key;
  syncing_work = w;
  switch (w) {
    case Work::Deployment: return sync_deployment(key);
    case Work::ReplicaSet: return sync_replicaset(key);
    case Work::StatefulSet: return sync_statefulset(key);
    case Work::DaemonSet: return sync_daemonset(key);
    case Work::Job: return sync_job(key);
    case Work::CronJob: return sync_cronjob(key);
    case Work::ServicesOf: return sync_services(key);
    case Work::ServiceDeleted:
      // The Endpoints controller removes a deleted Service's Endpoints (and only then: restores create Endpoints
      // before their Services).
      if (cluster->get("/services", key).is_null())
        if (json ep = cluster->get("/endpoints", key); !ep.is_null()) cluster->remove("/endpoints", ep);
      return;
    case Work::Pod: {
      // The pod's own writes below do not queue it again: a pod the scheduler binds goes straight to its
      // kubelet, and what the kubelet writes is what it just computed.
      struct Writing {
        std::string& slot;
        ~Writing() { slot.clear(); }
      } writing{writing_pod};
      writing_pod = key;
      json pod = cluster->get("/pods", key);
      if (!pod.is_null() && pod["spec"].value("nodeName", "").empty() && !is_terminating(pod)) {
        if (!schedule(pod)) return;
      }
      return sync_pod(key, std::move(pod));
    }
    case Work::AllDaemonSets:
      for (const json& ds : cluster->list("apps/daemonsets", "")) sync_daemonset(key_of(ds));
      return;
  }
}

void Workloads::Impl::loop() {
  using Clock = std::chrono::steady_clock;
  while (true) {
    {
      std::unique_lock lock(mu);
      Clock::time_point wake = next_lease_renewal;
      for (const auto& [work, at] : timers) wake = std::min(wake, at);
      cv.wait_until(lock, wake, [&] { return stopping || !queue.empty(); });
      if (stopping) return;
      Clock::time_point now = Clock::now();
      for (auto it = timers.begin(); it != timers.end();) {
        if (it->second <= now) {
          queue.insert(it->first);
          it = timers.erase(it);
        } else {
          ++it;
        }
      }
    }
    if (Clock::now() >= next_lease_renewal) {
      next_lease_renewal = Clock::now() + kLeaseRenewal;
      try {
        cluster->run([&] { renew_leases(); });
      } catch (const std::exception& e) {
        std::cerr << "kubelite: node leases: " << e.what() << std::endl;
      }
    }
    while (run_batch()) {
      std::lock_guard lock(mu);
      if (stopping) return;
    }
  }
}

}  // namespace kubelite::workloads
