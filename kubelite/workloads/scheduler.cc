// kube-scheduler reduced to what the API shows: a pending pod is bound to the least loaded Ready node that
// matches its nodeSelector and required node affinity (the DaemonSet controller's metadata.name match
// included); a pod that fits nowhere gets PodScheduled=False/Unschedulable and a FailedScheduling event.
#include "kubelite/workloads/internal.h"

namespace kubelite::workloads {

namespace {

bool term_matches(const json& term, const json& node) {
  const json& labels = node["metadata"].value("labels", json::object());
  for (const auto& e : term.value("matchExpressions", json::array())) {
    json selector = {{"matchExpressions", json::array({e})}};
    if (!selector_matches(selector, labels)) return false;
  }
  for (const auto& f : term.value("matchFields", json::array())) {
    if (f.value("key", "") != "metadata.name") return false;
    bool in = false;
    for (const auto& v : f.value("values", json::array()))
      if (v == node["metadata"].value("name", "")) in = true;
    if ((f.value("operator", "") == "In") != in) return false;
  }
  return true;
}

bool fits(const json& pod, const json& node) {
  const json& spec = pod["spec"];
  const json& labels = node["metadata"].value("labels", json::object());
  const json node_selector = spec.value("nodeSelector", json::object());  // named: items() refers to it
  for (const auto& [k, v] : node_selector.items())
    if (!labels.contains(k) || labels[k] != v) return false;
  const json& required = spec.value("affinity", json::object())
                             .value("nodeAffinity", json::object())
                             .value("requiredDuringSchedulingIgnoredDuringExecution", json());
  if (required.is_object()) {
    bool any = false;
    for (const auto& term : required.value("nodeSelectorTerms", json::array())) any |= term_matches(term, node);
    if (!any) return false;
  }
  return !node["spec"].value("unschedulable", false);
}

}  // namespace

bool Workloads::Impl::schedule(json& pod) {
  // kube-scheduler binds only the pods of its profiles (pkg/scheduler/scheduler.go); another scheduler's pods wait
  // for that scheduler's pods/binding.
  if (pod["spec"].value("schedulerName", "default-scheduler") != "default-scheduler") return false;
  auto now = std::chrono::steady_clock::now();
  if (now - node_load_built > std::chrono::seconds(5)) {
    // Counted from the kubelets' pods now and then (no store scan: listing every pod per binding made a 30k
    // --load quadratic), and kept up to date by our own bindings in between.
    node_load = pods_per_node();
    node_load_built = now;
  }
  std::vector<json> candidates;
  std::string chosen;
  int nodes_total = 0;
  if (!node_objects) node_objects = cluster->list("/nodes", "");
  for (const json& node : *node_objects) {
    ++nodes_total;
    if (!fits(pod, node)) continue;
    std::string name = node["metadata"].value("name", "");
    if (chosen.empty() || node_load[name] < node_load[chosen]) chosen = name;
  }
  if (chosen.empty()) {
    std::string message = std::to_string(nodes_total) + "/" + std::to_string(nodes_total) + " nodes are available: " +
                          std::to_string(nodes_total) + " node(s) didn't match Pod's node affinity/selector.";
    json updated = pod;
    json conditions = updated["status"].value("conditions", json::array());
    set_condition(conditions, {{"type", "PodScheduled"}, {"status", "False"}, {"lastProbeTime", nullptr},
                               {"lastTransitionTime", now_rfc3339()}, {"reason", "Unschedulable"}, {"message", message}});
    updated["status"]["conditions"] = conditions;
    updated["status"]["phase"] = "Pending";
    if (updated["status"] == pod.value("status", json())) return false;
    cluster->update_status("/pods", pod, updated);
    record_event(*this, pod, "Warning", "FailedScheduling", message, "default-scheduler");
    return false;
  }
  // What the pods/binding subresource does: spec.nodeName and PodScheduled, in one write.
  json bound = pod;
  bound["spec"]["nodeName"] = chosen;
  json conditions = bound["status"].value("conditions", json::array());
  set_condition(conditions, {{"type", "PodScheduled"}, {"status", "True"}, {"lastProbeTime", nullptr},
                             {"lastTransitionTime", now_rfc3339()}});
  bound["status"]["conditions"] = conditions;
  bound["status"]["phase"] = "Pending";
  json stored = cluster->bind(pod, std::move(bound));
  ++node_load[chosen];
  record_event(*this, pod, "Normal", "Scheduled",
               "Successfully assigned " + pod["metadata"].value("namespace", "") + "/" +
                   pod["metadata"].value("name", "") + " to " + chosen,
               "default-scheduler");
  pod = std::move(stored);
  return true;
}

}  // namespace kubelite::workloads
