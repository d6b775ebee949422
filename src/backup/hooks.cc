#include "backup/hooks.h"

#include "backup/item_actions.h"
#include "util/duration.h"

namespace arca::backup {

PodHookRunner::PodHookRunner(const api::BackupHooks& spec,
                             std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> resolved,
                             BackupLog& log, hooks::Executor exec)
    : spec_(spec), resolved_(std::move(resolved)), log_(log), exec_(std::move(exec)) {}

bool PodHookRunner::may_apply(std::string_view pod_json) const {
  return !spec_.resources.empty() || pod_json.find("hook.backup.velero.io/") != std::string_view::npos;
}

std::string PodHookRunner::run(const nlohmann::json& pod, const std::string& phase, const LogFields& fields) {
  const std::string ns = pod.value("/metadata/namespace"_json_pointer, "");
  const std::string name = pod.value("/metadata/name"_json_pointer, "");
  for (const auto& hook : pod_hooks(pod, spec_, resolved_, phase)) {
    if (!hook.warning.empty()) log_.warning(hook.warning, fields);
    const auto& h = hook.exec;
    // Velero keys annotation hooks without a name and spec hooks by theirs.
    const std::string key = hooks::HookTracker::key(ns, name, h.container, hook.source,
                                                    hook.source == "annotation" ? "" : h.name, phase);
    tracker_.add(key);
    const bool fail = h.on_error != api::HookErrorMode::Continue;  // ExecutePodCommand's default is Fail
    std::string command = nlohmann::json(h.command).dump();
    std::string where = " hookSource=" + hook.source + " hookType=exec hookPhase=" + phase + " hookName=" + h.name;
    log_.info("running exec hook" + where + " hookContainer=" + (h.container.empty() ? "<first>" : h.container) +
                  " hookCommand=" + command + " hookOnError=" + (fail ? "Fail" : "Continue") + " hookTimeout=" +
                  format_duration(h.timeout.count() > 0 ? h.timeout : std::chrono::nanoseconds(hooks::kDefaultExecTimeout)),
              fields);
    hooks::ExecOutcome outcome = hooks::execute_pod_command(exec_, pod, h);
    log_.info("stdout: " + outcome.stdout_data + where, fields);
    log_.info("stderr: " + outcome.stderr_data + where, fields);
    tracker_.record(key, !outcome.error.empty());
    if (outcome.error.empty()) continue;
    log_.error("Error executing hook" + where + " hookContainer=" + outcome.container, fields, outcome.error);
    if (fail) return "hook " + h.name + " (" + phase + ") in container " + outcome.container + ": " + outcome.error;
  }
  return "";
}

}  // namespace arca::backup
