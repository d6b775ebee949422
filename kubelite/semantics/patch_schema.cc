#include "kubelite/semantics/patch_schema.h"

#include <map>

namespace kubelite::schema {
namespace {

using Fields = std::map<std::string, Field>;

Field object(const char* type) { return Field{type, ListType::Atomic, "", {}, false}; }
Field atomic_object() { return Field{"", ListType::Atomic, "", {}, true}; }
Field map_list(const char* item_type, const char* merge_key, std::vector<std::string> keys = {}) {
  if (keys.empty()) keys = {merge_key};
  return Field{item_type, ListType::Map, merge_key, std::move(keys), false};
}
Field set_list() { return Field{"", ListType::Set, "", {}, false}; }

const std::map<std::string, Fields>& types() {
  static const std::map<std::string, Fields> all = [] {
    std::map<std::string, Fields> t;
    t["ObjectMeta"] = {{"finalizers", set_list()}, {"ownerReferences", map_list("", "uid")}};
    t["Object"] = {{"metadata", object("ObjectMeta")}};
    const Field conditions = map_list("", "type");
    t["Status"] = {{"conditions", conditions}};
    t["PodStatus"] = {{"conditions", conditions}};
    t["NodeStatus"] = {{"conditions", conditions}, {"addresses", map_list("", "type")}};
    t["Container"] = {{"ports", map_list("", "containerPort", {"containerPort", "protocol"})},
                      {"env", map_list("", "name")},
                      {"volumeMounts", map_list("", "mountPath")},
                      {"volumeDevices", map_list("", "devicePath")}};
    t["PodSpec"] = {{"containers", map_list("Container", "name")},
                    {"initContainers", map_list("Container", "name")},
                    {"ephemeralContainers", map_list("Container", "name")},
                    {"volumes", map_list("", "name")},
                    {"imagePullSecrets", map_list("", "name")},
                    {"hostAliases", map_list("", "ip")},
                    {"topologySpreadConstraints",
                     map_list("", "topologyKey", {"topologyKey", "whenUnsatisfiable"})},
                    {"schedulingGates", map_list("", "name")},
                    {"resourceClaims", map_list("", "name")}};
    t["PodTemplateSpec"] = {{"metadata", object("ObjectMeta")}, {"spec", object("PodSpec")}};
    t["ServiceSpec"] = {{"ports", map_list("", "port", {"port", "protocol"})}, {"selector", atomic_object()}};
    t["ServiceAccount"] = {{"metadata", object("ObjectMeta")}, {"secrets", map_list("", "name")}};
    t["NodeSpec"] = {{"podCIDRs", set_list()}};
    t["WorkloadSpec"] = {{"template", object("PodTemplateSpec")}, {"selector", atomic_object()}};
    t["JobTemplateSpec"] = {{"metadata", object("ObjectMeta")}, {"spec", object("WorkloadSpec")}};
    t["CronJobSpec"] = {{"jobTemplate", object("JobTemplateSpec")}};
    t["ReplicationControllerSpec"] = {{"template", object("PodTemplateSpec")}};

    auto root = [&](const char* name, const char* spec, const char* status) {
      Fields f = {{"metadata", object("ObjectMeta")}};
      if (spec) f["spec"] = object(spec);
      if (status) f["status"] = object(status);
      t[name] = f;
    };
    root("Pod", "PodSpec", "PodStatus");
    root("Service", "ServiceSpec", nullptr);
    root("Namespace", nullptr, "Status");
    root("Node", "NodeSpec", "NodeStatus");
    root("ReplicationController", "ReplicationControllerSpec", "Status");
    root("Deployment", "WorkloadSpec", "Status");
    root("StatefulSet", "WorkloadSpec", "Status");
    root("DaemonSet", "WorkloadSpec", "Status");
    root("ReplicaSet", "WorkloadSpec", "Status");
    root("Job", "WorkloadSpec", "Status");
    root("CronJob", "CronJobSpec", nullptr);
    t["PodTemplate"] = {{"metadata", object("ObjectMeta")}, {"template", object("PodTemplateSpec")}};
    return t;
  }();
  return all;
}

}  // namespace

const Field* field(const std::string& type, const std::string& name) {
  if (type.empty()) return nullptr;
  auto t = types().find(type);
  if (t == types().end()) return nullptr;
  auto f = t->second.find(name);
  return f == t->second.end() ? nullptr : &f->second;
}

std::string root_type(const std::string& group, const std::string& kind) {
  static const std::map<std::pair<std::string, std::string>, std::string> roots = {
      {{"", "Pod"}, "Pod"},
      {{"", "Service"}, "Service"},
      {{"", "Namespace"}, "Namespace"},
      {{"", "Node"}, "Node"},
      {{"", "ReplicationController"}, "ReplicationController"},
      {{"", "PodTemplate"}, "PodTemplate"},
      {{"", "ServiceAccount"}, "ServiceAccount"},
      {{"apps", "Deployment"}, "Deployment"},
      {{"apps", "StatefulSet"}, "StatefulSet"},
      {{"apps", "DaemonSet"}, "DaemonSet"},
      {{"apps", "ReplicaSet"}, "ReplicaSet"},
      {{"batch", "Job"}, "Job"},
      {{"batch", "CronJob"}, "CronJob"},
  };
  auto it = roots.find({group, kind});
  return it == roots.end() ? "Object" : it->second;
}

bool is_builtin_group(const std::string& group) {
  static const char* const groups[] = {
      "", "apps", "batch", "autoscaling", "policy", "rbac.authorization.k8s.io", "networking.k8s.io",
      "storage.k8s.io", "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io", "node.k8s.io",
      "scheduling.k8s.io", "certificates.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io",
      "apiregistration.k8s.io", "authentication.k8s.io", "authorization.k8s.io",
      "flowcontrol.apiserver.k8s.io", "resource.k8s.io", "storagemigration.k8s.io",
      "internal.apiserver.k8s.io"};
  for (const char* g : groups)
    if (group == g) return true;
  return false;
}

}  // namespace kubelite::schema
