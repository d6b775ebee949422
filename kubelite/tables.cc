#include "kubelite/tables.h"

#include <algorithm>

#include "kubelite/objects.h"

namespace kubelite {

using json = nlohmann::json;

namespace {

json column(const std::string& name, const std::string& type, const std::string& format, const std::string& description,
            int priority = 0) {
  return {{"name", name}, {"type", type}, {"format", format}, {"description", description}, {"priority", priority}};
}

const char* kNameDescription =
    "Name must be unique within a namespace. Is required when creating resources, although some resources may allow "
    "a client to request the generation of an appropriate name automatically.";
const char* kAgeDescription =
    "CreationTimestamp is a timestamp representing the server time when this object was created.";

// duration.HumanDuration of apimachinery, shortened to the forms kubectl users see most.
std::string human_age(long long s) {
  if (s < 0) s = 0;
  if (s < 120) return std::to_string(s) + "s";
  long long m = s / 60;
  if (m < 10) return std::to_string(m) + "m" + (s % 60 ? std::to_string(s % 60) + "s" : "");
  if (m < 180) return std::to_string(m) + "m";
  long long h = m / 60;
  if (h < 8) return std::to_string(h) + "h" + (m % 60 ? std::to_string(m % 60) + "m" : "");
  if (h < 48) return std::to_string(h) + "h";
  long long d = h / 24;
  if (d < 8) return std::to_string(d) + "d" + (h % 24 ? std::to_string(h % 24) + "h" : "");
  if (d < 365 * 2) return std::to_string(d) + "d";
  return std::to_string(d / 365) + "y";
}

// A CRD printer column's simple JSONPath (".spec.color", ".status.items[0]" is not supported).
json eval_path(const json& object, const std::string& path) {
  const json* cur = &object;
  size_t pos = path.starts_with(".") ? 1 : 0;
  while (pos < path.size()) {
    size_t dot = path.find('.', pos);
    std::string key = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (!cur->is_object() || !cur->contains(key)) return nullptr;
    cur = &(*cur)[key];
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  return *cur;
}

// metav1.LabelSelectorAsSelector(...).String(): requirements sorted by key, values sorted.
std::string selector_string(const json& selector) {
  if (!selector.is_object()) return "";
  std::vector<std::pair<std::string, std::string>> requirements;
  const json match_labels = selector.value("matchLabels", json::object());  // items() must not outlive it
  for (const auto& [k, v] : match_labels.items())
    requirements.push_back({k, k + "=" + (v.is_string() ? v.get<std::string>() : v.dump())});
  for (const auto& e : selector.value("matchExpressions", json::array())) {
    std::string key = e.value("key", ""), op = e.value("operator", "");
    std::vector<std::string> values;
    for (const auto& v : e.value("values", json::array())) values.push_back(v.is_string() ? v.get<std::string>() : v.dump());
    std::sort(values.begin(), values.end());
    std::string list;
    for (const auto& v : values) list += (list.empty() ? "" : ",") + v;
    if (op == "In") requirements.push_back({key, key + " in (" + list + ")"});
    else if (op == "NotIn") requirements.push_back({key, key + " notin (" + list + ")"});
    else if (op == "Exists") requirements.push_back({key, key});
    else if (op == "DoesNotExist") requirements.push_back({key, "!" + key});
  }
  std::stable_sort(requirements.begin(), requirements.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [key, text] : requirements) out += (out.empty() ? "" : ",") + text;
  return out;
}

// labels.FormatLabels of a Service selector: "k=v,..." sorted by key, "<none>" when empty.
std::string labels_string(const json& labels) {
  std::string out;
  for (const auto& [k, v] : labels.items()) out += (out.empty() ? "" : ",") + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  return out.empty() ? "<none>" : out;
}

// The CONTAINERS and IMAGES cells of workload printers: the pod template's names and images, comma-joined.
std::pair<std::string, std::string> containers_and_images(const json& spec) {
  std::string names, images;
  const json& pod = spec.value("template", json::object()).value("spec", json::object());
  for (const auto& c : pod.value("containers", json::array())) {
    names += (names.empty() ? "" : ",") + c.value("name", "");
    images += (images.empty() ? "" : ",") + c.value("image", "");
  }
  return {names, images};
}

json containers_column() { return column("Containers", "string", "", "Names of each container in the template.", 1); }
json images_column() { return column("Images", "string", "", "Images referenced by each container in the template.", 1); }

// kubectl's READY, STATUS and RESTARTS of a pod (k8s.io/kubernetes/pkg/printers/internalversion's printPod).
std::string pod_ready_text(const json& status, size_t containers) {
  int ready = 0;
  for (const auto& c : status.value("containerStatuses", json::array())) ready += c.value("ready", false);
  return std::to_string(ready) + "/" + std::to_string(containers);
}

std::string pod_restarts_text(const json& status) {
  int restarts = 0;
  for (const char* list : {"initContainerStatuses", "containerStatuses"})
    for (const auto& c : status.value(list, json::array())) restarts += c.value("restartCount", 0);
  return std::to_string(restarts);
}

std::string pod_status_text(const json& pod) {
  const json& status = pod.value("status", json::object());
  std::string reason = status.value("reason", status.value("phase", "Pending"));
  bool initializing = false;
  const json& inits = status.value("initContainerStatuses", json::array());
  for (size_t i = 0; i < inits.size(); ++i) {
    const json& st = inits[i].value("state", json::object());
    if (st.contains("terminated") && st["terminated"].value("exitCode", 0) == 0) continue;
    initializing = true;
    if (st.contains("terminated")) reason = "Init:" + st["terminated"].value("reason", std::string("Error"));
    else if (st.contains("waiting") && st["waiting"].value("reason", "") != "PodInitializing")
      reason = "Init:" + st["waiting"].value("reason", "");
    else reason = "Init:" + std::to_string(i) + "/" + std::to_string(inits.size());
    break;
  }
  if (!initializing) {
    bool running = false;
    const json& list = status.value("containerStatuses", json::array());
    for (auto it = list.rbegin(); it != list.rend(); ++it) {
      const json& st = it->value("state", json::object());
      if (st.contains("waiting") && !st["waiting"].value("reason", "").empty()) reason = st["waiting"].value("reason", "");
      else if (st.contains("terminated")) reason = st["terminated"].value("reason", std::string("Error"));
      else if (st.contains("running") && it->value("ready", false)) running = true;
    }
    if (reason == "Completed" && running) reason = "Running";
  }
  if (pod["metadata"].contains("deletionTimestamp")) reason = "Terminating";
  return reason;
}

}  // namespace

bool wants_table(const std::string& accept) { return accept.find("as=Table") != std::string::npos; }

json table_columns(const ResourceInfo& r) {
  json name = column("Name", "string", "name", kNameDescription);
  json age = column("Age", "string", "", kAgeDescription);
  if (r.is("", "namespaces"))
    return {name, column("Status", "string", "", "The status of the namespace"), age};
  if (r.is("", "configmaps")) return {name, column("Data", "string", "", "Data contains the configuration data."), age};
  if (r.is("", "secrets"))
    return {name, column("Type", "string", "", "The type of the secret"), column("Data", "string", "", "Data"), age};
  if (r.is("", "pods"))
    return {name, column("Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic."),
            column("Status", "string", "", "The aggregate status of the containers in this pod."),
            column("Restarts", "string", "", "The number of times the containers in this pod have been restarted."),
            age, column("IP", "string", "", "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", 1),
            column("Node", "string", "", "NodeName is a request to schedule this pod onto a specific node.", 1),
            column("Nominated Node", "string", "", "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.", 1),
            column("Readiness Gates", "string", "", "If specified, all readiness gates will be evaluated for pod readiness.", 1)};
  if (r.is("apps", "deployments"))
    return {name, column("Ready", "string", "", "Number of the pod with ready state"),
            column("Up-to-date", "string", "", "Total number of non-terminated pods targeted by this deployment."),
            column("Available", "string", "", "Total number of available pods."), age, containers_column(), images_column(),
            column("Selector", "string", "", "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.", 1)};
  if (r.is("", "services"))
    return {name, column("Type", "string", "", "Type of the service."),
            column("Cluster-IP", "string", "", "IP address of the service."),
            column("External-IP", "string", "", "External IPs of the service."),
            column("Port(s)", "string", "", "Ports of the service."), age,
            column("Selector", "string", "", "Route service traffic to pods with label keys and values matching this selector.", 1)};
  if (r.is("", "persistentvolumes"))
    return {name, column("Capacity", "string", "", "capacity"), column("Access Modes", "string", "", "access modes"),
            column("Reclaim Policy", "string", "", "reclaim policy"), column("Status", "string", "", "status"),
            column("Claim", "string", "", "claim"), column("StorageClass", "string", "", "storage class"),
            column("VolumeAttributesClass", "string", "", "volume attributes class"),
            column("Reason", "string", "", "reason"), age, column("VolumeMode", "string", "", "volume mode", 1)};
  if (r.is("", "persistentvolumeclaims"))
    return {name, column("Status", "string", "", "status"), column("Volume", "string", "", "volume"),
            column("Capacity", "string", "", "capacity"), column("Access Modes", "string", "", "access modes"),
            column("StorageClass", "string", "", "storage class"),
            column("VolumeAttributesClass", "string", "", "volume attributes class"), age,
            column("VolumeMode", "string", "", "volume mode", 1)};
  if (r.is("", "nodes"))
    return {name, column("Status", "string", "", "The status of the node"), column("Roles", "string", "", "The roles of the node"),
            age, column("Version", "string", "", "Kubelet Version reported by the node."),
            column("Internal-IP", "string", "", "List of addresses reachable to the node. Queried from cloud provider, if available.", 1)};
  if (r.is("apps", "replicasets"))
    return {name, column("Desired", "integer", "", "Number of desired pods."), column("Current", "integer", "", "Number of actual replicas."),
            column("Ready", "integer", "", "The number of ready replicas for this replica set."), age};
  if (r.is("batch", "jobs"))
    return {name, column("Status", "string", "", "Status of the job."), column("Completions", "string", "", "The completion status of the job"),
            column("Duration", "string", "", "Time required to complete the job."), age};
  if (r.is("batch", "cronjobs"))
    return {name, column("Schedule", "string", "", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
            column("Timezone", "string", "", "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones."),
            column("Suspend", "boolean", "", "This flag tells the controller to suspend subsequent executions."),
            column("Active", "integer", "", "A list of pointers to currently running jobs."),
            column("Last Schedule", "string", "", "Information when was the last time the job was successfully scheduled."),
            age, containers_column(), images_column(),
            column("Selector", "string", "", "A label query over pods that should match the pod count.", 1)};
  if (r.is("apps", "daemonsets"))
    return {name, column("Desired", "integer", "", "The desired number of nodes that should be running the daemon pod."),
            column("Current", "integer", "", "The number of nodes that are running at least 1 daemon pod."),
            column("Ready", "integer", "", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready."),
            column("Up-to-date", "integer", "", "The total number of nodes that are running updated daemon pod"),
            column("Available", "integer", "", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)"),
            column("Node Selector", "string", "", "NodeSelector is a selector which must be true for the pod to fit on a node."),
            age, containers_column(), images_column(),
            column("Selector", "string", "", "A label query over pods that are managed by the daemon set.", 1)};
  if (r.is("apps", "controllerrevisions"))
    return {name, column("Controller", "string", "", "Controller of the object"),
            column("Revision", "string", "", "Revision indicates the revision of the state represented by Data."), age};
  if (r.is("", "endpoints"))
    return {name, column("Endpoints", "string", "", "Endpoints of the service"), age};
  if (r.is("apps", "statefulsets"))
    return {name, column("Ready", "string", "", "Number of the pod with ready state"), age, containers_column(), images_column()};
  if (r.is("", "serviceaccounts"))
    return {name, column("Secrets", "string", "", "Secrets is a list of the secrets in the same namespace"), age};
  if (r.custom && r.crd_version.contains("additionalPrinterColumns")) {
    // Name and the CRD's columns, nothing else (apiextensions-apiserver's customresource/tableconvertor).
    json cols = {name};
    for (const auto& c : r.crd_version["additionalPrinterColumns"])
      cols.push_back(column(c.value("name", ""), c.value("type", "string"), c.value("format", ""),
                            c.value("description", ""), c.value("priority", 0)));
    return cols;
  }
  return {name, column("Created At", "date", "", kAgeDescription)};
}

json table_row(const ResourceInfo& r, const json& object) {
  const json& meta = object.at("metadata");
  std::string name = meta.value("name", "");
  std::string age = human_age(seconds_since(meta.value("creationTimestamp", "")));
  json cells;
  const json& spec = object.value("spec", json::object());
  const json& status = object.value("status", json::object());
  if (r.is("", "namespaces")) {
    cells = {name, status.value("phase", ""), age};
  } else if (r.is("", "configmaps")) {
    cells = {name, object.value("data", json::object()).size() + object.value("binaryData", json::object()).size(), age};
  } else if (r.is("", "secrets")) {
    cells = {name, object.value("type", ""), object.value("data", json::object()).size(), age};
  } else if (r.is("", "pods")) {
    size_t containers = spec.value("containers", json::array()).size();
    size_t gates = spec.value("readinessGates", json::array()).size();
    cells = {name, pod_ready_text(status, containers), pod_status_text(object), pod_restarts_text(status), age,
             status.value("podIP", "<none>"), spec.value("nodeName", "<none>"), status.value("nominatedNodeName", "<none>"),
             gates ? "0/" + std::to_string(gates) : "<none>"};
  } else if (r.is("apps", "deployments")) {
    int replicas = spec.value("replicas", 1);
    cells = {name, std::to_string(status.value("readyReplicas", 0)) + "/" + std::to_string(replicas),
             status.value("updatedReplicas", 0), status.value("availableReplicas", 0), age};
    auto [names, images] = containers_and_images(spec);
    cells.insert(cells.end(), {names, images, selector_string(spec.value("selector", json()))});
  } else if (r.is("", "services")) {
    std::string ports;
    for (const auto& p : spec.value("ports", json::array())) {
      if (!ports.empty()) ports += ",";
      ports += std::to_string(p.value("port", 0));
      if (p.contains("nodePort")) {
        ports += ':';
        ports += std::to_string(p.value("nodePort", 0));
      }
      ports += '/';
      ports += p.value("protocol", std::string("TCP"));
    }
    std::string type = spec.value("type", "ClusterIP");
    cells = {name, type, spec.value("clusterIP", ""), type == "LoadBalancer" ? "<pending>" : "<none>",
             ports.empty() ? "<none>" : ports, age, labels_string(spec.value("selector", json::object()))};
  } else if (r.is("", "persistentvolumes") || r.is("", "persistentvolumeclaims")) {
    // Access modes as kubectl abbreviates them.
    std::string modes;
    for (const auto& m : spec.value("accessModes", json::array())) {
      std::string mode = m.get<std::string>();
      std::string shortened = mode == "ReadWriteOnce" ? "RWO" : mode == "ReadOnlyMany" ? "ROX"
                            : mode == "ReadWriteMany" ? "RWX" : mode == "ReadWriteOncePod" ? "RWOP" : mode;
      modes += (modes.empty() ? "" : ",") + shortened;
    }
    std::string cls = spec.value("storageClassName", "");
    if (r.resource == "persistentvolumes") {
      const json& ref = spec.value("claimRef", json::object());
      std::string claim = ref.is_object() && ref.contains("name") ? ref.value("namespace", "") + "/" + ref.value("name", "") : "";
      cells = {name, spec.value("capacity", json::object()).value("storage", ""), modes,
               spec.value("persistentVolumeReclaimPolicy", ""), status.value("phase", ""), claim, cls, "<unset>",
               status.value("reason", ""), age, spec.value("volumeMode", "Filesystem")};
    } else {
      std::string phase = status.value("phase", "");
      cells = {name, phase, spec.value("volumeName", ""), status.value("capacity", json::object()).value("storage", ""),
               phase == "Bound" ? modes : "", cls, "<unset>", age, spec.value("volumeMode", "Filesystem")};
    }
  } else if (r.is("", "nodes")) {
    std::string ready = "Unknown", ip = "<none>";
    for (const auto& c : status.value("conditions", json::array()))
      if (c.value("type", "") == "Ready") ready = c.value("status", "") == "True" ? "Ready" : "NotReady";
    for (const auto& a : status.value("addresses", json::array()))
      if (a.value("type", "") == "InternalIP") ip = a.value("address", "");
    if (spec.value("unschedulable", false)) ready += ",SchedulingDisabled";
    cells = {name, ready, "<none>", age, status.value("nodeInfo", json::object()).value("kubeletVersion", ""), ip};
  } else if (r.is("apps", "replicasets")) {
    cells = {name, spec.value("replicas", 1), status.value("replicas", 0), status.value("readyReplicas", 0), age};
  } else if (r.is("batch", "jobs")) {
    std::string state = "Running";
    for (const auto& c : status.value("conditions", json::array()))
      if (c.value("status", "") == "True" && (c.value("type", "") == "Complete" || c.value("type", "") == "Failed"))
        state = c.value("type", "");
    std::string duration = status.contains("completionTime")
                               ? human_age(seconds_since(status.value("startTime", "")) - seconds_since(status.value("completionTime", "")))
                               : status.contains("startTime") ? human_age(seconds_since(status.value("startTime", ""))) : "";
    cells = {name, state, std::to_string(status.value("succeeded", 0)) + "/" + std::to_string(spec.value("completions", 1)),
             duration, age};
  } else if (r.is("batch", "cronjobs")) {
    json job_spec = spec.value("jobTemplate", json::object()).value("spec", json::object());
    auto [names, images] = containers_and_images(job_spec);
    std::string last = status.contains("lastScheduleTime") ? human_age(seconds_since(status.value("lastScheduleTime", "")))
                                                           : "<none>";
    cells = {name, spec.value("schedule", ""), spec.value("timeZone", "<none>"), spec.value("suspend", false) ? "True" : "False",
             status.value("active", json::array()).size(), last, age, names, images,
             job_spec.contains("selector") ? selector_string(job_spec["selector"]) : "<none>"};
  } else if (r.is("apps", "daemonsets")) {
    auto [names, images] = containers_and_images(spec);
    std::string node_selector;
    // Named: a range-for over items() of a temporary would read a destroyed object (C++20 extends only the proxy).
    const json selector = spec.value("template", json::object()).value("spec", json::object()).value("nodeSelector", json::object());
    for (const auto& [k, v] : selector.items())
      node_selector += (node_selector.empty() ? "" : ",") + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
    cells = {name, status.value("desiredNumberScheduled", 0), status.value("currentNumberScheduled", 0),
             status.value("numberReady", 0), status.value("updatedNumberScheduled", 0), status.value("numberAvailable", 0),
             node_selector.empty() ? "<none>" : node_selector, age, names, images, selector_string(spec.value("selector", json()))};
  } else if (r.is("apps", "controllerrevisions")) {
    std::string controller = "<none>";
    for (const auto& ref : object["metadata"].value("ownerReferences", json::array()))
      if (ref.value("controller", false)) {
        std::string api_version = ref.value("apiVersion", ""), group;
        if (size_t slash = api_version.find('/'); slash != std::string::npos) group = api_version.substr(0, slash);
        std::string kind = ref.value("kind", "");
        for (char& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        controller = kind + (group.empty() ? "" : "." + group) + "/" + ref.value("name", "");
      }
    cells = {name, controller, object.value("revision", 0), age};
  } else if (r.is("", "endpoints")) {
    std::string list;
    for (const auto& subset : object.value("subsets", json::array()))
      for (const auto& a : subset.value("addresses", json::array()))
        for (const auto& p : subset.value("ports", json::array()))
          list += (list.empty() ? "" : ",") + a.value("ip", "") + ":" + std::to_string(p.value("port", 0));
    cells = {name, list.empty() ? "<none>" : list, age};
  } else if (r.is("apps", "statefulsets")) {
    auto [names, images] = containers_and_images(spec);
    cells = {name, std::to_string(status.value("readyReplicas", 0)) + "/" + std::to_string(spec.value("replicas", 1)), age,
             names, images};
  } else if (r.is("", "serviceaccounts")) {
    cells = {name, object.value("secrets", json::array()).size(), age};
  } else if (r.custom && r.crd_version.contains("additionalPrinterColumns")) {
    cells = {name};
    for (const auto& c : r.crd_version["additionalPrinterColumns"]) {
      json value = eval_path(object, c.value("jsonPath", ""));
      // "date" cells are ages, as the real convertor's cellForJSONValue prints them.
      if (c.value("type", "") == "date" && value.is_string()) value = human_age(seconds_since(value.get<std::string>()));
      cells.push_back(value);
    }
  } else {
    cells = {name, meta.value("creationTimestamp", "")};
  }
  json partial_meta = meta;
  partial_meta.erase("managedFields");
  return {{"cells", cells},
          {"object", {{"kind", "PartialObjectMetadata"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", partial_meta}}}};
}

}  // namespace kubelite
