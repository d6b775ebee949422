#pragma once
// Backup hooks as Velero runs them (Velero's internal/hook/item_hook_handler.go, pkg/backup/item_backupper.go):
// for each pod the backup selects, its pre hooks before the pod's item actions and volume data, its post hooks
// after them (after the pod's file-system backups have finished). A hook whose onError is Fail (the default) and
// that fails stops the hooks of that phase and keeps the pod out of the backup; a Continue hook's failure is
// logged as an error and the pod is backed up. Output and errors go to the backup log.
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/types.h"
#include "backup/backup_log.h"
#include "hooks/pod_exec.h"

namespace arca::backup {

class PodHookRunner {
 public:
  // `resolved_resources`: each spec.hooks.resources[] entry's resource lists resolved to `resource.group`.
  PodHookRunner(const api::BackupHooks& spec,
                std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> resolved_resources,
                BackupLog& log, hooks::Executor exec);

  // Whether a pod with this JSON text can have hooks at all (most pods need not be parsed for them).
  bool may_apply(std::string_view pod_json) const;

  // Runs the pod's hooks of `phase` ("pre" | "post") in order. Returns "" when the pod may still be backed up,
  // else the error of the Fail-mode hook that stopped the phase.
  std::string run(const nlohmann::json& pod, const std::string& phase, const LogFields& fields);

  // hooksAttempted / hooksFailed so far.
  const hooks::HookTracker& tracker() const { return tracker_; }

 private:
  const api::BackupHooks& spec_;
  std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> resolved_;
  BackupLog& log_;
  hooks::Executor exec_;
  hooks::HookTracker tracker_;
};

}  // namespace arca::backup
