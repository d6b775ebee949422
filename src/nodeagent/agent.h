#pragma once
// The node agent's shared state (src/nodeagent/node_agent.cc builds it): the cluster's resources, this node, and the
// data transfers running on it, bounded by loadConcurrency across PodVolumeBackups/Restores and DataUploads/Downloads
// alike (Velero's node agent shares one data path manager among its controllers).
#include <spdlog/spdlog.h>

#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/types.h"
#include "controller/metrics.h"
#include "controller/repositories.h"
#include "controller/runtime.h"
#include "kube/dynamic.h"
#include "kube/transport.h"
#include "nodeagent/node_agent.h"
#include "nodeagent/repository_pool.h"
#include "nodeagent/slots.h"
#include "repo/repository.h"
#include "util/timestamp.h"

namespace arca::nodeagent {

using nlohmann::json;
namespace fs = std::filesystem;

inline bool is_new(api::VolumeOperationPhase p) {
  return p == api::VolumeOperationPhase::unset || p == api::VolumeOperationPhase::New;
}

inline std::string now_text() { return format_rfc3339(now_seconds()); }

struct Agent {
  Agent(const Options& o, kube::Transport& t) : options(o), transport(t) {}
  Options options;
  kube::Transport& transport;
  kube::ApiResource pvbs, pvrs, pods, pvcs, pvs, secrets, repositories, locations, backups;
  kube::ApiResource dus, dds, snapshots, contents;  // DataUploads/Downloads; snapshot.storage.k8s.io (may be unset)
  bool have_snapshots = false;
  std::string node, pods_dir;
  Slots slots;
  // Queues a transfer's key ("pvb/<name>", ...) in its controller again: a slot freed for it.
  std::function<void(const std::string& key)> wake;

  RepositoryPool repositories_open;
  controller::MetricsRegistry metrics{controller::MetricsRegistry::Catalog::node_agent};

  std::mutex mu;
  std::vector<std::thread> threads;

  void patch_status(const kube::ApiResource& r, const std::string& name, const json& status) {
    kube::DynamicClient(transport).patch(r, options.namespace_name, name, kube::PatchType::Merge,
                                         json{{"status", status}}.dump(), {}, r.subresource("status") ? "status" : "");
  }
  bool try_start(const std::string& key) { return slots.try_start(key); }
  bool is_running(const std::string& key) { return slots.is_running(key); }
  void finish(const std::string& key) {
    for (const auto& waiting : slots.finish(key))
      if (wake) wake(waiting);
  }
  void request_cancel(const std::string& key) { slots.request_cancel(key); }
  bool cancel_requested(const std::string& key) { return slots.cancel_requested(key); }
  void spawn(std::function<void()> job) {
    std::lock_guard l(mu);
    threads.emplace_back(std::move(job));
  }
  json get(const kube::ApiResource& r, const std::string& ns, const std::string& name) {
    return kube::DynamicClient(transport).get(r, ns, name);
  }
  Getter getter() {
    return [this](const std::string& resource, const std::string& ns, const std::string& name) {
      return get(resource == "persistentvolumes" ? pvs : pvcs, ns, name);
    };
  }
  // The host path of a pod volume (as Velero reports it in status.path) and the directory it resolves to: a CSI
  // volume's mount is a link to the driver's directory, whose content is what gets backed up.
  std::pair<std::string, std::string> volume_paths(const json& pod, const std::string& volume) {
    std::string host = find_volume_path(pods_dir, pod["metadata"].value("uid", ""), volume_directory(pod, volume, getter()));
    std::error_code ec;
    auto real = fs::canonical(host, ec);
    if (ec) throw std::runtime_error("cannot resolve volume path " + host + ": " + ec.message());
    if (!fs::is_directory(real)) throw std::runtime_error("volume path " + host + " is not a directory");
    return {host, real.string()};
  }
  // The repository of (location, volume namespace), from the pool when one is open; lease.keep() once the transfer
  // succeeded. The location's spec is part of the key: a location edited to point elsewhere opens afresh.
  RepositoryPool::Lease open_repository(const std::string& location_name, const std::string& volume_namespace) {
    controller::ensure_backup_repository(transport, {repositories, locations, secrets}, options.namespace_name,
                                         volume_namespace, location_name,
                                         std::chrono::duration_cast<std::chrono::milliseconds>(options.resource_timeout));
    json stored = get(locations, options.namespace_name, location_name);
    std::string key = location_name + "\n" + volume_namespace + "\n" + stored.value("spec", json::object()).dump();
    return repositories_open.take(key, [&] {
      auto location = stored.get<api::BackupStorageLocation>();
      std::string password = controller::ensure_repository_password(transport, secrets, options.namespace_name);
      return controller::open_volume_repository(transport, secrets, location, volume_namespace, password, false);
    });
  }
  // The end of a transfer that succeeded (Velero's PVB/PVR/DataUpload/DataDownload status updates on completion):
  // phase, full progress and completion time, with the kind's own `fields`. Returns the completion time.
  std::string complete(const kube::ApiResource& r, const std::string& name, int64_t total,
                       json fields = json::object()) {
    std::string completed = now_text();
    fields["phase"] = "Completed";
    fields["progress"] = {{"totalBytes", total}, {"bytesDone", total}};
    fields["completionTimestamp"] = completed;
    patch_status(r, name, fields);
    return completed;
  }
  // Velero's OnDataPathCancelled: the transfer stopped part way (the object may be gone already).
  void canceled(const kube::ApiResource& r, const std::string& name, const std::string& what) {
    try {
      patch_status(r, name, {{"phase", "Canceled"}, {"completionTimestamp", now_text()}});
    } catch (const kube::KubeError& e) {
      if (!kube::is_not_found(e)) spdlog::error("{} {}: cannot mark Canceled: {}", r.kind, name, e.what());
    }
    spdlog::info("{} {} Canceled: {}", r.kind, name, what);
  }
  // Velero's UpdatePVBStatusToFailed / UpdatePVRStatusToFailed.
  void fail(const kube::ApiResource& r, const std::string& name, const std::string& message) {
    try {
      patch_status(r, name, {{"phase", "Failed"}, {"message", message}, {"completionTimestamp", now_text()}});
    } catch (const std::exception& e) {
      spdlog::error("{} {}: cannot mark Failed: {}", r.kind, name, e.what());
    }
    spdlog::warn("{} {} Failed: {}", r.kind, name, message);
  }
  // Progress about once a second (the engine's pace), as Velero's OnDataPathProgress patches it.
  repo::ProgressFn progress(const kube::ApiResource& r, const std::string& name, repo::Progress& last) {
    return [this, &r, name, &last](const repo::Progress& p) {
      last = p;
      if (p.final) return;
      try {
        patch_status(r, name, {{"progress", {{"totalBytes", p.bytes_total}, {"bytesDone", p.bytes_done}}}});
      } catch (const std::exception& e) {
        spdlog::warn("{} {}: cannot update progress: {}", r.kind, name, e.what());
      }
    };
  }
};

// The DataUpload and DataDownload controllers (data_upload.cc, data_download.cc).
controller::ReconcileResult reconcile_data_upload(Agent& a, const kube::ObjectPtr& cached);
controller::ReconcileResult reconcile_data_download(Agent& a, const kube::ObjectPtr& cached);

}  // namespace arca::nodeagent
