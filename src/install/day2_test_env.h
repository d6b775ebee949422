#pragma once
// A cluster for the day-two integration tests: kubelite, the velero.io CRDs, a `local` BackupStorageLocation
// and `arca server` — all real processes, driven through the real `arca` binary.
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/kubelite_process.h"
#include "tests/support/process.h"

namespace day2test {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

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
  // Only kubelite: nothing installed (for `arca install` itself).
  struct Bare {};
  explicit Cluster(Bare);
  ~Cluster();

  CommandResult arca(const std::vector<std::string>& args, std::chrono::seconds timeout = std::chrono::seconds(60));
  // Like arca() but fails the test (throws) on a non-zero exit.
  std::string arca_ok(const std::vector<std::string>& args);
  CommandResult kubectl(const std::vector<std::string>& args);

  // Starts one more `arca server` process (extra flags appended); returns its index.
  size_t start_server(const std::vector<std::string>& extra_args = {});
  testsupport::ChildProcess& server(size_t index) { return *servers_[index]; }

  // The objects of a velero.io kind in namespace velero, e.g. items("backups").
  std::vector<nlohmann::json> items(const std::string& resource);
  const std::string& store_root() const { return store_root_; }
  const std::string& kubeconfig() const { return kubelite_.kubeconfig; }
  const testsupport::TempDir& dir() const { return dir_; }

 private:
  void install_crds();  // and namespace velero
  void create_default_location(const std::vector<std::string>& location_args);  // `backup-location create default`

  testsupport::TempDir dir_;
  testsupport::Kubelite kubelite_;
  std::string store_root_;
  std::vector<std::unique_ptr<testsupport::ChildProcess>> servers_;
  int commands_ = 0;
};

// Polls `done` every 200 ms until it is true or `timeout` passes; returns its last value.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout);

std::string arca_binary();

}  // namespace day2test
