// One kubelet per node, reduced to what the API and the disk show: a pod bound to the node gets its volume
// directories where the real kubelet puts them (<root>/pods/<uid>/volumes/kubernetes.io~empty-dir/<name>, a
// claim's volume at its PV's hostPath/local path or under kubernetes.io~csi/<pv>/mount), then its init
// containers one by one, then its containers, through the ContainerRuntime; restartPolicy with the crash-loop
// back-off; and the pod status (phase, IPs, conditions, container states) the real kubelet reports.
#include <filesystem>
#include <fstream>

#include "kubelite/objects.h"
#include "kubelite/storage/hostpath.h"
#include "kubelite/workloads/internal.h"
#include "kubelite/workloads/probes.h"

namespace kubelite::workloads {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::chrono::seconds kMaxBackoff(300);

}  // namespace

// A probe's consecutive results and its run under way, for one run of a container.
struct ProbeState {
  int successes = 0, failures = 0;
  Clock::time_point next{};
  std::shared_ptr<ProbeOutcome> outcome;  // in flight on the Prober
  std::string last_failure;  // a failure streak's events: one per distinct message, not one a period
};

struct ContainerState {
  std::string name, image, runtime_id;
  int restarts = 0;  // starts after the first
  int runs = 0;
  bool running = false, done = false, ever_started = false, ran = false;  // ran: a process did start
  std::string started_at;
  json state = json::object(), last_state = json::object();
  Clock::time_point next_start{};
  std::string log_dir;
  bool ready = false;  // the readiness probe's verdict (true without one)
  bool started = false;  // the startup probe has succeeded (true without one)
  ProbeState startup, readiness, liveness;
};

struct PodRuntime {
  std::string uid, key, node, dir, ip, host_ip, start_time;
  bool volumes_ready = false;
  std::map<std::string, std::string> volume_paths;  // volume name -> host directory
  std::vector<ContainerState> init, app;
};

namespace {

std::string log_path(const ContainerState& c, int run) { return c.log_dir + "/" + std::to_string(run) + ".log"; }

// Writes each key of a ConfigMap or Secret as a file.
// NodePublishVolume of the CSI host-path driver: its volume's directory appears at the kubelet's target path
// (kubernetes-csi/csi-driver-host-path bind-mounts it there). Here the target is a symlink to the directory:
// the container's sandbox binds its target (mount(2) follows the link), and nothing needs unmounting when the
// pod goes. A PV of another driver gets an empty directory, as before.
void publish_csi_volume(const std::string& csi_root, const json& pv, const std::string& target) {
  if (csi_root.empty() || pv.is_null()) return;
  const json& csi = pv["spec"].value("csi", json::object());
  if (csi.value("driver", "") != storage::kDriverName) return;
  std::string source = storage::volume_dir(csi_root, csi.value("volumeHandle", ""));
  if (source.empty() || !fs::is_directory(source)) return;
  std::error_code ec;
  if (fs::is_symlink(fs::symlink_status(target, ec))) return;
  fs::create_directories(fs::path(target).parent_path(), ec);
  fs::create_directory_symlink(source, target, ec);
}

void write_keys(const std::string& dir, const json& data, bool base64) {
  fs::create_directories(dir);
  for (const auto& [k, v] : data.items()) {
    std::string content = v.is_string() ? v.get<std::string>() : "";
    if (base64) {
      std::string decoded;
      if (base64_decode(content, decoded)) content = decoded;
    }
    std::ofstream(dir + "/" + k, std::ios::binary) << content;
  }
}

}  // namespace

void Workloads::Impl::stop_all_pods() {
  std::lock_guard lock(pods_mu);
  for (auto& [key, p] : pods)
    for (auto* list : {&p->init, &p->app})
      for (auto& c : *list)
        if (!c.runtime_id.empty()) runtime->stop(c.runtime_id);
  pods.clear();
}

std::map<std::string, int> Workloads::Impl::pods_per_node() {
  std::lock_guard lock(pods_mu);
  std::map<std::string, int> out;
  for (const auto& [key, p] : pods) ++out[p->node];
  return out;
}

