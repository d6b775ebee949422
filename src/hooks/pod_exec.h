#pragma once
// What backup and restore hooks share (Velero's pkg/podexec and internal/hook/hook_tracker.go): running one exec
// hook in a pod's container with Velero's defaults and its error texts, the hook command's text form, and the
// hooksAttempted / hooksFailed counts of a Backup's or Restore's status.
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "api/types.h"
#include "kube/exec.h"

namespace arca::hooks {

// Velero's parseStringToCommand: a JSON array of strings, else the whole text as the only element.
std::vector<std::string> parse_hook_command(const std::string& text);

// One exec hook as Velero's ExecutePodCommand receives it.
struct ExecHook {
  std::string name;       // the spec hook's name, or "<from-annotation>"
  std::string container;  // "" = the pod's first container
  std::vector<std::string> command;
  api::HookErrorMode on_error = api::HookErrorMode::unset;  // unset means Fail here, as in ExecutePodCommand
  std::chrono::nanoseconds timeout{0};                       // 0 = Velero's default of 30s
};

struct ExecOutcome {
  std::string container;  // the container it ran in (after defaulting)
  std::string error;      // "" when the command exited 0; else Velero's text, e.g. "timed out after 1s"
  std::string stdout_data, stderr_data;
  bool timed_out = false;
};

// Runs a request against the cluster; the engines pass kube::exec_in_pod bound to their transport.
using Executor = std::function<kube::ExecResult(const kube::ExecRequest&)>;

constexpr std::chrono::seconds kDefaultExecTimeout{30};

// Velero's ExecutePodCommand: the container defaults to the pod's first one and must exist in `pod`'s spec, the
// command must not be empty, the timeout defaults to 30s; a timeout closes the stream (the command is not killed
// in the container: the exec protocol has no way to), and a non-zero exit is an error naming the code.
ExecOutcome execute_pod_command(const Executor& exec, const nlohmann::json& pod, const ExecHook& hook);

// Velero's HookTracker: a hook counts as attempted when it is about to run and as failed when it reported an error.
// Hooks are keyed like Velero's (pod namespace and name, container, source, hook name, phase), so two entries of one
// spec hook for the same container count once, as in Velero. Thread-safe.
class HookTracker {
 public:
  static std::string key(const std::string& ns, const std::string& pod, const std::string& container,
                         const std::string& source, const std::string& hook_name, const std::string& phase);
  void add(const std::string& key);
  // The first result recorded for a key counts; later ones are ignored, as in Velero.
  void record(const std::string& key, bool failed);
  api::HookStatus status() const;
  // Whether any hook was attempted: Velero leaves status.hookStatus out otherwise.
  bool any() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, bool> executed_;  // key → a result was recorded
  int attempted_ = 0, failed_ = 0;
};

}  // namespace arca::hooks
