#include "tests/support/cluster.h"

#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "tests/support/object_servers.h"

namespace testsupport {

using namespace std::chrono_literals;

namespace {
// The arca installed into this cluster is never started from its image (the tests run `arca server` as a local
// process), so kubelite's kubelets run no container processes: its pods still go Running and Ready, as an image
// that exists would.
KubeliteOptions cluster_kubelite_options() {
  KubeliteOptions options;
  options.extra_args = {"--no-processes"};
  return options;
}
Kubelite start_loaded(const TempDir& dir, const std::map<std::string, std::string>& manifests,
                      const std::vector<std::string>& kubelite_args) {
  std::string load = dir.file("load");
  std::filesystem::create_directories(load);
  std::filesystem::copy(fixtures_dir() + "/kubernetes/manifests", load + "/fixtures");
  for (const auto& [name, text] : manifests) std::ofstream(load + "/" + name) << text;
  KubeliteOptions options;
  options.load_dir = load;
  options.extra_args = kubelite_args;
  return start_kubelite(dir, options);
}
}  // namespace

Cluster::Cluster(const Loaded& loaded) : kubelite_(start_loaded(dir_, loaded.manifests, loaded.kubelite_args)), store_root_(dir_.file("store")) {
  std::filesystem::create_directories(store_root_ + "/bucket");
  install_crds();
  create_default_location({"--provider", "local", "--bucket", "bucket", "--config", "root=" + store_root_});
}

Cluster::Cluster(std::string store_root, const std::vector<std::string>& location_flags) : kubelite_(start_kubelite(dir_, cluster_kubelite_options())), store_root_(std::move(store_root)) {
  if (store_root_.empty()) store_root_ = dir_.file("store");
  std::filesystem::create_directories(store_root_ + "/bucket");
  install_crds();
  std::vector<std::string> location = {"--provider", "local", "--bucket", "bucket", "--config", "root=" + store_root_};
  location.insert(location.end(), location_flags.begin(), location_flags.end());
  create_default_location(location);
}

Cluster::Cluster(const S3& s3, const std::vector<std::string>& location_flags)
    : kubelite_(start_kubelite(dir_, cluster_kubelite_options())), store_root_(dir_.file("store")) {
  install_crds();
  auto secret = kubectl({"-n", "velero", "create", "secret", "generic", "cloud-credentials",
                         std::string("--from-literal=cloud=[default]\naws_access_key_id=") + S3rver::kAccessKey +
                             "\naws_secret_access_key=" + S3rver::kSecretKey + "\n"});
  if (secret.exit_code != 0) throw std::runtime_error("kubectl create secret: " + secret.output);
  std::vector<std::string> location = {"--provider", "aws", "--bucket", s3.bucket, "--prefix", s3.prefix,
                                       "--credential", "cloud-credentials=cloud", "--config",
                                       "region=us-east-1,s3ForcePathStyle=true,s3Url=" + s3.url};
  location.insert(location.end(), location_flags.begin(), location_flags.end());
  create_default_location(location);
}

void Cluster::install_crds() {
  auto ns = kubectl({"create", "namespace", "velero"});
  if (ns.exit_code != 0 && ns.output.find("AlreadyExists") == std::string::npos)  // a loaded manifest may hold it
    throw std::runtime_error("kubectl create namespace: " + ns.output);
  arca_ok({"install", "--crds-only"});
}

void Cluster::create_default_location(const std::vector<std::string>& location_args) {
  std::vector<std::string> create = {"backup-location", "create", "default"};
  create.insert(create.end(), location_args.begin(), location_args.end());
  create.push_back("--default");
  arca_ok(create);
}

Cluster::Cluster(Bare) : kubelite_(start_kubelite(dir_, cluster_kubelite_options())), store_root_(dir_.file("store")) {}

Cluster::~Cluster() {
  for (auto& s : servers_) s->stop();
}

CommandResult Cluster::arca(const std::vector<std::string>& args, std::chrono::seconds timeout) {
  std::vector<std::string> argv = {arca_binary(), "--kubeconfig", kubelite_.kubeconfig};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, dir_, timeout);
}

std::string Cluster::arca_ok(const std::vector<std::string>& args) {
  auto r = arca(args);
  if (r.exit_code != 0) {
    std::string line;
    for (const auto& a : args) line += " " + a;
    throw std::runtime_error("arca" + line + " exited " + std::to_string(r.exit_code) + ": " + r.output);
  }
  return r.output;
}

CommandResult Cluster::kubectl(const std::vector<std::string>& args) {
  return testsupport::kubectl(kubelite_.kubeconfig, args, dir_);
}

size_t Cluster::start_server(const std::vector<std::string>& extra_args, const std::string& kubeconfig) {
  std::vector<std::string> argv = {arca_binary(), "--kubeconfig", kubeconfig.empty() ? kubelite_.kubeconfig : kubeconfig,
                                   "server"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  servers_.push_back(std::make_unique<ChildProcess>(
      argv, dir_.file("server-" + std::to_string(servers_.size()) + ".log")));
  return servers_.size() - 1;
}

std::vector<nlohmann::json> Cluster::items(const std::string& resource) {
  auto r = kubectl({"-n", "velero", "get", resource + ".velero.io", "-o", "json"});
  if (r.exit_code != 0) throw std::runtime_error("kubectl get " + resource + ": " + r.output);
  auto list = nlohmann::json::parse(r.out);
  return list["items"].get<std::vector<nlohmann::json>>();
}

}  // namespace testsupport
