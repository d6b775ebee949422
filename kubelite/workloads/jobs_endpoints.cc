// The Job controller (k8s.io/kubernetes/pkg/controller/job): pods up to parallelism until completions succeed
// (Complete) or more than backoffLimit fail (Failed); and the Endpoints and EndpointSlice controllers: a
// Service's selected pods with an IP, ready ones as addresses, the others as notReadyAddresses.
#include <algorithm>

#include "kubelite/workloads/internal.h"

namespace kubelite::workloads {

void Workloads::Impl::sync_job(const std::string& key) {
  json job = cluster->get("batch/jobs", key);
  if (job.is_null() || is_terminating(job)) return;
  const json& spec = job["spec"];
  std::string ns = job["metadata"].value("namespace", "");
  std::string name = job["metadata"].value("name", "");
  std::string uid = job["metadata"].value("uid", "");
  json status = job.value("status", json::object());
  for (const auto& c : status.value("conditions", json::array()))
    if ((c.value("type", "") == "Complete" || c.value("type", "") == "Failed") && c.value("status", "") == "True") return;
  int completions = spec.value("completions", 1);
  int parallelism = spec.value("parallelism", 1);
  int backoff_limit = spec.value("backoffLimit", 6);
  bool suspended = spec.value("suspend", false);
  int active = 0, succeeded = 0, failed = 0, ready = 0;
  std::vector<PodInfo> active_pods;
  for (PodInfo& pod : pods_of_controller(uid)) {
    if (pod.phase == "Succeeded") ++succeeded;
    else if (pod.phase == "Failed") ++failed;
    else if (!pod.terminating) {
      ++active;
      ready += pod.ready;
      active_pods.push_back(std::move(pod));
    }
  }
  std::string now = now_rfc3339();
  if (!status.contains("startTime") && !suspended) status["startTime"] = now;
  json conditions = status.value("conditions", json::array());
  bool finished = false;
  if (succeeded >= completions) {
    set_condition(conditions, {{"type", "SuccessCriteriaMet"}, {"status", "True"}, {"lastProbeTime", now},
                               {"lastTransitionTime", now}, {"reason", "CompletionsReached"},
                               {"message", "Reached expected number of succeeded pods"}});
    set_condition(conditions, {{"type", "Complete"}, {"status", "True"}, {"lastProbeTime", now},
                               {"lastTransitionTime", now}, {"reason", "CompletionsReached"},
                               {"message", "Reached expected number of succeeded pods"}});
    status["completionTime"] = now;
    record_event(*this, job, "Normal", "Completed", "Job completed", "job-controller");
    finished = true;
  } else if (failed > backoff_limit) {
    set_condition(conditions, {{"type", "FailureTarget"}, {"status", "True"}, {"lastProbeTime", now},
                               {"lastTransitionTime", now}, {"reason", "BackoffLimitExceeded"},
                               {"message", "Job has reached the specified backoff limit"}});
    set_condition(conditions, {{"type", "Failed"}, {"status", "True"}, {"lastProbeTime", now},
                               {"lastTransitionTime", now}, {"reason", "BackoffLimitExceeded"},
                               {"message", "Job has reached the specified backoff limit"}});
    record_event(*this, job, "Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit",
                 "job-controller");
    finished = true;
  }
  if (finished) {
    for (const PodInfo& p : active_pods)
      if (json pod = read_pod(p); !pod.is_null()) cluster->remove("/pods", pod);
    active = 0;
    ready = 0;
  } else if (!suspended) {
    int wanted = std::min(parallelism, completions - succeeded);
    json tmpl = spec.value("template", json::object());
    for (int i = active; i < wanted; ++i) {
      json labels = tmpl.value("metadata", json::object()).value("labels", json::object());
      labels["batch.kubernetes.io/controller-uid"] = uid;
      labels["batch.kubernetes.io/job-name"] = name;
      labels["controller-uid"] = uid;
      labels["job-name"] = name;
      json pod = {{"metadata", {{"generateName", name + "-"}, {"namespace", ns}, {"labels", labels},
                                {"ownerReferences", json::array({controller_ref(job)})}}},
                  {"spec", tmpl.value("spec", json::object())}};
      json created = cluster->create("/pods", ns, pod);
      record_event(*this, job, "Normal", "SuccessfulCreate", "Created pod: " + created["metadata"].value("name", ""),
                   "job-controller");
      ++active;
    }
  }
  status["active"] = active;
  if (succeeded) status["succeeded"] = succeeded; else status.erase("succeeded");
  if (failed) status["failed"] = failed; else status.erase("failed");
  status["ready"] = ready;
  status["terminating"] = 0;
  status["uncountedTerminatedPods"] = json::object();
  if (active == 0) status.erase("active");
  if (!conditions.empty()) status["conditions"] = conditions;
  if (status != job.value("status", json::object())) {
    cluster->update_status("batch/jobs", job, {{"metadata", json::object()}, {"status", status}});  // a /status body
  }
}

void Workloads::Impl::sync_services(const std::string& ns) {
  std::vector<json> services = cluster->list("/services", ns);
  // Only pods that carry every label of some Service's selector.
  std::vector<json> selectors;
  for (const json& svc : services) {
    const json& selector = svc["spec"].value("selector", json());
    if (selector.is_object() && !selector.empty()) selectors.push_back(selector);
  }
  auto selected_by = [](const json& selector, const json& labels) {
    for (const auto& [k, v] : selector.items()) {
      auto l = labels.find(k);
      if (l == labels.end() || *l != v) return false;
    }
    return true;
  };
  std::vector<PodInfo> pods;
  if (!selectors.empty())
    pods = pods_in_namespace(ns, [&](const PodInfo& p) {
      return std::any_of(selectors.begin(), selectors.end(), [&](const json& s) { return selected_by(s, p.labels); });
    });
  for (const json& svc : services) {
    const json& selector = svc["spec"].value("selector", json());
    if (!selector.is_object() || selector.empty()) continue;
    std::string name = svc["metadata"].value("name", "");
    // What the Endpoints and the EndpointSlice are made of: when it is what they were last written from (and
    // nobody wrote them since), they are left alone without being read. Every pod change of a namespace syncs
    // its Services; re-reading and rebuilding each one's endpoints made a --load quadratic in the pods per
    // namespace.
    std::string inputs = svc["metadata"].value("uid", "") + svc["metadata"].value("labels", json::object()).dump() +
                         svc["spec"].value("ports", json::array()).dump() + selector.dump();
    std::vector<const PodInfo*> selected;
    for (const PodInfo& pod : pods) {
      if (!selected_by(selector, pod.labels) || pod.ip.empty() || !pod.active()) continue;
      selected.push_back(&pod);
      inputs += "|" + pod.name + "," + pod.uid + "," + pod.ip + "," + pod.node + (pod.ready ? ",1" : ",0");
    }
    const std::string svc_key = ns + "/" + name;
    size_t signature = std::hash<std::string>()(inputs);
    if (auto done = endpoints_synced.find(svc_key); done != endpoints_synced.end() && done->second == signature) continue;
    json ready_addrs = json::array(), not_ready = json::array(), slice_endpoints = json::array();
    for (const PodInfo* selected_pod : selected) {
      const PodInfo& pod = *selected_pod;
      json target = {{"kind", "Pod"}, {"namespace", ns}, {"name", pod.name}, {"uid", pod.uid}};
      json address = {{"ip", pod.ip}, {"nodeName", pod.node}, {"targetRef", target}};
      (pod.ready ? ready_addrs : not_ready).push_back(address);
      slice_endpoints.push_back({{"addresses", {pod.ip}},
                                 {"conditions", {{"ready", pod.ready}, {"serving", pod.ready}, {"terminating", false}}},
                                 {"nodeName", pod.node},
                                 {"targetRef", target}});
    }
    // Ports: a numeric targetPort as is, a named one resolved on the first selected pod's containers.
    json ports = json::array();
    for (const auto& p : svc["spec"].value("ports", json::array())) {
      json target = p.value("targetPort", p.value("port", json(0)));
      int port = target.is_number() ? target.get<int>() : 0;
      if (target.is_string()) {
        port = std::atoi(target.get<std::string>().c_str());
        // A named port is looked up in the pods' specs, which the index does not keep.
        for (const PodInfo* info : selected) {
          if (port != 0) break;
          json pod = read_pod(*info);
          if (pod.is_null()) continue;
          for (const auto& c : pod["spec"].value("containers", json::array()))
            for (const auto& cp : c.value("ports", json::array()))
              if (cp.value("name", "") == target.get<std::string>() && port == 0) port = cp.value("containerPort", 0);
        }
      }
      if (port == 0) continue;
      json out = {{"port", port}, {"protocol", p.value("protocol", "TCP")}};
      if (p.contains("name")) out["name"] = p["name"];
      ports.push_back(out);
    }
    auto sort_by_ip = [](json& a) {
      std::sort(a.begin(), a.end(), [](const json& x, const json& y) { return x.value("ip", "") < y.value("ip", ""); });
    };
    sort_by_ip(ready_addrs);
    sort_by_ip(not_ready);
    json subset = json::object();
    if (!ready_addrs.empty()) subset["addresses"] = ready_addrs;
    if (!not_ready.empty()) subset["notReadyAddresses"] = not_ready;
    json subsets = json::array();
    if (!subset.empty()) {
      subset["ports"] = ports;
      subsets.push_back(subset);
    }
    json labels = svc["metadata"].value("labels", json::object());
    json current = cluster->get("/endpoints", ns + "/" + name);
    if (current.is_null()) {
      json ep = {{"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}}};
      if (!subsets.empty()) ep["subsets"] = subsets;
      cluster->create("/endpoints", ns, ep);
    } else if (current.value("subsets", json::array()) != subsets) {
      json updated = current;
      if (subsets.empty()) updated.erase("subsets");
      else updated["subsets"] = subsets;
      cluster->update("/endpoints", current, updated);
    }
    // One EndpointSlice per Service (the real controller splits at 100 endpoints).
    json slice_labels = labels;
    slice_labels["kubernetes.io/service-name"] = name;
    slice_labels["endpointslice.kubernetes.io/managed-by"] = "endpointslice-controller.k8s.io";
    json slice_ports = json::array();
    for (const auto& p : ports) slice_ports.push_back({{"name", p.value("name", "")}, {"port", p["port"]}, {"protocol", p["protocol"]}});
    json existing;
    for (json& s : owned_by("discovery.k8s.io/endpointslices", svc["metadata"].value("uid", "")))
      if (s["metadata"].value("labels", json::object()).value("kubernetes.io/service-name", "") == name)
        existing = std::move(s);
    if (existing.is_null()) {
      json slice = {{"metadata", {{"generateName", name + "-"}, {"namespace", ns}, {"labels", slice_labels},
                                  {"ownerReferences", json::array({controller_ref(svc)})}}},
                    {"addressType", "IPv4"}, {"endpoints", slice_endpoints}, {"ports", slice_ports}};
      cluster->create("discovery.k8s.io/endpointslices", ns, slice);
    } else if (existing.value("endpoints", json::array()) != slice_endpoints ||
               existing.value("ports", json::array()) != slice_ports) {
      json updated = existing;
      updated["endpoints"] = slice_endpoints;
      updated["ports"] = slice_ports;
      cluster->update("discovery.k8s.io/endpointslices", existing, updated);
    }
    endpoints_synced[svc_key] = signature;  // after the writes, whose changes cleared it
  }
}

}  // namespace kubelite::workloads
