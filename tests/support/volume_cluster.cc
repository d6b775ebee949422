#include "tests/support/volume_cluster.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace testsupport {

namespace fs = std::filesystem;

VolumeCluster::VolumeCluster(const Options& options) {
  KubeliteOptions kubelite_options;
  kubelite_options.extra_args = {"--kubelet-root", dir.file("kubelet"), "--csi-hostpath-dir", dir.file("csi"),
                                 "--restart-backoff", "1"};
  kubelite = std::make_unique<Kubelite>(start_kubelite(dir, kubelite_options));
  ok(kubectl({"create", "namespace", "velero"}));
  ok(arca({"install", "--crds-only"}));
  fs::create_directories(store() + "/bucket");
  ok(arca({"backup-location", "create", "default", "--provider", "local", "--bucket", "bucket", "--config",
           "root=" + store(), "--default"}));
  if (options.before_server) options.before_server(*this);
  std::vector<std::string> argv = {arca_binary(), "--kubeconfig", kubelite->kubeconfig, "server", "--metrics-address",
                                   "127.0.0.1:0"};
  argv.insert(argv.end(), options.server_args.begin(), options.server_args.end());
  server = std::make_unique<ChildProcess>(argv, dir.file("server.log"));
  for (const auto& node : kNodes) start_agent(node);
}

CommandResult VolumeCluster::kubectl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"kubectl", "--kubeconfig", kubelite->kubeconfig};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, dir);
}

CommandResult VolumeCluster::arca(const std::vector<std::string>& args, std::chrono::seconds timeout) {
  std::vector<std::string> argv = {arca_binary(), "--kubeconfig", kubelite->kubeconfig};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, dir, timeout);
}

std::string VolumeCluster::ok(const CommandResult& r) {
  if (r.exit_code != 0) throw std::runtime_error("command failed (" + std::to_string(r.exit_code) + "): " + r.output);
  return r.out;
}

void VolumeCluster::apply(const nlohmann::json& object) {
  std::string file = dir.file("manifest-" + std::to_string(manifests_++) + ".json");
  std::ofstream(file) << object.dump();
  ok(kubectl({"apply", "-f", file}));
}

void VolumeCluster::start_agent(const std::string& node, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {arca_binary(), "--kubeconfig", kubelite->kubeconfig, "node-agent", "server",
                                   "--node-name", node};
  argv.insert(argv.end(), extra.begin(), extra.end());
  agents[node].reset();  // the old agent stops before the new one starts
  agents[node] =
      std::make_unique<ChildProcess>(argv, dir.file("agent-" + node + "-" + std::to_string(agent_runs_++) + ".log"));
}

std::string VolumeCluster::logs(size_t tail) const {
  std::string out;
  for (const auto& f : fs::directory_iterator(dir.path()))
    if (f.path().extension() == ".log") {
      std::string text = read_file(f.path().string());
      out += "---- " + f.path().filename().string() + "\n" + text.substr(text.size() > tail ? text.size() - tail : 0);
    }
  return out;
}

std::map<std::string, std::string> tree(const std::string& root, const std::set<std::string>& skip) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    std::string rel = fs::relative(it->path(), root).string();
    if (skip.count(rel)) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file()) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    out[rel] = ss.str();
  }
  return out;
}

}  // namespace testsupport
