#pragma once
// kubelite's data plane: Nodes with their Leases, the workload controllers of kube-controller-manager
// (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, Endpoints/EndpointSlices), a scheduler and one kubelet
// per node whose containers run through a ContainerRuntime. All of it works through a Cluster (the API as a
// client sees it) and reacts to its change feed; with nothing changing it does nothing but renew node Leases.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "kubelite/workloads/cluster.h"
#include "kubelite/workloads/runtime.h"

namespace kubelite::workloads {

struct Options {
  int nodes = 2;
  bool enabled = true;  // false: nothing is watched or reconciled (kubelite --no-workloads)
  std::string root;  // each node's kubelet root is <root>/<node name>
  // The CSI host-path driver's root (kubelite/storage/hostpath.h), "" when it is off: its volumes are what the
  // kubelet publishes at .../volumes/kubernetes.io~csi/<pv>/mount.
  std::string csi_root;
  std::chrono::milliseconds restart_backoff{10000};
  // How much faster than the real clock the CronJob controller's runs (tests: 60 makes a minute a second).
  double cron_speed = 1;  // the kubelet's first crash-loop back-off (doubles, max 5 min)
};

struct NodeInfo {
  std::string name, kubelet_root, internal_ip;
};

class Workloads {
 public:
  Workloads(std::unique_ptr<Cluster> cluster, std::unique_ptr<ContainerRuntime> runtime, Options options);
  ~Workloads();  // stops the loop and every container
  Workloads(const Workloads&) = delete;
  Workloads& operator=(const Workloads&) = delete;

  // Registers the nodes and queues what is stored already (objects of a --data-dir or --load).
  void start();
  // Reconciles until nothing is queued (after --load: the API is served settled); before start_loop().
  // Stops early once `stop` is set (a signal).
  void settle(const std::atomic<bool>& stop);
  bool idle();  // nothing queued
  void start_loop();
  const std::vector<NodeInfo>& nodes() const;
  // The running container of a pod (for logs and exec): its runtime id and log file, or false.
  struct ContainerRef {
    std::string runtime_id, log_path, previous_log_path;
    bool running = false;
  };
  bool find_container(const std::string& ns, const std::string& pod, const std::string& container, ContainerRef& out);
  ContainerRuntime& runtime();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace kubelite::workloads
