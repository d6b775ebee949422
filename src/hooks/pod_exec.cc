#include "hooks/pod_exec.h"

#include <algorithm>

#include "util/duration.h"

namespace arca::hooks {

using nlohmann::json;

std::vector<std::string> parse_hook_command(const std::string& text) {
  if (!text.empty() && text[0] == '[') {
    json parsed = json::parse(text, nullptr, false);
    if (parsed.is_array() && std::all_of(parsed.begin(), parsed.end(), [](const json& e) { return e.is_string(); }))
      return parsed.get<std::vector<std::string>>();
  }
  return {text};
}

ExecOutcome execute_pod_command(const Executor& exec, const json& pod, const ExecHook& hook) {
  ExecOutcome out;
  const json containers = pod.value("/spec/containers"_json_pointer, json::array());
  out.container = hook.container;
  if (out.container.empty()) {
    if (containers.empty() || !containers[0].is_object()) {
      out.error = "need at least 1 container";
      return out;
    }
    out.container = containers[0].value("name", "");
  } else if (std::none_of(containers.begin(), containers.end(), [&](const json& c) {
               return c.is_object() && c.value("name", "") == hook.container;
             })) {
    out.error = "no such container: \"" + hook.container + "\"";
    return out;
  }
  if (hook.command.empty()) {
    out.error = "command is required";
    return out;
  }
  auto timeout = hook.timeout.count() > 0 ? hook.timeout : std::chrono::nanoseconds(kDefaultExecTimeout);
  kube::ExecRequest request;
  request.namespace_name = pod.value("/metadata/namespace"_json_pointer, "");
  request.pod = pod.value("/metadata/name"_json_pointer, "");
  request.container = out.container;
  request.command = hook.command;
  request.timeout = std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
  kube::ExecResult result = exec(request);
  out.stdout_data = std::move(result.stdout_data);
  out.stderr_data = std::move(result.stderr_data);
  if (result.timed_out) {
    out.timed_out = true;
    out.error = "timed out after " + format_duration(timeout);
  } else if (!result.error.empty()) {
    out.error = result.error;
  } else if (result.exit_code != 0) {
    // client-go's CodeExitError text, which Velero logs as the hook's error.
    out.error = "command terminated with non-zero exit code: " + std::to_string(result.exit_code);
  }
  return out;
}

std::string HookTracker::key(const std::string& ns, const std::string& pod, const std::string& container,
                             const std::string& source, const std::string& hook_name, const std::string& phase) {
  return ns + '\0' + pod + '\0' + container + '\0' + source + '\0' + hook_name + '\0' + phase;
}

void HookTracker::add(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (executed_.emplace(key, false).second) ++attempted_;
}

void HookTracker::record(const std::string& key, bool failed) {
  std::lock_guard lock(mutex_);
  auto it = executed_.find(key);
  if (it == executed_.end() || it->second) return;
  it->second = true;
  if (failed) ++failed_;
}

api::HookStatus HookTracker::status() const {
  std::lock_guard lock(mutex_);
  api::HookStatus s;
  s.hooks_attempted = attempted_;
  s.hooks_failed = failed_;
  return s;
}

bool HookTracker::any() const {
  std::lock_guard lock(mutex_);
  return attempted_ > 0 || failed_ > 0;
}

}  // namespace arca::hooks
