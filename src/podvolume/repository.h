#pragma once
// The BackupRepository a pod volume operation writes to (Velero's pkg/repository/ensurer.go and
// backup_repo_op.go): one per (volume namespace, storage location, repository type), found by Velero's labels,
// created New with Velero's generateName when missing, and waited on until the repository controller (run by the
// node agent side) has made it Ready. Several backups may ask at once: one creator per key inside a process.
#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

namespace arca::kube {
class Transport;
class Discovery;
}  // namespace arca::kube

namespace arca::podvolume {

struct RepositoryKey {
  std::string volume_namespace, backup_location, repository_type;  // repository_type: restic | kopia
};

// Velero's labels velero.io/volume-namespace, velero.io/storage-location, velero.io/repository-type.
std::string repository_selector(const RepositoryKey& key);

// The BackupRepository Velero would create for `key` in `namespace_name` (generateName "<ns>-<bsl>-<type>-").
nlohmann::json new_repository(const std::string& namespace_name, const RepositoryKey& key);

// Returns the Ready repository for `key`, creating it when none exists, waiting at most `timeout` (the server's
// --resource-timeout) for it to become Ready. Throws std::runtime_error with Velero's wording: "backup repository
// is not ready: <message>", "more than one BackupRepository found ...", "failed to wait BackupRepository: ...".
nlohmann::json ensure_repository(kube::Transport& transport, kube::Discovery& discovery,
                                 const std::string& namespace_name, const RepositoryKey& key,
                                 std::chrono::milliseconds timeout);

}  // namespace arca::podvolume
