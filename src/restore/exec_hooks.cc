#include "restore/exec_hooks.h"

#include <algorithm>

#include "kube/errors.h"
#include "kube/transport.h"
#include "util/duration.h"

namespace arca::restore {

using nlohmann::json;

namespace {

const json* container_status(const json& pod, const std::string& container) {
  const json* statuses = pod.contains("status") ? &pod["status"] : nullptr;
  if (!statuses || !statuses->contains("containerStatuses") || !(*statuses)["containerStatuses"].is_array()) return nullptr;
  for (const auto& s : (*statuses)["containerStatuses"])
    if (s.is_object() && s.value("name", "") == container) return &s;
  return nullptr;
}

// Velero's isContainerUp: running, and ready too when one of the container's hooks waits for readiness.
bool container_up(const json& pod, const std::string& container, bool need_ready) {
  const json* s = container_status(pod, container);
  if (!s || !s->contains("state") || !(*s)["state"].contains("running")) return false;
  return !need_ready || s->value("ready", false);
}

struct Pending {
  std::string container;
  std::vector<ExecHookRequest> hooks;
  std::vector<bool> executed;
};

}  // namespace

PostRestoreExecHooks::PostRestoreExecHooks(kube::Transport& transport, hooks::Executor exec, HookReporter reporter,
                                           std::chrono::milliseconds poll)
    : transport_(transport), exec_(std::move(exec)), report_(std::move(reporter)), poll_(poll) {}

PostRestoreExecHooks::~PostRestoreExecHooks() {
  // Reached without wait() only when the restore stopped early: nothing is left to wait for.
  cancelled_ = true;
  wait();
}

void PostRestoreExecHooks::start(const json& pod, std::vector<ExecHookRequest> requests) {
  if (requests.empty()) return;
  std::lock_guard lock(mutex_);
  threads_.emplace_back([this, pod, requests = std::move(requests)]() mutable { handle(pod, std::move(requests)); });
}

void PostRestoreExecHooks::wait() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

void PostRestoreExecHooks::handle(const json& created, std::vector<ExecHookRequest> requests) {
  const std::string ns = created.value("/metadata/namespace"_json_pointer, "");
  const std::string name = created.value("/metadata/name"_json_pointer, "");
  const std::string pod_id = ns + "/" + name;
  const auto started = std::chrono::steady_clock::now();

  // Hooks grouped by container in the order they were given; hooks for a container the pod lacks are dropped
  // (they would wait for ever).
  std::vector<Pending> pending;
  const json containers = created.value("/spec/containers"_json_pointer, json::array());
  for (auto& request : requests) {
    for (const auto& w : request.warnings) report_.warning("pod " + pod_id + ": " + w);
    bool exists = std::any_of(containers.begin(), containers.end(),
                              [&](const json& c) { return c.is_object() && c.value("name", "") == request.container; });
    if (!exists) {
      report_.warning("Pod " + pod_id + " does not have container " + request.container +
                      ": discarding post-restore exec hooks");
      continue;
    }
    auto it = std::find_if(pending.begin(), pending.end(), [&](const Pending& p) { return p.container == request.container; });
    if (it == pending.end()) it = pending.insert(pending.end(), Pending{request.container, {}, {}});
    it->hooks.push_back(std::move(request));
    it->executed.push_back(false);
  }
  if (pending.empty()) return;

  // Velero watches for the longest wait-timeout of the pod's hooks, and without limit when one has none
  // (wait_exec_hook_handler.go's maxHookWait is then 0: no deadline on the context).
  std::chrono::nanoseconds max_wait{0};
  bool unlimited = false;
  for (const auto& p : pending)
    for (const auto& h : p.hooks) {
      if (h.wait_timeout.count() <= 0) unlimited = true;
      max_wait = std::max(max_wait, h.wait_timeout);
    }
  const auto deadline = started + max_wait;

  std::string stop_reason = "context deadline exceeded";
  std::vector<Pending> done;
  bool stop = false;
  while (!stop && !pending.empty()) {
    if (cancelled_) {
      stop_reason = "context canceled";
      break;
    }
    if (!unlimited && std::chrono::steady_clock::now() >= deadline) break;
    json pod;
    try {
      kube::HttpRequest get;
      get.path = "/api/v1/namespaces/" + kube::query_escape(ns) + "/pods/" + kube::query_escape(name);
      auto response = transport_.send(get);
      if (response.status == 404) {
        report_.log_error("Pod " + pod_id + " deleted before all hooks were executed");
        stop_reason = "context canceled";
        break;
      }
      if (response.status >= 200 && response.status < 300) pod = json::parse(response.body, nullptr, false);
    } catch (const kube::KubeError&) {
      // the API server is unreachable for a moment: the deadline still bounds the wait
    }
    if (pod.is_object()) {
      const std::string phase = pod.value("/status/phase"_json_pointer, "");
      if (phase == "Succeeded" || phase == "Failed") {
        report_.warning("Pod " + pod_id + " entered phase " + phase + " before some post-restore exec hooks ran");
        stop_reason = "context canceled";
        break;
      }
      for (auto it = pending.begin(); it != pending.end() && !stop;) {
        bool need_ready = std::any_of(it->hooks.begin(), it->hooks.end(), [](const auto& h) { return h.wait_for_ready; });
        if (!container_up(pod, it->container, need_ready)) {
          ++it;
          continue;
        }
        for (size_t i = 0; i < it->hooks.size() && !stop; ++i) {
          const ExecHookRequest& h = it->hooks[i];
          it->executed[i] = true;
          const bool fail = h.on_error == api::HookErrorMode::Fail;
          const std::string where = " hookSource=" + h.source + " hookType=exec hookPhase=post hookName=" + h.hook +
                                    " pod=" + pod_id;
          if (h.wait_timeout.count() > 0 && std::chrono::steady_clock::now() - started > h.wait_timeout) {
            std::string error = "hook " + h.hook + " in container " + h.container + " expired before executing";
            if (fail) {
              report_.error(ns, error + where);
              cancelled_ = true;
              stop = true;
              break;
            }
            report_.log_error(error + where);  // and, as in Velero, it runs all the same
          }
          const std::string key =
              hooks::HookTracker::key(ns, name, h.container, h.source, h.source == "annotation" ? "" : h.hook, "");
          tracker_.add(key);
          auto timeout = h.exec_timeout.count() > 0 ? h.exec_timeout : std::chrono::nanoseconds(hooks::kDefaultExecTimeout);
          report_.info("running exec hook" + where + " hookContainer=" + h.container + " hookCommand=" +
                       json(h.command).dump() + " hookOnError=" + (fail ? "Fail" : "Continue") +
                       " hookTimeout=" + format_duration(timeout));
          hooks::ExecOutcome outcome =
              hooks::execute_pod_command(exec_, pod, {h.hook, h.container, h.command, api::HookErrorMode::Fail, timeout});
          report_.info("stdout: " + outcome.stdout_data + where);
          report_.info("stderr: " + outcome.stderr_data + where);
          tracker_.record(key, !outcome.error.empty());
          if (outcome.error.empty()) continue;
          std::string error = "Error executing hook" + where + " hookContainer=" + h.container + ": " + outcome.error;
          if (fail) {
            report_.error(ns, error);
            cancelled_ = true;
            stop = true;
          } else {
            report_.log_error(error);
          }
        }
        done.push_back(std::move(*it));
        it = pending.erase(it);
      }
    }
    if (!stop && !pending.empty()) std::this_thread::sleep_for(poll_);
  }
  // What never ran: each is an error in the log, and a restore error when its onError is Fail.
  for (const auto* list : {&pending, &done})
    for (const auto& p : *list)
      for (size_t i = 0; i < p.hooks.size(); ++i) {
        if (p.executed[i]) continue;
        const auto& h = p.hooks[i];
        std::string error = "Hook " + h.hook + " in container " + h.container + " in pod " + pod_id +
                            " not executed: " + stop_reason;
        if (h.on_error == api::HookErrorMode::Fail)
          report_.error(ns, error);
        else
          report_.log_error(error);
      }
}

}  // namespace arca::restore
