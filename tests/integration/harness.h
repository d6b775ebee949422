#pragma once
// One kubelite, one local object store and one `arca server` for a whole test binary (real processes, real
// sockets, started by the shared harness), plus readers for what ends up in the store.
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kube/discovery.h"
#include "kube/dynamic.h"
#include "kube/transport.h"
#include "tests/support/cluster.h"

namespace integration {

namespace kube = arca::kube;

using CliResult = testsupport::CommandResult;

// The shared cluster (tests/support/cluster.h) loaded with the suite's manifests and running one `arca server`,
// with readers of what a backup leaves in the local store and arca's own client to the API server.
class Cluster : public testsupport::Cluster {
 public:
  // Starts kubelite with the fixtures and `manifests` (file name → YAML), the CRDs, the `default` BSL (local
  // store), and `arca server`. `kubelite_args` are added to kubelite's command line (e.g. --csi-hostpath-dir DIR).
  explicit Cluster(const std::map<std::string, std::string>& manifests,
                   const std::vector<std::string>& kubelite_args = {});

  // Starts the suite's `arca server` again (the previous one stopped) and waits until it has validated the BSL.
  // `kubeconfig` "": kubelite's own; another one lets a test put a proxy between the server and kubelite.
  void start_server(const std::vector<std::string>& extra_args = {}, const std::string& kubeconfig = "");
  testsupport::ChildProcess& server() { return testsupport::Cluster::server(server_); }

  std::string bucket_dir() const { return store_root() + "/bucket"; }
  std::string backup_file(const std::string& backup, const std::string& file) const;
  bool exists(const std::string& path) const;
  // Every file under the bucket, relative paths, sorted: "nothing else changed" checks compare these.
  std::vector<std::string> store_listing() const;

  // Entry path → content of a backup's tarball.
  std::map<std::string, std::string> tarball(const std::string& backup) const;
  nlohmann::json gz_json(const std::string& backup, const std::string& file) const;
  nlohmann::json metadata(const std::string& backup) const;

  kube::DynamicClient& client() { return *client_; }
  kube::ApiResource resource(const std::string& group, const std::string& resource);
  nlohmann::json get_backup(const std::string& name);
  // Polls until status.phase is one of `phases`; the last object seen.
  nlohmann::json wait_for_phase(const std::string& name, const std::vector<std::string>& phases, int seconds = 20);

 private:
  size_t server_ = 0;
  std::unique_ptr<kube::Transport> transport_;
  std::unique_ptr<kube::Discovery> discovery_;
  std::unique_ptr<kube::DynamicClient> client_;
};

std::string gunzip(const std::string& data);

}  // namespace integration
