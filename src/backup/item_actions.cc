#include "backup/item_actions.h"

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

std::vector<PodHook> pod_hooks(const nlohmann::json& pod, const api::BackupHooks& hooks,
                               const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>>&
                                   resolved_resources) {
  std::vector<PodHook> out;
  std::string phase = string_at(pod, {"status", "phase"});
  if (phase == "Succeeded" || phase == "Failed") return out;
  auto annotation = [&](const char* key) { return !string_at(pod, {"metadata", "annotations", key}).empty(); };
  bool pre_annotation =
      annotation("pre.hook.backup.velero.io/command") || annotation("hook.backup.velero.io/command");
  bool post_annotation = annotation("post.hook.backup.velero.io/command");
  if (pre_annotation) out.push_back({"<pod annotation>", "pre"});
  if (post_annotation) out.push_back({"<pod annotation>", "post"});
  if (hooks.resources.empty()) return out;

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
    if (!pre_annotation)
      for (size_t n = 0; n < spec.pre.size(); ++n) out.push_back({spec.name, "pre"});
    if (!post_annotation)
      for (size_t n = 0; n < spec.post.size(); ++n) out.push_back({spec.name, "post"});
  }
  return out;
}

}  // namespace arca::backup
