#include "backup/item_actions.h"

#include <optional>

#include "util/duration.h"
#include "util/includes_excludes.h"
#include "util/label_selector.h"

namespace arca::backup {
namespace {

const nlohmann::json* path(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  const nlohmann::json* at = &j;
  for (const char* k : keys) {
    if (!at->is_object()) return nullptr;
    auto it = at->find(k);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

std::string string_at(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  const nlohmann::json* v = path(j, keys);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

bool starts_with_velero(const std::string& key) { return key.rfind("velero.io/", 0) == 0; }

}  // namespace

std::vector<RelatedItem> pod_related_items(const nlohmann::json& pod) {
  std::vector<RelatedItem> items;
  std::string ns = string_at(pod, {"metadata", "namespace"});
  if (auto pc = string_at(pod, {"spec", "priorityClassName"}); !pc.empty())
    items.push_back({"scheduling.k8s.io", "priorityclasses", "", pc});
  if (const auto* volumes = path(pod, {"spec", "volumes"}); volumes && volumes->is_array())
    for (const auto& v : *volumes)
      if (auto claim = string_at(v, {"persistentVolumeClaim", "claimName"}); !claim.empty())
        items.push_back({"", "persistentvolumeclaims", ns, claim});
  return items;
}

bool apply_pvc_action(nlohmann::json& pvc, const std::string& backup_name, std::string& pv) {
  pv = string_at(pvc, {"spec", "volumeName"});
  if (string_at(pvc, {"status", "phase"}) != "Bound" || pv.empty()) {
    pv.clear();
    return false;
  }
  bool changed = false;
  auto& spec = pvc["spec"];
  for (const char* k : {"dataSource", "dataSourceRef"}) changed |= spec.erase(k) > 0;
  const auto* sc = path(spec, {"storageClassName"});
  bool static_binding = sc && sc->is_string() && sc->get<std::string>().empty();
  if (!static_binding) {
    changed |= spec.erase("selector") > 0;
  } else if (auto* ml = spec.contains("selector") ? &spec["selector"] : nullptr;
             ml && ml->is_object() && ml->contains("matchLabels") && (*ml)["matchLabels"].is_object()) {
    auto& labels = (*ml)["matchLabels"];
    for (auto it = labels.begin(); it != labels.end();)
      if (starts_with_velero(it.key())) {
        it = labels.erase(it);
        changed = true;
      } else {
        ++it;
      }
  }
  if (auto* md = pvc.contains("metadata") ? &pvc["metadata"] : nullptr; md && md->contains("labels")) {
    auto& labels = (*md)["labels"];
    for (const char* k : {"velero.io/restore-name", "backup.velero.io/must-include-additional-items",
                          "velero.io/volume-snapshot-name"})
      changed |= labels.erase(k) > 0;
    if (labels.contains("velero.io/backup-name") && labels["velero.io/backup-name"] != backup_name)
      changed |= labels.erase("velero.io/backup-name") > 0;
  }
  return changed;
}

namespace {

// getPodExecHookFromAnnotations: the hook of `prefix` ("pre.", "post." or "" for the legacy keys), if its command is set.
std::optional<PodHook> annotation_hook(const nlohmann::json& pod, const std::string& prefix, const std::string& phase) {
  auto annotation = [&](const char* key) {
    return string_at(pod, {"metadata", "annotations", (prefix + "hook.backup.velero.io/" + key).c_str()});
  };
  std::string command = annotation("command");
  if (command.empty()) return std::nullopt;
  PodHook hook{"annotation", phase, {"<from-annotation>", annotation("container"), hooks::parse_hook_command(command)}, ""};
  std::string on_error = annotation("on-error");
  hook.exec.on_error = on_error == "Continue" ? api::HookErrorMode::Continue
                       : on_error == "Fail"   ? api::HookErrorMode::Fail
                                              : api::HookErrorMode::unset;
  if (std::string timeout = annotation("timeout"); !timeout.empty()) {
    try {
      hook.exec.timeout = parse_duration(timeout);
    } catch (const InvalidDuration& e) {
      hook.warning = "Unable to parse provided timeout " + timeout + ", using default: " + e.what();
    }
  }
  return hook;
}

}  // namespace

std::vector<PodHook> pod_hooks(const nlohmann::json& pod, const api::BackupHooks& hooks,
                               const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>>&
                                   resolved_resources,
                               const std::string& phase) {
  std::vector<PodHook> out;
  std::string pod_phase = string_at(pod, {"status", "phase"});
  if (pod_phase == "Succeeded" || pod_phase == "Failed") return out;
  auto from_annotation = annotation_hook(pod, phase + ".", phase);
  if (!from_annotation && phase == "pre") from_annotation = annotation_hook(pod, "", phase);
  if (from_annotation) {
    out.push_back(std::move(*from_annotation));
    return out;
  }
  std::string ns = string_at(pod, {"metadata", "namespace"});
  Labels labels;
  if (const auto* l = path(pod, {"metadata", "labels"}); l && l->is_object())
    for (auto& [k, v] : l->items())
      if (v.is_string()) labels[k] = v.get<std::string>();
  for (size_t i = 0; i < hooks.resources.size(); ++i) {
    const auto& spec = hooks.resources[i];
    if (!IncludesExcludes{spec.included_namespaces, spec.excluded_namespaces}.should_include(ns)) continue;
    if (!IncludesExcludes{resolved_resources[i].first, resolved_resources[i].second}.should_include("pods")) continue;
    if (spec.label_selector && !selector_matches(*spec.label_selector, labels)) continue;
    for (const auto& hook : phase == "pre" ? spec.pre : spec.post) {
      if (!hook.exec) continue;
      PodHook h{"spec", phase, {spec.name, hook.exec->container, hook.exec->command, hook.exec->on_error}, ""};
      if (hook.exec->timeout) h.exec.timeout = *hook.exec->timeout;
      out.push_back(std::move(h));
    }
  }
  return out;
}

}  // namespace arca::backup
