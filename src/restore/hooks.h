#pragma once
// Restore hooks (Velero's internal/hook). Init-container hooks, from pod annotations or spec.hooks, are inserted
// into the pod spec before the pod is created, as Velero's init-restore-hook action does. Exec hooks run
// commands inside restored containers once they run (restore/exec_hooks.h).
#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/types.h"
#include "hooks/pod_exec.h"

namespace arca::restore {

// Velero's restore_controller.go validateAndComplete step 6: every init container of the spec hooks must have a name, an image and a command.
std::vector<std::string> validate_restore_hooks(const api::RestoreHooks& hooks);

using hooks::parse_hook_command;

// Inserts the init hook containers into `pod` (going to `target_ns`) ahead of its own init containers; a
// leading `restore-wait` container stays first. Annotation hooks win over spec hooks. Returns an error message
// for a spec container without name, image or command, "" otherwise.
std::string apply_init_hooks(nlohmann::json& pod, const std::string& target_ns, const api::RestoreHooks& hooks);

struct ExecHookRequest {
  std::string hook;       // the spec hook's name, or "<from-annotation>"
  std::string source;     // "annotation" | "spec"
  std::string container;  // the pod's first container when the hook names none
  std::vector<std::string> command;
  api::HookErrorMode on_error = api::HookErrorMode::unset;  // unset behaves as Continue (Velero's default here)
  std::chrono::nanoseconds exec_timeout{0};  // 0: 30s
  std::chrono::nanoseconds wait_timeout{0};  // 0: wait until the container runs, however long
  bool wait_for_ready = false;
  std::vector<std::string> warnings;  // annotation values that do not parse (Velero ignores them, with a warning)
};

// The exec hooks that apply to a restored pod in `target_ns`: from its annotations, else from the spec.
std::vector<ExecHookRequest> exec_hooks_for(const nlohmann::json& pod, const std::string& target_ns,
                                            const api::RestoreHooks& hooks);

}  // namespace arca::restore
