#pragma once
// `arca node-agent server` (Velero's pkg/cmd/cli/nodeagent/server.go with its pod_volume_backup_controller.go and
// pod_volume_restore_controller.go): one per node, it takes the PodVolumeBackups of its node (spec.node) and the
// PodVolumeRestores whose pod runs on its node, finds each volume under the host's pod directory as the kubelet
// lays it out, and moves the data with arca's engine in restic format, in the repository of (volume namespace,
// storage location). Phases as Velero's: New -> Accepted -> Prepared -> InProgress -> Completed / Failed / Canceled.
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "kube/config.h"
#include "util/duration.h"
#include "util/label_selector.h"

namespace arca::nodeagent {

struct Options {
  kube::LoadOptions kube;
  std::string namespace_name = "velero";
  std::string node_name;                   // --node-name, default $NODE_NAME
  std::string host_pods_dir = "/host_pods";  // where the DaemonSet mounts the kubelet's pods directory
  bool host_pods_dir_given = false;        // else a kubelite node's annotation may say where its pods are
  std::string node_agent_configmap;        // Velero's node-agent ConfigMap (loadConcurrency)
  Duration resource_timeout = std::chrono::minutes(10);  // waiting for a BackupRepository to be Ready
  // Velero's node-agent --metrics-address: /metrics (Velero's podVolume_* metrics) and /healthz (200 while the
  // agent's controllers run: a liveness probe's target).
  std::string metrics_address = ":8085";
  double client_qps = 10000;
  int client_burst = 1000;
};

// Runs until SIGTERM/SIGINT. Throws on start-up problems (no node name, node not found, CRDs missing).
void run_node_agent(const Options& options);

// ---- the pieces, testable alone ------------------------------------------------------------------------------

// Velero's node-agent ConfigMap `loadConcurrency`: {"globalConfig": N, "perNodeConfig": [{"nodeSelector": {...},
// "number": M}]}; the ConfigMap's (single) data value holds the JSON.
struct LoadConcurrency {
  int global = 1;
  struct Rule {
    LabelSelector node_selector;
    int number = 0;
  };
  std::vector<Rule> per_node;
};
// Throws std::invalid_argument naming the ConfigMap key at fault.
LoadConcurrency parse_node_agent_config(const nlohmann::json& configmap);
// Velero's rule: among the per-node rules matching the node's labels the smallest number wins; else the global
// number; a rule with a number below 1 is ignored.
int concurrency_for_node(const LoadConcurrency& config, const Labels& node_labels);

// The pods directory of this node: --host-pods-dir when given or when it exists; else, on kubelite, the node's
// annotation kubelite.dev/kubelet-root + "/pods".
std::string pods_dir_for_node(const Options& options, const nlohmann::json& node);

// Velero's getVolumeDirectory: the directory name of a pod volume under <pods>/<uid>/volumes/<plugin>/: the
// volume's name, or for a claim its PV's name ("<pv>/mount" when the PV is CSI). `get(resource, ns, name)`
// reads a PVC ("persistentvolumeclaims") or PV ("persistentvolumes").
using Getter = std::function<nlohmann::json(const std::string& resource, const std::string& ns, const std::string& name)>;
std::string volume_directory(const nlohmann::json& pod, const std::string& volume, const Getter& get);

// Velero's GetPodVolumeHostPath: the one match of <pods>/<pod-uid>/volumes/*/<dir>. Throws naming the pattern
// when there is none or more than one.
std::string find_volume_path(const std::string& pods_dir, const std::string& pod_uid, const std::string& dir);

// Velero's restic uploader tags: one "key=value" per PodVolumeBackup spec.tags entry, sorted by key.
std::vector<std::string> restic_tags(const std::map<std::string, std::string>& tags);

// The UID the done file is named after: the PodVolumeRestore's controller owner (the Restore).
std::string restore_uid(const nlohmann::json& pvr);

// What Velero's restore does when the data is in place: remove <volume>/.velero (done files of earlier
// restores), then write the empty file <volume>/.velero/<restore-uid> that the restore-helper waits for.
void write_done_file(const std::string& volume_path, const std::string& restore_uid);

}  // namespace arca::nodeagent
