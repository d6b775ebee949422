#pragma once
// A cluster for the end-to-end tests that drive arca as a user does: kubelite, the velero.io CRDs, a default
// BackupStorageLocation and any number of `arca server` processes, all real processes, driven through the real
// `arca` binary and kubectl (run through run_command, with timeouts). The processes stop with the object.
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/kubelite_process.h"
#include "tests/support/process.h"

namespace testsupport {

class Cluster {
 public:
  // Starts kubelite, creates namespace velero, installs the CRDs and a default BSL on store_root/bucket.
  // An empty store_root puts the store inside this cluster's temporary directory.
  // `location_flags` are added to `arca backup-location create`.
  explicit Cluster(std::string store_root = "", const std::vector<std::string>& location_flags = {});
  // The default location on an S3 server instead (provider aws, path-style URLs, the server's keys in a
  // credentials Secret): the way a real cluster uses a bucket.
  struct S3 {
    std::string url, bucket, prefix;
  };
  explicit Cluster(const S3& s3, const std::vector<std::string>& location_flags = {});
  // kubelite loaded at start with the fixtures' manifests and `manifests` (file name → YAML) and running container
  // processes (backup hooks exec into pods), then the CRDs and the default location on the local store as above:
  // the source cluster of the backup tests.
  struct Loaded {
    std::map<std::string, std::string> manifests;
    std::vector<std::string> kubelite_args;  // added to kubelite's command line
  };
  explicit Cluster(const Loaded& loaded);
  // Only kubelite: nothing installed (for `arca install` itself).
  struct Bare {};
  explicit Cluster(Bare);
  ~Cluster();

  CommandResult arca(const std::vector<std::string>& args, std::chrono::seconds timeout = std::chrono::seconds(60));
  // Like arca() but fails the test (throws) on a non-zero exit.
  std::string arca_ok(const std::vector<std::string>& args);
  CommandResult kubectl(const std::vector<std::string>& args);

  // Starts one more `arca server` process (extra flags appended); returns its index. `kubeconfig` "": kubelite's
  // own; another one puts e.g. a FaultProxy between the server and kubelite.
  size_t start_server(const std::vector<std::string>& extra_args = {}, const std::string& kubeconfig = "");
  ChildProcess& server(size_t index) { return *servers_[index]; }

  // The objects of a velero.io kind in namespace velero, e.g. items("backups").
  std::vector<nlohmann::json> items(const std::string& resource);
  const std::string& store_root() const { return store_root_; }
  const std::string& kubeconfig() const { return kubelite_.kubeconfig; }
  const std::string& api_server_url() const { return kubelite_.server; }
  const TempDir& dir() const { return dir_; }

 private:
  void install_crds();  // and namespace velero
  void create_default_location(const std::vector<std::string>& location_args);  // `backup-location create default`

  TempDir dir_;
  Kubelite kubelite_;
  std::string store_root_;
  std::vector<std::unique_ptr<ChildProcess>> servers_;
};

}  // namespace testsupport
