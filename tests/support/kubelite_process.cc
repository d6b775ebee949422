#include "tests/support/kubelite_process.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <stdexcept>

#include "util/base64.h"

namespace testsupport {

Kubelite start_kubelite(const TempDir& dir, const KubeliteOptions& options) {
  Kubelite k;
  k.kubeconfig = dir.file("kubeconfig");
  std::vector<std::string> argv = {build_dir() + "/kubelite/kubelite", "--port", "0", "--kubeconfig-out",
                                   k.kubeconfig};
  if (options.tls) argv.push_back("--tls");
  if (!options.data_dir.empty()) argv.insert(argv.end(), {"--data-dir", options.data_dir});
  if (!options.load_dir.empty()) argv.insert(argv.end(), {"--load", options.load_dir});
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  std::remove(k.kubeconfig.c_str());
  k.process = ChildProcess(argv, dir.file("kubelite.log"));
  if (!wait_for_file(k.kubeconfig, std::chrono::seconds(10))) {
    throw std::runtime_error("kubelite did not become ready in 10 s; log:\n" + k.process.log());
  }
  YAML::Node config = YAML::LoadFile(k.kubeconfig);
  std::string current = config["current-context"].as<std::string>();
  std::string cluster_name, user_name;
  for (const auto& c : config["contexts"]) {
    if (c["name"].as<std::string>() == current) {
      cluster_name = c["context"]["cluster"].as<std::string>();
      user_name = c["context"]["user"].as<std::string>();
    }
  }
  for (const auto& c : config["clusters"]) {
    if (c["name"].as<std::string>() != cluster_name) continue;
    k.server = c["cluster"]["server"].as<std::string>();
    if (c["cluster"]["certificate-authority-data"]) {
      k.ca_file = dir.file("ca.crt");
      std::ofstream(k.ca_file) << arca::base64_decode(c["cluster"]["certificate-authority-data"].as<std::string>()).value();
    }
  }
  for (const auto& u : config["users"]) {
    if (u["name"].as<std::string>() == user_name && u["user"]["token"]) k.token = u["user"]["token"].as<std::string>();
  }
  return k;
}

CommandResult kubectl(const std::string& kubeconfig, const std::vector<std::string>& args, const TempDir& dir) {
  std::vector<std::string> argv = {"kubectl", "--kubeconfig", kubeconfig};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, dir);
}

bool wait_for_pod_running(const std::string& kubeconfig, const std::string& ns, const std::string& pod,
                          const TempDir& dir, std::chrono::seconds timeout) {
  return eventually(
      [&] { return kubectl(kubeconfig, {"-n", ns, "get", "pod", pod, "-o", "jsonpath={.status.phase}"}, dir).out == "Running"; },
      timeout, std::chrono::milliseconds(200));
}

}  // namespace testsupport
