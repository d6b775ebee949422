// The controllers' pod index (internal.h's PodInfo): one filtered parse per pod write, in the change feed.
// A controller that parsed every pod of its namespace on each sync made a 30k-object --load quadratic in the
// pods per namespace (kube-controller-manager's informers keep a cache indexed by namespace for the same reason).
#include <optional>

#include "kubelite/workloads/internal.h"

namespace kubelite::workloads {

namespace {

// The members a PodInfo needs; the spec (but nodeName and affinity), managedFields, annotations and container
// statuses are skipped while parsing.
json parse_pod_summary(const std::string& text) {
  std::string top;
  return json::parse(text, [&top](int depth, json::parse_event_t event, json& parsed) {
    if (event != json::parse_event_t::key) return true;
    if (depth == 1) {
      top = parsed.get<std::string>();
      return top == "metadata" || top == "spec" || top == "status";
    }
    if (depth != 2) return true;
    const std::string& k = parsed.get_ref<const std::string&>();
    if (top == "metadata") return k != "managedFields" && k != "annotations";
    if (top == "spec") return k == "nodeName" || k == "affinity";
    return k == "phase" || k == "podIP" || k == "conditions";
  });
}

}  // namespace

json parse_metadata(const std::string& text) {
  return json::parse(text, [](int depth, json::parse_event_t event, json& parsed) {
    return !(depth == 1 && event == json::parse_event_t::key && parsed != "metadata");
  });
}

namespace {

PodInfo summary_of(const std::string& key, const json& pod) {
  PodInfo p;
  p.key = key;
  // By reference throughout: `pod` may be the whole pod as written (json::value() would copy its spec).
  const json& meta = object_at(pod, "metadata");
  p.name = meta.value("name", "");
  p.uid = meta.value("uid", "");
  p.created = meta.value("creationTimestamp", "");
  p.terminating = meta.contains("deletionTimestamp");
  p.labels = object_at(meta, "labels");
  for (const auto& ref : array_at(meta, "ownerReferences"))
    if (ref.value("controller", false)) p.controller_uid = ref.value("uid", "");
  const json& spec = object_at(pod, "spec");
  p.node = spec.value("nodeName", "");
  // The node a DaemonSet made the pod for: the metadata.name match field of its required node affinity.
  if (spec.contains("affinity")) {
    const json& required = object_at(object_at(spec["affinity"], "nodeAffinity"),
                                      "requiredDuringSchedulingIgnoredDuringExecution");
    for (const auto& term : array_at(required, "nodeSelectorTerms"))
      for (const auto& f : array_at(term, "matchFields"))
        if (f.value("key", "") == "metadata.name" && !array_at(f, "values").empty() && p.affinity_node.empty())
          p.affinity_node = f["values"][0].get<std::string>();
  }
  const json& status = object_at(pod, "status");
  p.phase = status.value("phase", "");
  p.ip = status.value("podIP", "");
  for (const auto& c : array_at(status, "conditions"))
    if (c.value("type", "") == "Ready") p.ready = c.value("status", "") == "True";
  return p;
}

}  // namespace

std::string PodInfo::label(const char* name) const {
  auto it = labels.find(name);
  return it != labels.end() && it->is_string() ? it->get<std::string>() : "";
}

bool PodInfo::same_for_controllers(const PodInfo& o) const {
  return uid == o.uid && controller_uid == o.controller_uid && node == o.node && phase == o.phase && ip == o.ip &&
         ready == o.ready && terminating == o.terminating && labels == o.labels;
}

bool Workloads::Impl::index_pod(const Change& c, json& scratch, const json*& summary) {
  auto old = pod_index.find(c.key);
  std::optional<PodInfo> before;
  if (old != pod_index.end()) {
    before = old->second;
    if (!old->second.controller_uid.empty()) {
      auto owned = pods_by_controller.find(old->second.controller_uid);
      if (owned != pods_by_controller.end()) {
        owned->second.erase(c.key);
        if (owned->second.empty()) pods_by_controller.erase(owned);
      }
    }
    if (c.deleted) pod_index.erase(old);
  }
  orphan_pods.erase(c.key);
  if (c.object) {
    summary = c.object;
  } else {
    scratch = parse_pod_summary(c.object_json);
    summary = &scratch;
  }
  if (c.deleted) return true;
  PodInfo p = summary_of(c.key, *summary);
  bool changed = !before || !before->same_for_controllers(p);
  if (!p.controller_uid.empty()) pods_by_controller[p.controller_uid].insert(c.key);
  else orphan_pods.insert(c.key);
  pod_index[c.key] = std::move(p);
  return changed;
}

void Workloads::Impl::rebuild_pod_index() {
  pod_index.clear();
  pods_by_controller.clear();
  orphan_pods.clear();
  cluster->scan("/pods", [&](const std::string& key, const std::string& text) {
    PodInfo p = summary_of(key, parse_pod_summary(text));
    if (!p.controller_uid.empty()) pods_by_controller[p.controller_uid].insert(p.key);
    else orphan_pods.insert(p.key);
    pod_index[p.key] = std::move(p);
  });
}

std::vector<PodInfo> Workloads::Impl::pods_of_controller(const std::string& uid) {
  std::vector<PodInfo> out;
  auto it = pods_by_controller.find(uid);
  if (uid.empty() || it == pods_by_controller.end()) return out;
  for (const std::string& key : it->second)
    if (auto p = pod_index.find(key); p != pod_index.end()) out.push_back(p->second);
  return out;
}

std::vector<PodInfo> Workloads::Impl::pods_in_namespace(const std::string& ns,
                                                        const std::function<bool(const PodInfo&)>& keep) {
  std::vector<PodInfo> out;
  std::string prefix = ns + "/";
  for (auto it = pod_index.lower_bound(prefix); it != pod_index.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it)
    if (keep(it->second)) out.push_back(it->second);
  return out;
}

std::vector<PodInfo> Workloads::Impl::orphan_pods_in(const std::string& ns) {
  std::vector<PodInfo> out;
  std::string prefix = ns + "/";
  for (auto it = orphan_pods.lower_bound(prefix); it != orphan_pods.end() && it->compare(0, prefix.size(), prefix) == 0;
       ++it)
    if (auto p = pod_index.find(*it); p != pod_index.end()) out.push_back(p->second);
  return out;
}

bool Workloads::Impl::owned_indexed(const std::string& storage_id) {
  return storage_id == "apps/replicasets" || storage_id == "batch/jobs" || storage_id == "apps/controllerrevisions" ||
         storage_id == "discovery.k8s.io/endpointslices";
}

void Workloads::Impl::index_owned(const std::string& storage_id, const std::string& key,
                                  const std::string& controller_uid, bool deleted) {
  OwnedIndex& index = owned_index[storage_id];
  if (auto old = index.uid_by_key.find(key); old != index.uid_by_key.end()) {
    if (!deleted && old->second == controller_uid) return;
    auto keys = index.keys_by_uid.find(old->second);
    if (keys != index.keys_by_uid.end()) {
      keys->second.erase(key);
      if (keys->second.empty()) index.keys_by_uid.erase(keys);
    }
    index.uid_by_key.erase(old);
  }
  if (deleted || controller_uid.empty()) return;
  index.keys_by_uid[controller_uid].insert(key);
  index.uid_by_key[key] = controller_uid;
}

void Workloads::Impl::rebuild_owned_index() {
  owned_index.clear();
  for (const char* sid : {"apps/replicasets", "batch/jobs", "apps/controllerrevisions", "discovery.k8s.io/endpointslices"})
    cluster->scan(sid, [&](const std::string& key, const std::string& text) {
      if (text.find("\"ownerReferences\"") != std::string::npos) index_owned(sid, key, controller_uid(parse_metadata(text)), false);
    });
}

std::vector<json> Workloads::Impl::owned_by(const std::string& storage_id, const std::string& uid) {
  std::vector<json> out;
  if (uid.empty()) return out;
  const OwnedIndex& index = owned_index[storage_id];
  auto keys = index.keys_by_uid.find(uid);
  if (keys == index.keys_by_uid.end()) return out;
  for (const std::string& key : keys->second)
    if (json o = cluster->get(storage_id, key); !o.is_null() && controller_uid(o) == uid) out.push_back(std::move(o));
  return out;
}

json Workloads::Impl::read_pod(const PodInfo& p) {
  json pod = cluster->get("/pods", p.key);
  if (!pod.is_null() && pod["metadata"].value("uid", "") != p.uid) return nullptr;
  return pod;
}

}  // namespace kubelite::workloads
