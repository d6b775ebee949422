#include "restore/hooks.h"

#include <random>

#include "restore/item_actions.h"
#include "util/duration.h"
#include "util/includes_excludes.h"
#include "util/label_selector.h"

namespace arca::restore {

namespace {

using nlohmann::json;

constexpr const char* kInitImage = "init.hook.restore.velero.io/container-image";
constexpr const char* kInitName = "init.hook.restore.velero.io/container-name";
constexpr const char* kInitCommand = "init.hook.restore.velero.io/command";
constexpr const char* kExecCommand = "post.hook.restore.velero.io/command";
constexpr const char* kExecContainer = "post.hook.restore.velero.io/container";
constexpr const char* kExecOnError = "post.hook.restore.velero.io/on-error";
constexpr const char* kExecTimeout = "post.hook.restore.velero.io/exec-timeout";
constexpr const char* kExecWaitTimeout = "post.hook.restore.velero.io/wait-timeout";
constexpr const char* kExecWaitForReady = "post.hook.restore.velero.io/wait-for-ready";
constexpr const char* kRestoreWait = "restore-wait";  // the pod-volume restore helper, which must run first

std::string annotation(const json& pod, const char* key) {
  const json annotations = pod.value("/metadata/annotations"_json_pointer, json::object());
  auto it = annotations.find(key);
  return it != annotations.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Velero's ResourceHookSelector for restore hooks: the namespace lists and the label selector; the resource
// lists are not consulted, restore hooks only ever apply to pods.
bool applies_to(const api::RestoreResourceHookSpec& spec, const std::string& ns, const Labels& labels) {
  if (!IncludesExcludes{spec.included_namespaces, spec.excluded_namespaces}.should_include(ns)) return false;
  return !spec.label_selector || selector_matches(*spec.label_selector, labels);
}

bool valid_container(const json& container) {
  auto non_empty = [&](const char* field) {
    auto it = container.find(field);
    return it != container.end() && !it->empty() && (!it->is_string() || !it->get<std::string>().empty());
  };
  return container.is_object() && non_empty("name") && non_empty("image") && non_empty("command");
}

std::string invalid_container_message(const std::string& hook) {
  return "invalid InitContainer in restore hook " + hook + ", it doesn't have Command, Name or Image field";
}

// Velero names an annotation hook container velero-restore-init-<first segment of a random UUID>.
std::string random_container_name() {
  static thread_local std::mt19937 random{std::random_device{}()};
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(random()));
  return std::string("velero-restore-init-") + suffix;
}

}  // namespace

std::vector<std::string> validate_restore_hooks(const api::RestoreHooks& hooks) {
  std::vector<std::string> errors;
  for (const auto& spec : hooks.resources)
    for (const auto& hook : spec.post_hooks)
      if (hook.init)
        for (const auto& container : hook.init->init_containers)
          if (!valid_container(container)) errors.push_back(invalid_container_message(spec.name));
  return errors;
}

std::string apply_init_hooks(json& pod, const std::string& target_ns, const api::RestoreHooks& hooks) {
  json hook_containers = json::array();
  if (std::string image = annotation(pod, kInitImage); !image.empty()) {
    std::string name = annotation(pod, kInitName), command = annotation(pod, kInitCommand);
    json container = {{"name", name.empty() ? random_container_name() : name}, {"image", image}};
    if (!command.empty()) container["command"] = parse_hook_command(command);  // none: the image's entrypoint
    hook_containers.push_back(container);
  } else {
    Labels labels = labels_of(pod);
    for (const auto& spec : hooks.resources) {
      if (!applies_to(spec, target_ns, labels)) continue;
      for (const auto& hook : spec.post_hooks) {
        if (!hook.init) continue;
        for (const auto& container : hook.init->init_containers) {
          if (!valid_container(container)) return invalid_container_message(spec.name);
          hook_containers.push_back(container);
        }
      }
    }
  }
  if (hook_containers.empty()) return {};
  json& spec = pod["spec"];
  json existing = spec.value("initContainers", json::array());
  json ordered = json::array();
  size_t rest = 0;
  if (!existing.empty() && existing[0].value("name", "") == kRestoreWait) {
    ordered.push_back(existing[0]);
    rest = 1;
  }
  for (auto& container : hook_containers) ordered.push_back(std::move(container));
  for (size_t i = rest; i < existing.size(); ++i) ordered.push_back(existing[i]);
  spec["initContainers"] = std::move(ordered);
  return {};
}

std::vector<ExecHookRequest> exec_hooks_for(const json& pod, const std::string& target_ns,
                                            const api::RestoreHooks& hooks) {
  const json containers = pod.value("/spec/containers"_json_pointer, json::array());
  const std::string first_container = containers.empty() ? std::string() : containers[0].value("name", "");
  std::vector<ExecHookRequest> requests;
  if (std::string command = annotation(pod, kExecCommand); !command.empty()) {
    std::string container = annotation(pod, kExecContainer), on_error = annotation(pod, kExecOnError);
    ExecHookRequest request{"<from-annotation>", "annotation", container.empty() ? first_container : container,
                            parse_hook_command(command),
                            on_error == "Continue" ? api::HookErrorMode::Continue
                            : on_error == "Fail"   ? api::HookErrorMode::Fail
                                                   : api::HookErrorMode::unset,
                            {}, {}, false, {}};
    auto duration = [&](const char* key, const char* what, std::chrono::nanoseconds& into) {
      std::string text = annotation(pod, key);
      if (text.empty()) return;
      try {
        into = parse_duration(text);
      } catch (const InvalidDuration& e) {
        request.warnings.push_back(std::string("Unable to parse ") + what + " " + text + ", ignoring: " + e.what());
      }
    };
    duration(kExecTimeout, "exec timeout", request.exec_timeout);
    duration(kExecWaitTimeout, "wait timeout", request.wait_timeout);
    if (std::string ready = annotation(pod, kExecWaitForReady); !ready.empty()) {
      // Go's strconv.ParseBool
      if (ready == "1" || ready == "t" || ready == "T" || ready == "TRUE" || ready == "true" || ready == "True")
        request.wait_for_ready = true;
      else if (!(ready == "0" || ready == "f" || ready == "F" || ready == "FALSE" || ready == "false" || ready == "False"))
        request.warnings.push_back("Unable to parse wait for ready " + ready + ", ignoring");
    }
    requests.push_back(std::move(request));
    return requests;
  }
  Labels labels = labels_of(pod);
  for (const auto& spec : hooks.resources) {
    if (!applies_to(spec, target_ns, labels)) continue;
    for (const auto& hook : spec.post_hooks)
      if (hook.exec)
        requests.push_back({spec.name, "spec", hook.exec->container.empty() ? first_container : hook.exec->container,
                            hook.exec->command, hook.exec->on_error, hook.exec->exec_timeout.value_or(Duration{0}),
                            hook.exec->wait_timeout.value_or(Duration{0}), hook.exec->wait_for_ready.value_or(false), {}});
  }
  return requests;
}

}  // namespace arca::restore
