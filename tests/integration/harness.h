#pragma once
// One kubelite, one local object store and one `arca server` for a whole test binary (real processes,
// real sockets), plus the `arca` CLI run as a process and readers for what ends up in the store.
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kube/discovery.h"
#include "kube/dynamic.h"
#include "kube/transport.h"
#include "tests/support/kubelite_process.h"

namespace integration {

namespace kube = arca::kube;

using CliResult = testsupport::CommandResult;

class Cluster {
 public:
  // Starts kubelite with the fixtures and `manifests` (file name → YAML), installs the CRDs through
  // `arca install --crds-only`, creates the `default` BSL (local store) and starts `arca server`.
  // `kubelite_args` are added to kubelite's command line (e.g. --csi-hostpath-dir DIR).
  explicit Cluster(const std::map<std::string, std::string>& manifests,
                   const std::vector<std::string>& kubelite_args = {});
  ~Cluster();

  CliResult arca(const std::vector<std::string>& args) const;
  // `kubeconfig` "": kubelite's own; another one lets a test put a proxy between the server and kubelite.
  void start_server(const std::vector<std::string>& extra_args = {}, const std::string& kubeconfig = "");
  const std::string& kubeconfig() const { return kubelite_.kubeconfig; }
  const std::string& api_server_url() const { return kubelite_.server; }
  testsupport::ChildProcess& server() { return server_; }

  const std::string& store_root() const { return store_root_; }
  std::string bucket_dir() const { return store_root_ + "/bucket"; }
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
  testsupport::TempDir dir_;
  testsupport::Kubelite kubelite_;
  testsupport::ChildProcess server_;
  std::string store_root_;
  std::unique_ptr<kube::Transport> transport_;
  std::unique_ptr<kube::Discovery> discovery_;
  std::unique_ptr<kube::DynamicClient> client_;
  int server_starts_ = 0;
};

std::string gunzip(const std::string& data);

}  // namespace integration