void Workloads::Impl::sync_pod(const std::string& key, json pod) {
  // Held throughout: find_container (logs, exec) reads the same state from the HTTP threads.
  std::lock_guard pods_lock(pods_mu);
  std::shared_ptr<PodRuntime> local;
  if (auto it = pods.find(key); it != pods.end()) local = it->second;
  bool gone = pod.is_null() || is_terminating(pod) || (local && local->uid != pod["metadata"].value("uid", ""));
  if (local && gone) {
    // Deleted (or replaced by a pod of the same name): its processes and its pod directory go.
    for (auto* list : {&local->init, &local->app})
      for (auto& c : *list)
        if (!c.runtime_id.empty()) runtime->stop(c.runtime_id);
    std::error_code ec;
    fs::remove_all(local->dir, ec);
    pods.erase(key);
    local.reset();
  }
  if (pod.is_null() || is_terminating(pod)) return;
  const json& spec = pod["spec"];
  std::string node_name = spec.value("nodeName", "");
  const NodeInfo* node = nullptr;
  for (const NodeInfo& n : nodes)
    if (n.name == node_name) node = &n;
  if (!node) return;
  std::string phase = object_at(pod, "status").value("phase", "");
  if (!local && (phase == "Succeeded" || phase == "Failed")) return;  // finished before (a restart of kubelite)
  std::string ns = pod["metadata"].value("namespace", "");
  std::string name = pod["metadata"].value("name", "");
  std::string uid = pod["metadata"].value("uid", "");
  if (!local) {
    local = std::make_shared<PodRuntime>();
    local->uid = uid;
    local->key = key;
    local->node = node->name;
    local->dir = node->kubelet_root + "/pods/" + uid;
    std::string cidr = node_name.substr(node_name.rfind('-') + 1);
    ++next_pod_ip;
    local->ip = "10.244." + cidr + "." + std::to_string(2 + next_pod_ip % 250);
    local->host_ip = node->internal_ip;
    local->start_time = now_rfc3339();
    for (const char* kind : {"initContainers", "containers"})
      for (const auto& c : array_at(spec, kind)) {
        ContainerState s;
        s.name = c.value("name", "");
        s.image = c.value("image", "");
        s.log_dir = node->kubelet_root + "/logs/" + ns + "_" + name + "_" + uid + "/" + s.name;
        (std::string(kind) == "containers" ? local->app : local->init).push_back(s);
      }
    pods[key] = local;
  }
  auto now = Clock::now();
  Clock::time_point next_timer = Clock::time_point::max();

  // Volumes: directories on disk; a claim that is not Bound yet holds the pod in ContainerCreating.
  std::string volume_wait, waiting_for;
  if (!local->volumes_ready) {
    for (const auto& v : array_at(spec, "volumes")) {
      std::string vname = v.value("name", "");
      std::string base = local->dir + "/volumes/";
      std::string path;
      if (v.contains("persistentVolumeClaim")) {
        std::string claim_name = v["persistentVolumeClaim"].value("claimName", "");
        json claim = cluster->get("/persistentvolumeclaims", ns + "/" + claim_name);
        if (claim.is_null() || claim.value("status", json::object()).value("phase", "") != "Bound") {
          waiting_for = ns + "/" + claim_name;
          volume_wait = claim.is_null() ? "persistentvolumeclaim \"" + claim_name + "\" not found"
                                        : "persistentvolumeclaim \"" + claim_name + "\" is not bound";
          break;
        }
        std::string pv_name = claim["spec"].value("volumeName", "");
        json pv = cluster->get("/persistentvolumes", pv_name);
        if (!pv.is_null() && pv["spec"].contains("hostPath")) path = pv["spec"]["hostPath"].value("path", "");
        else if (!pv.is_null() && pv["spec"].contains("local")) path = pv["spec"]["local"].value("path", "");
        else {
          path = base + "kubernetes.io~csi/" + pv_name + "/mount";
          publish_csi_volume(options.csi_root, pv, path);
        }
      } else if (v.contains("hostPath")) {
        path = v["hostPath"].value("path", "");
      } else if (v.contains("configMap")) {
        path = base + "kubernetes.io~configmap/" + vname;
        json cm = cluster->get("/configmaps", ns + "/" + v["configMap"].value("name", ""));
        if (!cm.is_null()) write_keys(path, cm.value("data", json::object()), false);
      } else if (v.contains("secret")) {
        path = base + "kubernetes.io~secret/" + vname;
        json secret = cluster->get("/secrets", ns + "/" + v["secret"].value("secretName", ""));
        if (!secret.is_null()) write_keys(path, secret.value("data", json::object()), true);
      } else if (v.contains("projected")) {
        path = base + "kubernetes.io~projected/" + vname;
      } else {
        path = base + "kubernetes.io~empty-dir/" + vname;
      }
      std::error_code ec;
      fs::create_directories(path, ec);
      local->volume_paths[vname] = path;
    }
    if (volume_wait.empty()) {
      local->volumes_ready = true;
    } else {
      std::lock_guard lock(mu);
      claim_waiters[waiting_for].insert(key);
    }
  }

  std::string restart_policy = spec.value("restartPolicy", "Always");
  auto container_spec = [&](const json& c, ContainerState& s) {
    ContainerSpec out;
    out.id = uid + "/" + s.name + "/" + std::to_string(s.runs);
    for (const auto& a : c.value("command", json::array())) out.argv.push_back(a.get<std::string>());
    if (!out.argv.empty())
      for (const auto& a : c.value("args", json::array())) out.argv.push_back(a.get<std::string>());
    else if (c.contains("args"))  // no image entrypoint to prepend: the args are the command
      for (const auto& a : c.value("args", json::array())) out.argv.push_back(a.get<std::string>());
    out.env.push_back("HOSTNAME=" + name);
    out.env.push_back("KUBERNETES_SERVICE_HOST=10.96.0.1");
    out.env.push_back("KUBERNETES_SERVICE_PORT=443");
    for (const auto& e : array_at(c, "env")) {
      std::string value = e.value("value", "");
      if (e.contains("valueFrom")) {
        const json& from = e["valueFrom"];
        if (from.contains("fieldRef")) {
          std::string field = from["fieldRef"].value("fieldPath", "");
          if (field == "metadata.name") value = name;
          else if (field == "metadata.namespace") value = ns;
          else if (field == "metadata.uid") value = uid;
          else if (field == "spec.nodeName") value = node_name;
          else if (field == "status.podIP") value = local->ip;
          else if (field == "status.hostIP") value = local->host_ip;
        } else if (from.contains("configMapKeyRef") || from.contains("secretKeyRef")) {
          bool secret = from.contains("secretKeyRef");
          const json& ref = secret ? from["secretKeyRef"] : from["configMapKeyRef"];
          json source = cluster->get(secret ? "/secrets" : "/configmaps", ns + "/" + ref.value("name", ""));
          if (!source.is_null()) {
            value = source.value("data", json::object()).value(ref.value("key", ""), "");
            std::string decoded;
            if (secret && base64_decode(value, decoded)) value = decoded;
          }
        }
      }
      out.env.push_back(e.value("name", "") + "=" + value);
    }
    out.working_dir = c.value("workingDir", "");
    for (const auto& m : array_at(c, "volumeMounts")) {
      auto v = local->volume_paths.find(m.value("name", ""));
      if (v == local->volume_paths.end()) continue;
      std::string host = v->second;
      if (!m.value("subPath", "").empty()) {
        host += "/" + m.value("subPath", "");
        std::error_code ec;
        fs::create_directories(host, ec);
      }
      out.mounts.push_back({host, m.value("mountPath", ""), m.value("readOnly", false)});
    }
    out.log_path = log_path(s, s.runs);
    out.runs_to_completion = restart_policy != "Always";
    return out;
  };
  auto backoff = [&](const ContainerState& s) {
    auto delay = options.restart_backoff * (1 << std::min(s.restarts, 5));
    return std::min<Clock::duration>(delay, kMaxBackoff);
  };
  auto start = [&](const json& c, ContainerState& s, bool is_init) {
    if (s.ever_started) ++s.restarts;
    ContainerSpec cs = container_spec(c, s);
    ++s.runs;
    s.runtime_id = cs.id;
    std::string error;
    s.ever_started = true;
    if (!runtime->start(cs, error)) {
      s.runtime_id.clear();
      std::string t = now_rfc3339();
      s.last_state = {{"terminated", {{"exitCode", 128}, {"reason", "StartError"}, {"message", error},
                                      {"startedAt", "1970-01-01T00:00:00Z"}, {"finishedAt", t},
                                      {"containerID", "kubelite://" + cs.id}}}};
      s.state = {{"waiting", {{"reason", "RunContainerError"}, {"message", error}}}};
      s.next_start = now + backoff(s);
      record_event(*this, pod, "Warning", "Failed", "Error: " + error, "kubelet");
      return false;
    }
    s.running = true;
    s.ran = true;
    s.started_at = now_rfc3339();
    s.state = {{"running", {{"startedAt", s.started_at}}}};
    // Probes start over with each run: not ready until the readiness probe says so (ready at once without one,
    // or without processes to probe), the first probes after initialDelaySeconds.
    s.ready = !(c.contains("readinessProbe") && runtime->polled());
    s.started = !(c.contains("startupProbe") && runtime->polled());
    s.startup = {};
    s.readiness = {};
    s.liveness = {};
    s.startup.next = now + std::chrono::seconds(c.value("startupProbe", json::object()).value("initialDelaySeconds", 0));
    s.readiness.next = now + std::chrono::seconds(c.value("readinessProbe", json::object()).value("initialDelaySeconds", 0));
    s.liveness.next = now + std::chrono::seconds(c.value("livenessProbe", json::object()).value("initialDelaySeconds", 0));
    if (s.restarts == 0) {
      record_event(*this, pod, "Normal", "Pulled", "Container image \"" + s.image + "\" already present on machine",
                   "kubelet");
      record_event(*this, pod, "Normal", "Created", "Created container " + s.name, "kubelet");
      record_event(*this, pod, "Normal", "Started", "Started container " + s.name, "kubelet");
    }
    (void)is_init;
    return true;
  };
  // A stopped container: should it run again (restartPolicy), and when.
  auto finish = [&](ContainerState& s, int code, bool is_init) {
    s.running = false;
    std::string t = now_rfc3339();
    s.state = {{"terminated", {{"exitCode", code}, {"reason", code == 0 ? "Completed" : "Error"}, {"startedAt", s.started_at},
                               {"finishedAt", t}, {"containerID", "kubelite://" + s.runtime_id}}}};
    runtime->stop(s.runtime_id);
    bool restart = restart_policy == "Always" ? !(is_init && code == 0)
                                              : restart_policy == "OnFailure" && code != 0;
    if (is_init && code != 0 && restart_policy != "Never") restart = true;
    if (!restart) {
      s.done = true;
      return;
    }
    s.last_state = s.state;
    s.next_start = Clock::now() + backoff(s);
    std::string message = "back-off " + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(backoff(s)).count()) +
                          "s restarting failed container=" + s.name + " pod=" + name + "_" + ns + "(" + uid + ")";
    s.state = {{"waiting", {{"reason", "CrashLoopBackOff"}, {"message", message}}}};
    if (code != 0) record_event(*this, pod, "Warning", "BackOff", "Back-off restarting failed container " + s.name +
                                                                       " in pod " + name + "_" + ns + "(" + uid + ")", "kubelet");
  };
  // Startup, readiness and liveness probes of a running app container (k8s.io/kubernetes/pkg/kubelet/prober): an
  // outcome that came in counts towards successThreshold/failureThreshold; a liveness or startup failure streak
  // kills the container, which restartPolicy then restarts; the next probe goes out periodSeconds later. Until
  // the startup probe succeeds, the other two do not run (the prober's workers skip them while not started).
  auto probe = [&](const json& c, ContainerState& s) {
    if (!runtime->polled()) return;
    enum Kind { Startup, Readiness, Liveness };
    for (Kind kind : {Startup, Readiness, Liveness}) {
      const char* field = kind == Startup ? "startupProbe" : kind == Liveness ? "livenessProbe" : "readinessProbe";
      if (!c.contains(field) || !s.running) continue;
      if (kind == Startup ? s.started : !s.started) continue;
      bool liveness = kind == Liveness;
      const json& spec = c[field];
      ProbeState& p = kind == Startup ? s.startup : liveness ? s.liveness : s.readiness;
      if (p.outcome) {
        bool done = false, success = false;
        std::string message;
        {
          std::lock_guard lock(p.outcome->mu);
          done = p.outcome->done;
          success = p.outcome->success;
          message = p.outcome->message;
        }
        if (!done) continue;
        p.outcome.reset();
        p.next = now + std::chrono::seconds(std::max(1, spec.value("periodSeconds", 10)));
        std::string previous_failure = p.last_failure;
        if (success) {
          ++p.successes;
          p.failures = 0;
          p.last_failure.clear();
        } else {
          ++p.failures;
          p.successes = 0;
          p.last_failure = message;
        }
        if (kind == Startup) {
          if (success) {
            s.started = true;  // the readiness and liveness probes start now
            continue;
          }
          record_event(*this, pod, "Warning", "Unhealthy", "Startup probe failed: " + message, "kubelet");
          if (p.failures >= std::max(1, spec.value("failureThreshold", 3))) {
            record_event(*this, pod, "Normal", "Killing",
                         "Container " + s.name + " failed startup probe, will be restarted", "kubelet");
            finish(s, 137, false);
            return;
          }
        } else if (!liveness) {
          if (success && p.successes >= std::max(1, spec.value("successThreshold", 1))) s.ready = true;
          if (!success && p.failures >= std::max(1, spec.value("failureThreshold", 3))) s.ready = false;
          if (!success && (p.failures == 1 || message != previous_failure))
            record_event(*this, pod, "Warning", "Unhealthy", "Readiness probe failed: " + message, "kubelet");
        } else if (!success) {
          record_event(*this, pod, "Warning", "Unhealthy", "Liveness probe failed: " + message, "kubelet");
          if (p.failures >= std::max(1, spec.value("failureThreshold", 3))) {
            record_event(*this, pod, "Normal", "Killing",
                         "Container " + s.name + " failed liveness probe, will be restarted", "kubelet");
            finish(s, 137, false);  // stops the container; restartPolicy decides what follows
            return;
          }
        }
      }
      if (!p.outcome && now >= p.next) {
        auto outcome = std::make_shared<ProbeOutcome>();
        p.outcome = outcome;
        prober->submit([this, outcome, id = s.runtime_id, spec, c, key] {
          std::string message;
          bool ok = run_probe(*runtime, id, spec, c, message);
          {
            std::lock_guard lock(outcome->mu);
            outcome->done = true;
            outcome->success = ok;
            outcome->message = message;
          }
          enqueue(Work::Pod, key);
        });
      }
      if (!p.outcome) next_timer = std::min(next_timer, p.next);
    }
  };
  auto step = [&](const json& c, ContainerState& s, bool is_init) {
    if (s.running) {
      if (auto code = runtime->exit_code(s.runtime_id)) finish(s, *code, is_init);
    }
    if (s.running && !is_init) probe(c, s);
    if (!s.running && !s.done && local->volumes_ready) {
      if (now >= s.next_start) {
        if (!start(c, s, is_init)) {
          next_timer = std::min(next_timer, s.next_start);
        } else if (auto code = runtime->exit_code(s.runtime_id)) {
          finish(s, *code, is_init);  // the no-process runtime's containers that run to completion
        }
      }
      if (!s.running && !s.done) next_timer = std::min(next_timer, s.next_start);
    }
    if (s.running && runtime->polled()) next_timer = std::min(next_timer, now + std::chrono::milliseconds(200));
  };

  const json& init_specs = array_at(spec, "initContainers");
  const json& app_specs = array_at(spec, "containers");
  bool initialized = true;
  bool init_failed = false;
  for (size_t i = 0; i < local->init.size(); ++i) {
    ContainerState& s = local->init[i];
    if (s.done) {
      if (s.state.contains("terminated") && s.state["terminated"].value("exitCode", 0) != 0) init_failed = true;
      continue;
    }
    step(init_specs[i], s, true);
    if (!s.done) {
      initialized = false;
      break;
    }
    if (s.state["terminated"].value("exitCode", 0) != 0) init_failed = true;
  }
  if (initialized && !init_failed)
    for (size_t i = 0; i < local->app.size(); ++i) step(app_specs[i], local->app[i], false);

  // Status.
  bool all_done = !local->app.empty() && initialized;
  bool all_zero = true, any_running = false, all_ready = initialized && !init_failed;
  for (const auto& s : local->app) {
    all_done &= s.done;
    if (s.done && s.state["terminated"].value("exitCode", 0) != 0) all_zero = false;
    any_running |= s.running;
    all_ready &= s.running && s.ready && s.started;
  }
  std::string new_phase = "Pending";
  if (init_failed) new_phase = "Failed";
  else if (all_done) new_phase = all_zero ? "Succeeded" : "Failed";
  else if (initialized && (any_running || std::any_of(local->app.begin(), local->app.end(), [](const auto& s) { return s.ran; })))
    new_phase = "Running";
  auto statuses = [&](std::vector<ContainerState>& list, const json& specs, bool is_init) {
    json out = json::array();
    for (size_t i = 0; i < list.size(); ++i) {
      ContainerState& s = list[i];
      json state = s.state;
      if (state.empty())
        state = {{"waiting", {{"reason", is_init || initialized ? "ContainerCreating" : "PodInitializing"}}}};
      if (!volume_wait.empty()) state = {{"waiting", {{"reason", "ContainerCreating"}}}};
      json cs = {{"name", s.name}, {"state", state}, {"lastState", s.last_state},
                 {"ready", !is_init ? s.running && s.ready && s.started : s.done}, {"restartCount", s.restarts},
                 {"image", s.image}, {"imageID", ""}, {"started", s.running && s.started}};
      if (!s.runtime_id.empty() || s.ever_started) cs["containerID"] = "kubelite://" + (s.runtime_id.empty() ? uid + "/" + s.name : s.runtime_id);
      json volume_mounts = json::array();
      for (const auto& m : array_at(specs[i], "volumeMounts"))
        volume_mounts.push_back({{"name", m.value("name", "")}, {"mountPath", m.value("mountPath", "")}});
      if (!volume_mounts.empty()) cs["volumeMounts"] = volume_mounts;
      out.push_back(cs);
    }
    return out;
  };
  const json& before = object_at(pod, "status");
  json status = before;
  status["phase"] = new_phase;
  status["hostIP"] = local->host_ip;
  status["hostIPs"] = {{{"ip", local->host_ip}}};
  status["startTime"] = local->start_time;
  status["qosClass"] = "BestEffort";
  if (local->volumes_ready) {
    status["podIP"] = local->ip;
    status["podIPs"] = {{{"ip", local->ip}}};
  }
  bool ready = all_ready && new_phase == "Running";
  json conditions = status.value("conditions", json::array());
  std::string t = now_rfc3339();
  auto cond = [&](const char* type, bool value, const char* reason = nullptr) {
    json c = {{"type", type}, {"status", value ? "True" : "False"}, {"lastProbeTime", nullptr}, {"lastTransitionTime", t}};
    if (reason && !value) c["reason"] = reason;
    set_condition(conditions, c);
  };
  cond("PodReadyToStartContainers", local->volumes_ready);
  cond("Initialized", initialized && !init_failed, "ContainersNotInitialized");
  cond("Ready", ready, new_phase == "Succeeded" ? "PodCompleted" : "ContainersNotReady");
  cond("ContainersReady", ready, new_phase == "Succeeded" ? "PodCompleted" : "ContainersNotReady");
  cond("PodScheduled", true);
  status["conditions"] = conditions;
  if (!local->init.empty()) status["initContainerStatuses"] = statuses(local->init, init_specs, true);
  status["containerStatuses"] = statuses(local->app, app_specs, false);
  if (status != before) {
    // Only the status is read of a /status body: the pod is not copied into it.
    cluster->update_status("/pods", pod, {{"metadata", json::object()}, {"status", std::move(status)}});
  }
  if (new_phase == "Succeeded" || new_phase == "Failed") {
    for (auto* list : {&local->init, &local->app})
      for (auto& c : *list)
        if (!c.runtime_id.empty()) runtime->stop(c.runtime_id);
    return;
  }
  if (next_timer != Clock::time_point::max()) {
    std::lock_guard lock(mu);
    auto& at = timers[{Work::Pod, key}];
    if (at == Clock::time_point{} || next_timer < at) at = next_timer;
  }
}

bool Workloads::find_container(const std::string& ns, const std::string& pod, const std::string& container,
                               ContainerRef& out) {
  std::lock_guard lock(impl_->pods_mu);
  auto it = impl_->pods.find(ns + "/" + pod);
  if (it == impl_->pods.end()) return false;
  for (auto* list : {&it->second->app, &it->second->init})
    for (const auto& c : *list) {
      if (!container.empty() && c.name != container) continue;
      if (c.runs == 0) return false;
      out.runtime_id = c.runtime_id;
      out.log_path = log_path(c, c.runs - 1);
      out.previous_log_path = c.runs >= 2 ? log_path(c, c.runs - 2) : "";
      out.running = c.running;
      return true;
    }
  return false;
}

}  // namespace kubelite::workloads
