#include "tests/integration/harness.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "archive/tarball_reader.h"
#include "kube/errors.h"
#include "persistence/backup_store.h"

namespace fs = std::filesystem;

namespace integration {

std::string gunzip(const std::string& data) { return arca::persistence::gunzip_bytes(data, "test file"); }

Cluster::Cluster(const std::map<std::string, std::string>& manifests, const std::vector<std::string>& kubelite_args)
    : testsupport::Cluster(Loaded{manifests, kubelite_args}) {
  arca::kube::LoadOptions load_options;
  load_options.kubeconfig = kubeconfig();
  transport_ = std::make_unique<arca::kube::Transport>(arca::kube::load_config(load_options));
  discovery_ = std::make_unique<arca::kube::Discovery>(*transport_);
  client_ = std::make_unique<arca::kube::DynamicClient>(*transport_);
  start_server();
}

void Cluster::start_server(const std::vector<std::string>& extra_args, const std::string& kubeconfig) {
  std::vector<std::string> args = {"--store-validation-frequency", "1s"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  server_ = testsupport::Cluster::start_server(args, kubeconfig);
  // Ready once the BSL is validated by this server.
  bool ready = testsupport::eventually([&] {
    auto get = arca({"backup-location", "get", "default", "-o", "json"});
    return get.exit_code == 0 && nlohmann::json::parse(get.out).value("/status/phase"_json_pointer, "") == "Available";
  }, std::chrono::seconds(10), std::chrono::milliseconds(100));
  if (!ready) throw std::runtime_error("arca server did not validate the BSL: " + server().log());
}

std::string Cluster::backup_file(const std::string& backup, const std::string& file) const {
  return bucket_dir() + "/backups/" + backup + "/" + file;
}

bool Cluster::exists(const std::string& path) const { return fs::exists(path); }

std::vector<std::string> Cluster::store_listing() const {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(bucket_dir()))
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), bucket_dir()).string());
  std::sort(out.begin(), out.end());
  return out;
}

std::map<std::string, std::string> Cluster::tarball(const std::string& backup) const {
  std::ifstream in(backup_file(backup, backup + ".tar.gz"), std::ios::binary);
  if (!in) throw std::runtime_error("no tarball for backup " + backup);
  arca::archive::TarballReader reader([&](char* buffer, size_t capacity) {
    in.read(buffer, static_cast<std::streamsize>(capacity));
    return static_cast<size_t>(in.gcount());
  });
  std::map<std::string, std::string> entries;
  while (auto entry = reader.next()) entries[entry->path] = reader.read_content();
  return entries;
}

nlohmann::json Cluster::gz_json(const std::string& backup, const std::string& file) const {
  return nlohmann::json::parse(gunzip(testsupport::read_file(backup_file(backup, file))));
}

nlohmann::json Cluster::metadata(const std::string& backup) const {
  return nlohmann::json::parse(testsupport::read_file(backup_file(backup, "velero-backup.json")));
}

arca::kube::ApiResource Cluster::resource(const std::string& group, const std::string& resource) {
  return discovery_->lookup(group, "v1", resource);
}

nlohmann::json Cluster::get_backup(const std::string& name) {
  return client_->get(resource("velero.io", "backups"), "velero", name);
}

nlohmann::json Cluster::wait_for_phase(const std::string& name, const std::vector<std::string>& phases, int seconds) {
  nlohmann::json b;
  testsupport::eventually([&] {
    try {
      b = get_backup(name);
    } catch (const arca::kube::KubeError&) {
      return false;  // not created yet
    }
    return std::find(phases.begin(), phases.end(), b.value("/status/phase"_json_pointer, std::string())) != phases.end();
  }, std::chrono::seconds(seconds));
  return b;
}

}  // namespace integration
