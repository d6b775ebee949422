// The Node objects the kubelets register and the Leases they renew in kube-node-lease (the node heartbeat of
// k8s.io/kubernetes/pkg/kubelet/nodelease).
#include <sys/sysinfo.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "kubelite/workloads/internal.h"

namespace kubelite::workloads {

namespace {

std::string read_first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

json node_status(const NodeInfo& node) {
  struct sysinfo si {};
  sysinfo(&si);
  std::string cpus = std::to_string(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  std::string memory = std::to_string(static_cast<unsigned long long>(si.totalram) * si.mem_unit / 1024) + "Ki";
  json resources = {{"cpu", cpus}, {"memory", memory}, {"pods", "110"}, {"ephemeral-storage", "102400000Ki"},
                    {"hugepages-2Mi", "0"}};
  std::string now = now_rfc3339();
  auto condition = [&](const char* type, const char* status, const char* reason, const char* message) {
    return json{{"type", type}, {"status", status}, {"lastHeartbeatTime", now}, {"lastTransitionTime", now},
                {"reason", reason}, {"message", message}};
  };
  std::string kernel = read_first_line("/proc/sys/kernel/osrelease");
  std::string machine_id = read_first_line("/etc/machine-id");
  return {{"capacity", resources},
          {"allocatable", resources},
          {"conditions",
           {condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status")}},
          {"addresses", {{{"type", "InternalIP"}, {"address", node.internal_ip}}, {{"type", "Hostname"}, {"address", node.name}}}},
          {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}},
          {"nodeInfo",
           {{"machineID", machine_id}, {"systemUUID", machine_id}, {"bootID", read_first_line("/proc/sys/kernel/random/boot_id")},
            {"kernelVersion", kernel}, {"osImage", "kubelite"}, {"containerRuntimeVersion", "kubelite://0.1.0"},
            {"kubeletVersion", "v1.31.0"}, {"kubeProxyVersion", "v1.31.0"}, {"operatingSystem", "linux"},
            {"architecture", "amd64"}}}};
}

}  // namespace

void Workloads::Impl::register_nodes() {
  for (int i = 1; i <= options.nodes; ++i) {
    NodeInfo node;
    node.name = "kubelite-node-" + std::to_string(i);
    node.kubelet_root = options.root + "/" + node.name;
    node.internal_ip = "172.18.0." + std::to_string(1 + i);
    std::filesystem::create_directories(node.kubelet_root + "/pods");
    nodes.push_back(node);
    json object = {{"apiVersion", "v1"},
                   {"kind", "Node"},
                   {"metadata",
                    {{"name", node.name},
                     {"labels",
                      {{"kubernetes.io/hostname", node.name}, {"kubernetes.io/os", "linux"}, {"kubernetes.io/arch", "amd64"},
                       {"beta.kubernetes.io/os", "linux"}, {"beta.kubernetes.io/arch", "amd64"},
                       // what the CSI host-path node plugin registers, and its PVs' node affinity names
                       {"topology.hostpath.csi/node", node.name}}},
                     // Where this node's pod volumes are on disk (what a node agent mounts as /host_pods is
                     // <root>/pods).
                     {"annotations", {{"kubelite.dev/kubelet-root", node.kubelet_root},
                                      {"node.alpha.kubernetes.io/ttl", "0"},
                                      {"volumes.kubernetes.io/controller-managed-attach-detach", "true"}}}}},
                   {"spec", {{"podCIDR", "10.244." + std::to_string(i) + ".0/24"},
                             {"podCIDRs", {"10.244." + std::to_string(i) + ".0/24"}}}}};
    json current = cluster->get("/nodes", node.name);
    json stored;
    if (current.is_null()) {
      stored = cluster->create("/nodes", "", object);
    } else {
      json updated = current;
      updated["metadata"]["labels"].update(object["metadata"]["labels"]);
      updated["metadata"]["annotations"].update(object["metadata"]["annotations"]);
      stored = cluster->update("/nodes", current, updated);
    }
    json with_status = stored;
    with_status["status"] = node_status(node);
    cluster->update_status("/nodes", stored, with_status);
  }
  renew_leases();
}

void Workloads::Impl::renew_leases() {
  for (const NodeInfo& node : nodes) {
    json current = cluster->get("coordination.k8s.io/leases", "kube-node-lease/" + node.name);
    json node_object = cluster->get("/nodes", node.name);
    json spec = {{"holderIdentity", node.name}, {"leaseDurationSeconds", 40}, {"renewTime", rfc3339_micro_now()}};
    if (current.is_null()) {
      json lease = {{"metadata", {{"name", node.name}, {"namespace", "kube-node-lease"}}}, {"spec", spec}};
      if (!node_object.is_null())
        lease["metadata"]["ownerReferences"] = {{{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node.name},
                                                 {"uid", node_object["metadata"]["uid"]}}};
      cluster->create("coordination.k8s.io/leases", "kube-node-lease", lease);
    } else {
      json updated = current;
      updated["spec"]["renewTime"] = spec["renewTime"];
      updated["spec"]["holderIdentity"] = node.name;
      cluster->update("coordination.k8s.io/leases", current, updated);
    }
  }
}

}  // namespace kubelite::workloads
