// The node agent's DataDownload controller (Velero's pkg/controller/data_download_controller.go with the generic
// restore exposer, pkg/exposer/generic_restore.go). The restore created the target claim with a selector no volume
// matches, so neither the workload nor a provisioner can bind it yet. Here a temporary claim of the same class and
// size is provisioned in the velero namespace and mounted by a pod on this node; the repository snapshot is
// downloaded into it; then (RebindVolume) its volume is kept (reclaim policy Retain), the pod and temporary claim
// are deleted, the volume is pre-bound to the target claim (claimRef by name, labelled with the selector) and its
// reclaim policy restored, so the target claim binds to a volume that already holds the data.
#include <thread>

#include "kube/errors.h"
#include "nodeagent/agent.h"
#include "nodeagent/exposer.h"

namespace arca::nodeagent {
namespace {

using namespace std::chrono_literals;
using Phase = api::VolumeOperationPhase;

constexpr const char* kDataDownloadLabel = "velero.io/data-download";


json wait_target_claim(Agent& a, const api::DataDownload& dd, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    try {
      return a.get(a.pvcs, dd.spec.target_volume.namespace_, dd.spec.target_volume.pvc);
    } catch (const kube::KubeError& e) {
      if (!kube::is_not_found(e)) throw;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      throw std::runtime_error("target PVC " + dd.spec.target_volume.namespace_ + "/" + dd.spec.target_volume.pvc +
                               " was not created in time");
    std::this_thread::sleep_for(200ms);
  }
}

void expose(Agent& a, const api::DataDownload& dd, const json& dd_json, const json& target) {
  const std::string& ns = a.options.namespace_name;
  const std::string& name = dd.metadata.name;
  json spec = {{"accessModes", target["spec"].value("accessModes", json::array({"ReadWriteOnce"}))},
               {"resources", target["spec"].value("resources", json::object())}};
  for (const char* field : {"storageClassName", "volumeMode"})
    if (target["spec"].contains(field)) spec[field] = target["spec"][field];
  json pvc = {{"apiVersion", "v1"},
              {"kind", "PersistentVolumeClaim"},
              {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{kDataDownloadLabel, name}}}}},
              {"spec", spec}};
  kube::DynamicClient client(a.transport);
  client.create(a.pvcs, ns, pvc);
  client.create(a.pods, ns, exposer_pod(name, ns, a.node, name, dd_json, kDataDownloadLabel));
}

template <class Pred>
json wait_for(Agent& a, const kube::ApiResource& r, const std::string& ns, const std::string& name, Pred done,
              const std::string& what) {
  auto deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    json o = a.get(r, ns, name);
    if (done(o)) return o;
    if (std::chrono::steady_clock::now() >= deadline) throw std::runtime_error("timeout waiting for " + what);
    std::this_thread::sleep_for(100ms);
  }
}

// Velero's generic_restore.go RebindVolume.
void rebind(Agent& a, const api::DataDownload& dd, const json& target) {
  const std::string& ns = a.options.namespace_name;
  const std::string& name = dd.metadata.name;
  kube::DynamicClient client(a.transport);
  json temp = a.get(a.pvcs, ns, name);
  std::string pv_name = temp["spec"].value("volumeName", "");
  if (pv_name.empty()) throw std::runtime_error("the restore claim " + name + " is not bound");
  json pv = a.get(a.pvs, "", pv_name);
  std::string policy = pv["spec"].value("persistentVolumeReclaimPolicy", "Delete");
  client.patch(a.pvs, "", pv_name, kube::PatchType::Merge,
               R"({"spec":{"persistentVolumeReclaimPolicy":"Retain"}})");
  remove_pod_and_claim(a, name);
  wait_for(a, a.pvs, "", pv_name,
           [](const json& o) { return o.value("/status/phase"_json_pointer, std::string()) == "Released"; },
           "volume " + pv_name + " to be released");
  json labels = target.value("/spec/selector/matchLabels"_json_pointer, json::object());
  json patch = {{"metadata", {{"labels", labels}}},
                {"spec",
                 {{"claimRef",
                   {{"kind", "PersistentVolumeClaim"},
                    {"apiVersion", "v1"},
                    {"namespace", dd.spec.target_volume.namespace_},
                    {"name", dd.spec.target_volume.pvc},
                    {"uid", nullptr},
                    {"resourceVersion", nullptr}}}}}};
  client.patch(a.pvs, "", pv_name, kube::PatchType::Merge, patch.dump());
  wait_for(a, a.pvcs, dd.spec.target_volume.namespace_, dd.spec.target_volume.pvc,
           [&](const json& o) {
             return o.value("/status/phase"_json_pointer, std::string()) == "Bound" &&
                    o.value("/spec/volumeName"_json_pointer, std::string()) == pv_name;
           },
           "target PVC " + dd.spec.target_volume.namespace_ + "/" + dd.spec.target_volume.pvc + " to bind to " + pv_name);
  client.patch(a.pvs, "", pv_name, kube::PatchType::Merge,
               json{{"spec", {{"persistentVolumeReclaimPolicy", policy}}}}.dump());
}

