#pragma once
// The world of the pod-volume tests (file-system backup, the node agent, the CSI data mover): kubelite with two
// nodes running pods as sandboxed processes (each node's kubelet root and the CSI host-path driver's volumes in the
// cluster's directory), namespace velero with the velero.io CRDs, a default BackupStorageLocation on a local store
// (bucket "bucket" under store()), `arca server` and one `arca node-agent server` per node. All real processes,
// driven through the real `arca` binary and kubectl; they stop with the object, agents first.
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/support/kubelite_process.h"
#include "tests/support/process.h"

namespace testsupport {

class VolumeCluster {
 public:
  static inline const std::vector<std::string> kNodes = {"kubelite-node-1", "kubelite-node-2"};
  struct Options {
    std::vector<std::string> server_args;                // added to `arca server`'s command line
    std::function<void(VolumeCluster&)> before_server;  // what the server must find at start (plugin ConfigMaps)
  };
  explicit VolumeCluster(const Options& options = {});
  VolumeCluster(const VolumeCluster&) = delete;
  VolumeCluster& operator=(const VolumeCluster&) = delete;

  // `kubectl --kubeconfig …` and `arca --kubeconfig …` through run_command.
  CommandResult kubectl(const std::vector<std::string>& args);
  CommandResult arca(const std::vector<std::string>& args, std::chrono::seconds timeout = std::chrono::seconds(60));
  // The command's stdout; throws with its output when it failed.
  static std::string ok(const CommandResult& r);
  // `kubectl apply` of one object.
  void apply(const nlohmann::json& object);
  // Starts the node's agent with `extra` flags, stopping the one running there; each run logs to its own file.
  void start_agent(const std::string& node, const std::vector<std::string>& extra = {});
  // The last `tail` bytes of every process log of the cluster (kubelite, the server, each agent run).
  std::string logs(size_t tail = 6000) const;
  std::string store() const { return dir.file("store"); }

  TempDir dir;
  std::unique_ptr<Kubelite> kubelite;
  std::unique_ptr<ChildProcess> server;
  std::map<std::string, std::unique_ptr<ChildProcess>> agents;  // by node

 private:
  int manifests_ = 0;
  int agent_runs_ = 0;
};

// Relative path → content of every regular file under `root`, leaving out the entries named in `skip` (relative
// paths) and everything under them: what the tests compare a volume before its backup and after its restore by.
std::map<std::string, std::string> tree(const std::string& root, const std::set<std::string>& skip = {});

}  // namespace testsupport
