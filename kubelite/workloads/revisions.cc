// ControllerRevisions (apps/v1) as the StatefulSet and DaemonSet controllers keep them
// (k8s.io/kubernetes/pkg/controller/history): one per pod template the set has had, named <set>-<hash>, holding
// the template as the strategic merge patch `kubectl rollout undo` applies ({"spec":{"template":{...,"$patch":
// "replace"}}}), numbered by `revision`. Going back to an earlier template renumbers its revision as the newest,
// and revisions beyond revisionHistoryLimit that no pod runs are deleted, oldest first.
#include <algorithm>

#include "kubelite/workloads/internal.h"

namespace kubelite::workloads {

std::string Workloads::Impl::sync_revisions(const json& owner, const json& tmpl, const std::string& hash,
                                            const std::set<std::string>& in_use) {
  const json& meta = owner["metadata"];
  std::string ns = meta.value("namespace", ""), uid = meta.value("uid", "");
  std::string name = meta.value("name", "") + "-" + hash;
  std::vector<json> revisions;
  for (json& r : owned_by("apps/controllerrevisions", uid))
    if (!is_terminating(r)) revisions.push_back(std::move(r));
  std::sort(revisions.begin(), revisions.end(),
            [](const json& a, const json& b) { return a.value("revision", 0) < b.value("revision", 0); });
  int64_t newest = revisions.empty() ? 0 : revisions.back().value("revision", int64_t{0});
  auto current = std::find_if(revisions.begin(), revisions.end(),
                              [&](const json& r) { return r["metadata"].value("name", "") == name; });
  std::string cause = meta.value("annotations", json::object()).value("kubernetes.io/change-cause", "");
  if (current == revisions.end()) {
    json data_tmpl = tmpl;
    data_tmpl["$patch"] = "replace";
    json labels = tmpl.value("metadata", json::object()).value("labels", json::object());
    labels["controller.kubernetes.io/hash"] = hash;
    json revision = {{"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels},
                                   {"ownerReferences", json::array({controller_ref(owner)})}}},
                     {"data", {{"spec", {{"template", data_tmpl}}}}},
                     {"revision", newest + 1}};
    if (!cause.empty()) revision["metadata"]["annotations"]["kubernetes.io/change-cause"] = cause;
    revisions.push_back(cluster->create("apps/controllerrevisions", ns, revision));
  } else if (current->value("revision", int64_t{0}) < newest) {
    // An older template is current again (rollout undo): its revision becomes the newest, and only its number
    // changes (history.UpdateControllerRevision).
    json updated = *current;
    updated["revision"] = newest + 1;
    json stored = cluster->update("apps/controllerrevisions", *current, updated);
    revisions.erase(current);
    revisions.push_back(stored);
  }
  int limit = std::max(0, owner["spec"].value("revisionHistoryLimit", 10));
  std::vector<const json*> removable;
  for (const json& r : revisions) {
    std::string n = r["metadata"].value("name", "");
    if (n != name && !in_use.count(n)) removable.push_back(&r);
  }
  for (size_t i = 0; i + limit < removable.size(); ++i) cluster->remove("apps/controllerrevisions", *removable[i]);
  return name;
}

}  // namespace kubelite::workloads