void run_download(Agent& a, api::DataDownload dd, json dd_json) {
  const std::string& name = dd.metadata.name;
  std::string key = "dd/" + name;
  auto canceled = [&] { return a.cancel_requested(key); };
  auto clean_up = [&] {
    try {
      remove_pod_and_claim(a, name);
    } catch (const std::exception& e) {
      spdlog::error("DataDownload {}: cleaning up the exposer failed: {}", name, e.what());
    }
  };
  std::string where = "PVC " + dd.spec.target_volume.namespace_ + "/" + dd.spec.target_volume.pvc;
  std::string step = "error exposing the restore volume";
  try {
    auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(a.options.resource_timeout);
    json target = wait_target_claim(a, dd, timeout);
    expose(a, dd, dd_json, target);
    auto [host, real] = wait_exposed(a, name, timeout, canceled);
    a.patch_status(a.dds, name, {{"phase", "Prepared"}, {"node", a.node}});
    step = "error to initialize data path";
    auto repository = a.open_repository(dd.spec.backup_storage_location, dd.spec.source_namespace);
    a.patch_status(a.dds, name,
                   {{"phase", "InProgress"},
                    {"startTimestamp", now_text()},
                    {"node", a.node},
                    {"progress", {{"totalBytes", dd.spec.snapshot_size}, {"bytesDone", 0}}}});
    spdlog::info("DataDownload {}: restoring snapshot {} for {} ({})", name, dd.spec.snapshot_id, where, real);
    step = "data path restore failed";
    repo::Progress last;
    repo::RestoreOptions o;
    o.snapshot = dd.spec.snapshot_id;
    o.target = real;
    o.progress = a.progress(a.dds, name, last);
    auto result = repo::restore(*repository, o);
    repository.keep();
    if (canceled()) throw std::runtime_error("canceled");
    step = "error rebinding the restored volume to " + where;
    rebind(a, dd, target);
    int64_t total = static_cast<int64_t>(std::max<uint64_t>(last.bytes_done, result.bytes));
    a.complete(a.dds, name, total);
    spdlog::info("DataDownload {} Completed: {} files, {} bytes into {}", name, result.files, result.bytes, where);
  } catch (const std::exception& e) {
    clean_up();
    if (canceled()) {
      a.patch_status(a.dds, name, {{"phase", "Canceled"}, {"completionTimestamp", now_text()}});
      return;
    }
    a.fail(a.dds, name, step + ": " + e.what());
  }
}

}  // namespace

controller::ReconcileResult reconcile_data_download(Agent& a, const kube::ObjectPtr& cached) {
  if (!cached) return {};
  auto dd = cached->get<api::DataDownload>();
  if (!dd.spec.datamover.empty() && dd.spec.datamover != "velero") return {};
  const std::string& name = dd.metadata.name;
  std::string key = "dd/" + name;
  if (a.is_running(key)) {
    if (dd.spec.cancel) a.request_cancel(key);
    return {};
  }
  if (!is_new(dd.status.phase)) return {};
  json stored;
  try {
    stored = a.get(a.dds, a.options.namespace_name, name);
  } catch (const kube::KubeError& e) {
    if (kube::is_not_found(e)) return {};
    throw;
  }
  dd = stored.get<api::DataDownload>();
  if (!is_new(dd.status.phase)) return {};
  if (dd.spec.cancel) {
    a.patch_status(a.dds, name, {{"phase", "Canceled"}, {"completionTimestamp", now_text()}});
    spdlog::info("DataDownload {} Canceled before it started", name);
    return {};
  }
  if (!a.try_start(key)) return {1s};
  try {
    json accepted = stored;
    accepted["status"]["phase"] = "Accepted";
    accepted["status"]["acceptedByNode"] = a.node;
    accepted["status"]["acceptedTimestamp"] = now_text();
    stored = kube::DynamicClient(a.transport).update(a.dds, a.options.namespace_name, accepted, {},
                                                            a.dds.subresource("status") ? "status" : "");
  } catch (const kube::KubeError& e) {
    a.finish(key);
    if (kube::is_conflict(e)) return {};  // another node accepted it
    if (kube::is_not_found(e)) return {};
    throw;
  }
  spdlog::info("DataDownload {} accepted on node {}", name, a.node);
  a.spawn([&a, dd, stored, key] {
    run_download(a, dd, stored);
    a.finish(key);
  });
  return {};
}

}  // namespace arca::nodeagent
