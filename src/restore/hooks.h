#pragma once
// Restore hooks (Velero's internal/hook). Init-container hooks, from pod annotations or spec.hooks, are inserted
// into the pod spec before the pod is created, as Velero's init-restore-hook action does. Exec hooks run
// commands inside restored containers; arca cannot exec into pods, so the engine reports each one as a
// warning instead of dropping it silently.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/types.h"

namespace arca::restore {

// Velero's restore_controller.go validateAndComplete step 6: every init container of the spec hooks must have a name, an image and a command.
std::vector<std::string> validate_restore_hooks(const api::RestoreHooks& hooks);

// Velero's parseStringToCommand: a JSON array of strings, else the whole text as the only element.
std::vector<std::string> parse_hook_command(const std::string& text);

// Inserts the init hook containers into `pod` (going to `target_ns`) ahead of its own init containers; a
// leading `restore-wait` container stays first. Annotation hooks win over spec hooks. Returns an error message
// for a spec container without name, image or command, "" otherwise.
std::string apply_init_hooks(nlohmann::json& pod, const std::string& target_ns, const api::RestoreHooks& hooks);

struct ExecHookRequest {
  std::string hook;       // the spec hook's name, or "<from-annotation>"
  std::string container;  // the pod's first container when the hook names none
  std::vector<std::string> command;
  api::HookErrorMode on_error = api::HookErrorMode::unset;
};

// The exec hooks that apply to a restored pod in `target_ns`: from its annotations, else from the spec.
std::vector<ExecHookRequest> exec_hooks_for(const nlohmann::json& pod, const std::string& target_ns,
                                            const api::RestoreHooks& hooks);

}  // namespace arca::restore
