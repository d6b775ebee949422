#include "podvolume/repository.h"

#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "kube/dynamic.h"
#include "kube/errors.h"
#include "util/names.h"

namespace arca::podvolume {
namespace {

using nlohmann::json;

std::map<std::string, std::string> labels_of(const RepositoryKey& key) {
  return {{"velero.io/volume-namespace", valid_label_value(key.volume_namespace)},
          {"velero.io/storage-location", valid_label_value(key.backup_location)},
          {"velero.io/repository-type", valid_label_value(key.repository_type)}};
}

// Velero's repoLock: two callers for one key in one process would both find none and both create one.
std::mutex& key_mutex(const RepositoryKey& key) {
  static std::mutex guard;
  static std::map<std::string, std::unique_ptr<std::mutex>> locks;
  std::lock_guard lock(guard);
  auto& m = locks[key.volume_namespace + "\n" + key.backup_location + "\n" + key.repository_type];
  if (!m) m = std::make_unique<std::mutex>();
  return *m;
}

enum class Found { none, not_provisioned, ready };

// Velero's GetBackupRepository with ensureReady.
Found find(kube::DynamicClient& client, const kube::ApiResource& repos, const std::string& ns, const RepositoryKey& key,
           json& repo) {
  std::vector<json> items;
  kube::ListOptions options;
  options.label_selector = repository_selector(key);
  client.list(repos, ns, options, [&](const kube::ListItem& item) { items.push_back(item.parse()); });
  if (items.empty()) return Found::none;
  if (items.size() > 1)
    throw std::runtime_error("more than one BackupRepository found for workload namespace \"" + key.volume_namespace +
                             "\", backup storage location \"" + key.backup_location + "\", repository type \"" +
                             key.repository_type + "\"");
  repo = std::move(items.front());
  std::string phase = repo.value("/status/phase"_json_pointer, std::string());
  if (phase == "NotReady")
    throw std::runtime_error("backup repository is not ready: " +
                             repo.value("/status/message"_json_pointer, std::string()));
  if (phase.empty() || phase == "New") return Found::not_provisioned;
  return Found::ready;
}

}  // namespace

std::string repository_selector(const RepositoryKey& key) {
  std::string out;
  for (const auto& [k, v] : labels_of(key)) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

json new_repository(const std::string& namespace_name, const RepositoryKey& key) {
  json labels = json::object();
  for (const auto& [k, v] : labels_of(key)) labels[k] = v;
  return {{"apiVersion", "velero.io/v1"},
          {"kind", "BackupRepository"},
          {"metadata",
           {{"namespace", namespace_name},
            {"generateName", key.volume_namespace + "-" + key.backup_location + "-" + key.repository_type + "-"},
            {"labels", labels}}},
          {"spec",
           {{"volumeNamespace", key.volume_namespace},
            {"backupStorageLocation", key.backup_location},
            {"repositoryType", key.repository_type}}}};
}

json ensure_repository(kube::Transport& transport, kube::Discovery& discovery, const std::string& namespace_name,
                       const RepositoryKey& key, std::chrono::milliseconds timeout) {
  if (key.volume_namespace.empty() || key.backup_location.empty() || key.repository_type.empty())
    throw std::runtime_error("wrong parameters, namespace \"" + key.volume_namespace +
                             "\", backup storage location \"" + key.backup_location + "\", repository type \"" +
                             key.repository_type + "\"");
  kube::DynamicClient client(transport);
  const auto repos = discovery.lookup("velero.io", "v1", "backuprepositories");
  std::lock_guard lock(key_mutex(key));
  json repo;
  Found found = find(client, repos, namespace_name, key, repo);
  if (found == Found::ready) return repo;
  if (found == Found::none) {
    try {
      client.create(repos, namespace_name, new_repository(namespace_name, key));
    } catch (const kube::KubeError& e) {
      throw std::runtime_error(std::string("unable to create backup repository resource: ") + e.what());
    }
  }
  // Velero polls every 500 ms up to the resource timeout.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (find(client, repos, namespace_name, key, repo) == Found::ready) return repo;
    if (std::chrono::steady_clock::now() >= deadline)
      throw std::runtime_error("failed to wait BackupRepository: timed out waiting for the condition (the "
                               "BackupRepository for namespace " + key.volume_namespace + " and location " +
                               key.backup_location + " did not become Ready; is the node agent running?)");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace arca::podvolume
