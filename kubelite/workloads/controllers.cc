// The Deployment and ReplicaSet controllers (k8s.io/kubernetes/pkg/controller/deployment, .../replicaset):
// a Deployment owns one ReplicaSet per pod template (named and labelled by pod-template-hash), scales the new
// one up and the old ones down within maxSurge/maxUnavailable (or all old ones first for Recreate), and reports
// the status fields `kubectl rollout status` and `kubectl wait --for=condition=Available` read.
#include <algorithm>

#include "kubelite/workloads/internal.h"

namespace kubelite::workloads {

namespace {

const char* kHashLabel = "pod-template-hash";
const char* kRevision = "deployment.kubernetes.io/revision";

json status_or_empty(const json& o) { return o.value("status", json::object()); }

int revision_of(const json& rs) {
  return std::atoi(rs["metadata"].value("annotations", json::object()).value(kRevision, "0").c_str());
}

// The template without the hash label: what decides whether a ReplicaSet runs the Deployment's current template.
// `kubectl rollout undo` writes a ReplicaSet's template back with "creationTimestamp": null in its metadata.
json template_without_hash(json tmpl) {
  if (tmpl.contains("metadata")) {
    json& meta = tmpl["metadata"];
    if (meta.contains("labels")) {
      meta["labels"].erase(kHashLabel);
      if (meta["labels"].empty()) meta.erase("labels");
    }
    if (meta.contains("creationTimestamp") && meta["creationTimestamp"].is_null()) meta.erase("creationTimestamp");
    if (meta.empty()) tmpl.erase("metadata");
  }
  return tmpl;
}


}  // namespace

void Workloads::Impl::sync_deployment(const std::string& key) {
  json d = cluster->get("apps/deployments", key);
  if (d.is_null() || is_terminating(d)) return;
  const json& spec = d["spec"];
  std::string ns = d["metadata"].value("namespace", "");
  std::string name = d["metadata"].value("name", "");
  std::string uid = d["metadata"].value("uid", "");
  int replicas = spec.value("replicas", 1);
  std::vector<json> owned = owned_by("apps/replicasets", uid);
  std::sort(owned.begin(), owned.end(), [](const json& a, const json& b) { return revision_of(a) < revision_of(b); });
  json tmpl = spec.value("template", json::object());
  std::string hash = template_hash(template_without_hash(tmpl));
  json* new_rs = nullptr;
  int max_revision = 0;
  for (json& rs : owned) {
    max_revision = std::max(max_revision, revision_of(rs));
    if (template_without_hash(rs["spec"].value("template", json::object())) == template_without_hash(tmpl)) new_rs = &rs;
  }
  bool recreate = spec.value("strategy", json::object()).value("type", "RollingUpdate") == "Recreate";
  const json& rolling = spec.value("strategy", json::object()).value("rollingUpdate", json::object());
  int max_surge = recreate ? 0 : int_or_percent(rolling.value("maxSurge", json("25%")), replicas, true, 1);
  int max_unavailable = recreate ? replicas : int_or_percent(rolling.value("maxUnavailable", json("25%")), replicas, false, 0);
  if (max_surge == 0 && max_unavailable == 0) max_unavailable = 1;
  bool paused = spec.value("paused", false);

  auto annotate = [&](json& rs, int rs_replicas, bool is_new) {
    // The ReplicaSet of the current template carries the newest revision (an undo makes an old one current).
    if (is_new && revision_of(rs) < max_revision) rs["metadata"]["annotations"][kRevision] = std::to_string(max_revision + 1);
    rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] = std::to_string(replicas);
    rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] = std::to_string(replicas + max_surge);
    rs["spec"]["replicas"] = rs_replicas;
  };
  auto scale = [&](json& rs, int to) {
    int from = rs["spec"].value("replicas", 0);
    if (from == to && rs["metadata"].value("annotations", json::object()).value("deployment.kubernetes.io/desired-replicas", "") ==
                          std::to_string(replicas) && (&rs != new_rs || revision_of(rs) >= max_revision))
      return;
    json updated = rs;
    annotate(updated, to, &rs == new_rs);
    rs = cluster->update("apps/replicasets", rs, updated);
    if (from != to)
      record_event(*this, d, "Normal", "ScalingReplicaSet",
                   std::string(to > from ? "Scaled up" : "Scaled down") + " replica set " +
                       rs["metadata"].value("name", "") + " from " + std::to_string(from) + " to " + std::to_string(to),
                   "deployment-controller");
  };
  auto count_old = [&](const char* field, bool spec_side) {
    int n = 0;
    for (const json& rs : owned)
      if (&rs != new_rs)
        n += spec_side ? rs["spec"].value("replicas", 0) : status_or_empty(rs).value(field, 0);
    return n;
  };

  bool created_new = false;
  if (!new_rs && !paused) {
    json labels = tmpl.value("metadata", json::object()).value("labels", json::object());
    labels[kHashLabel] = hash;
    json rs_tmpl = tmpl;
    rs_tmpl["metadata"]["labels"] = labels;
    json selector = spec.value("selector", json::object());
    selector["matchLabels"][kHashLabel] = hash;
    json annotations = d["metadata"].value("annotations", json::object());
    annotations.erase("kubectl.kubernetes.io/last-applied-configuration");
    annotations.erase(kRevision);
    annotations[kRevision] = std::to_string(max_revision + 1);
    json rs = {{"metadata",
                {{"name", name + "-" + hash}, {"namespace", ns}, {"labels", labels}, {"annotations", annotations},
                 {"ownerReferences", json::array({controller_ref(d)})}}},
               {"spec", {{"replicas", 0}, {"minReadySeconds", spec.value("minReadySeconds", 0)},
                         {"selector", selector}, {"template", rs_tmpl}}}};
    int initial = recreate ? (count_old("", true) == 0 ? replicas : 0)
                           : std::max(0, std::min(replicas, replicas + max_surge - count_old("", true)));
    annotate(rs, initial, false);
    json stored = cluster->create("apps/replicasets", ns, rs);
    owned.push_back(stored);
    new_rs = &owned.back();
    created_new = true;
    if (initial > 0)
      record_event(*this, d, "Normal", "ScalingReplicaSet",
                   "Scaled up replica set " + stored["metadata"].value("name", "") + " from 0 to " + std::to_string(initial),
                   "deployment-controller");
  }
  // `owned` may have moved: find the new one again.
  for (json& rs : owned)
    if (template_without_hash(rs["spec"].value("template", json::object())) == template_without_hash(tmpl)) new_rs = &rs;

  if (new_rs && !paused && !created_new) {
    if (recreate) {
      for (json& rs : owned)
        if (&rs != new_rs) scale(rs, 0);
      int old_pods = 0;
      for (const json& rs : owned)
        if (&rs != new_rs) old_pods += status_or_empty(rs).value("replicas", 0);
      scale(*new_rs, old_pods == 0 ? replicas : 0);
    } else {
      // Scale up the new ReplicaSet within maxSurge of the total.
      int total = count_old("", true) + (*new_rs)["spec"].value("replicas", 0);
      int new_replicas = (*new_rs)["spec"].value("replicas", 0);
      if (new_replicas < replicas) {
        int room = replicas + max_surge - total;
        if (room > 0) scale(*new_rs, std::min(replicas, new_replicas + room));
      } else if (new_replicas > replicas) {
        scale(*new_rs, replicas);
      }
      // Scale old ReplicaSets down while enough pods stay available (old ones that are not available first).
      int available = count_old("availableReplicas", false) + status_or_empty(*new_rs).value("availableReplicas", 0);
      int can_remove = available - (replicas - max_unavailable);
      for (json& rs : owned) {
        if (&rs == new_rs) continue;
        int current = rs["spec"].value("replicas", 0);
        if (current == 0) continue;
        int unavailable_here = current - status_or_empty(rs).value("availableReplicas", 0);
        int remove = std::max(0, unavailable_here) + std::max(0, can_remove);
        remove = std::min(current, remove);
        if (remove <= 0) continue;
        can_remove -= std::max(0, remove - std::max(0, unavailable_here));
        scale(rs, current - remove);
      }
    }
  } else if (new_rs && paused) {
    // A paused Deployment is still scaled (proportionally, in the real controller; here: the new ReplicaSet).
    if (count_old("", true) == 0 && (*new_rs)["spec"].value("replicas", 0) != replicas) scale(*new_rs, replicas);
  }

  // Old ReplicaSets beyond revisionHistoryLimit go once they are scaled to zero.
  int history = spec.value("revisionHistoryLimit", 10);
  std::vector<json*> idle;
  for (json& rs : owned)
    if (&rs != new_rs && rs["spec"].value("replicas", 0) == 0 && status_or_empty(rs).value("replicas", 0) == 0)
      idle.push_back(&rs);
  for (size_t i = 0; i + history < idle.size(); ++i) cluster->remove("apps/replicasets", *idle[i]);

  // Status.
  int total_pods = 0, ready = 0, available = 0;
  for (const json& rs : owned) {
    total_pods += status_or_empty(rs).value("replicas", 0);
    ready += status_or_empty(rs).value("readyReplicas", 0);
    available += status_or_empty(rs).value("availableReplicas", 0);
  }
  int updated = new_rs ? status_or_empty(*new_rs).value("replicas", 0) : 0;
  json status = status_or_empty(d);
  status["observedGeneration"] = d["metadata"].value("generation", 1);
  put_count(status, "replicas", total_pods);
  put_count(status, "updatedReplicas", updated);
  put_count(status, "readyReplicas", ready);
  put_count(status, "availableReplicas", available);
  put_count(status, "unavailableReplicas", std::max(0, replicas - available));
  std::string now = now_rfc3339();
  json conditions = status.value("conditions", json::array());
  bool min_available = available >= replicas - max_unavailable;
  set_condition(conditions, {{"type", "Available"}, {"status", min_available ? "True" : "False"}, {"lastUpdateTime", now},
                             {"lastTransitionTime", now},
                             {"reason", min_available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable"},
                             {"message", min_available ? "Deployment has minimum availability."
                                                       : "Deployment does not have minimum availability."}});
  std::string rs_name = new_rs ? (*new_rs)["metadata"].value("name", "") : "";
  bool complete = new_rs && updated == replicas && available >= replicas && total_pods == replicas;
  json progressing = {{"type", "Progressing"}, {"status", "True"}, {"lastUpdateTime", now}, {"lastTransitionTime", now}};
  if (paused) {
    progressing["status"] = "Unknown";
    progressing["reason"] = "DeploymentPaused";
    progressing["message"] = "Deployment is paused";
  } else if (complete) {
    progressing["reason"] = "NewReplicaSetAvailable";
    progressing["message"] = "ReplicaSet \"" + rs_name + "\" has successfully progressed.";
  } else if (created_new) {
    progressing["reason"] = "NewReplicaSetCreated";
    progressing["message"] = "Created new replica set \"" + rs_name + "\"";
  } else {
    progressing["reason"] = "ReplicaSetUpdated";
    progressing["message"] = "ReplicaSet \"" + rs_name + "\" is progressing.";
  }
  set_condition(conditions, progressing);
  // The real controller lists Available first once it exists; keep that order.
  std::stable_sort(conditions.begin(), conditions.end(),
                   [](const json& a, const json& b) { return a.value("type", "") == "Available" && b.value("type", "") != "Available"; });
  status["conditions"] = conditions;
  if (status != status_or_empty(d)) {
    cluster->update_status("apps/deployments", d, {{"metadata", json::object()}, {"status", status}});  // a /status body
  }
}

void Workloads::Impl::sync_replicaset(const std::string& key) {
  json rs = cluster->get("apps/replicasets", key);
  if (rs.is_null() || is_terminating(rs)) return;
  std::string ns = rs["metadata"].value("namespace", "");
  std::string uid = rs["metadata"].value("uid", "");
  int replicas = rs["spec"].value("replicas", 1);
  std::vector<PodInfo> active;
  const json selector = rs["spec"].value("selector", json::object());
  // The real controller's ClaimPods: an active orphan whose labels the selector matches is adopted (a pod
  // restored from a backup comes back without its owner), rather than a new pod created beside it.
  if (!selector.empty())
    for (const PodInfo& p : orphan_pods_in(ns)) {
      if (!p.active() || !selector_matches(selector, p.labels)) continue;
      json pod = read_pod(p);
      if (pod.is_null()) continue;
      json adopted = pod;
      if (!adopted["metadata"].contains("ownerReferences")) adopted["metadata"]["ownerReferences"] = json::array();
      adopted["metadata"]["ownerReferences"].push_back(controller_ref(rs));
      try {
        cluster->update("/pods", pod, adopted);  // indexed as ours by the change feed
      } catch (const std::exception&) {
        // changed meanwhile: looked at again on the next sync
      }
    }
  for (PodInfo& p : pods_of_controller(uid))
    if (p.active()) active.push_back(std::move(p));
  int diff = static_cast<int>(active.size()) - replicas;
  if (diff < 0) {
    json tmpl = rs["spec"].value("template", json::object());
    for (int i = 0; i < -diff; ++i) {
      json pod = {{"metadata",
                   {{"generateName", rs["metadata"].value("name", "") + "-"},
                    {"namespace", ns},
                    {"labels", tmpl.value("metadata", json::object()).value("labels", json::object())},
                    {"ownerReferences", json::array({controller_ref(rs)})}}},
                  {"spec", tmpl.value("spec", json::object())}};
      const json tmpl_meta = tmpl.value("metadata", json::object());
      if (tmpl_meta.contains("annotations")) pod["metadata"]["annotations"] = tmpl_meta["annotations"];
      json created = cluster->create("/pods", ns, pod);
      record_event(*this, rs, "Normal", "SuccessfulCreate", "Created pod: " + created["metadata"].value("name", ""),
                   "replicaset-controller");
      PodInfo p;
      p.key = key_of(created);
      active.push_back(p);  // new: neither scheduled nor ready
    }
  } else if (diff > 0) {
    // Unscheduled, then pending, then not ready, then the newest go first (controller.ActivePods' order).
    auto rank = [](const PodInfo& p) {
      if (p.node.empty()) return 0;
      if (p.phase == "Pending") return 1;
      if (!p.ready) return 2;
      return 3;
    };
    std::stable_sort(active.begin(), active.end(), [&](const PodInfo& a, const PodInfo& b) {
      if (rank(a) != rank(b)) return rank(a) < rank(b);
      return a.created > b.created;
    });
    for (int i = 0; i < diff; ++i) {
      json pod = read_pod(active[i]);
      if (pod.is_null()) continue;
      cluster->remove("/pods", pod);
      record_event(*this, rs, "Normal", "SuccessfulDelete", "Deleted pod: " + active[i].name, "replicaset-controller");
    }
    active.erase(active.begin(), active.begin() + diff);
  }
  int ready = 0;
  for (const PodInfo& p : active) ready += p.ready;
  json status = status_or_empty(rs);
  status["replicas"] = static_cast<int>(active.size());
  put_count(status, "fullyLabeledReplicas", static_cast<int>(active.size()));
  put_count(status, "readyReplicas", ready);
  put_count(status, "availableReplicas", ready);
  status["observedGeneration"] = rs["metadata"].value("generation", 1);
  if (status != status_or_empty(rs)) {
    cluster->update_status("apps/replicasets", rs, {{"metadata", json::object()}, {"status", status}});  // a /status body
  }
}

}  // namespace kubelite::workloads
