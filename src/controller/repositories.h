#pragma once
// Volume data repositories as Velero keeps them (Velero's pkg/repository): one restic-format repository per
// (volume namespace, backup storage location) at <prefix>/restic/<namespace> in the location's bucket, one
// BackupRepository object each, and one password for all of them in Secret velero-repo-credentials. Shared by the
// server's backup-repo controller, the backup deletion and the node agent.
#include <chrono>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "api/types.h"
#include "kube/discovery.h"
#include "repo/repository.h"

namespace arca::kube {
class Transport;
}

namespace arca::controller {

inline constexpr const char* kRepoCredentialsSecret = "velero-repo-credentials";  // Velero's pkg/repository/keys
inline constexpr const char* kRepoPasswordKey = "repository-password";
// The password Velero's EnsureCommonRepositoryKey writes; tried when the Secret's one does not open a repository
// (a Velero-made repository read from a cluster whose Secret arca created).
inline constexpr const char* kVeleroStaticPassword = "static-passw0rd";
inline constexpr const char* kVolumeNamespaceLabel = "velero.io/volume-namespace";
inline constexpr const char* kStorageLocationLabel = "velero.io/storage-location";
inline constexpr const char* kRepositoryTypeLabel = "velero.io/repository-type";
// Velero's restic maintenance frequency (pkg/repository/maintenance DefaultMaintenanceFrequency): a week.
inline constexpr std::chrono::hours kDefaultMaintenanceFrequency{7 * 24};

// Velero's EnsureCommonRepositoryKey: the Secret's password, creating the Secret when it is missing. arca writes a
// random 32-byte password (hex) where Velero writes a fixed one. The value is never logged.
std::string ensure_repository_password(kube::Transport& transport, const kube::ApiResource& secrets,
                                       const std::string& ns);

// Velero's GetRepoIdentifier for the restic uploader: "s3:<s3Url>/<bucket>/<prefix>/restic/<ns>" (aws),
// "azure:<container>:/<prefix>/restic/<ns>", "gs:...", or the BSL's resticRepoPrefix; arca's local provider
// gives "<root>/<bucket>/<prefix>/restic/<ns>", a path restic opens as it is.
std::string restic_identifier(const api::BackupStorageLocation& location, const std::string& volume_namespace);

// Opens the repository of `volume_namespace` in `location` with `password` (then Velero's fixed one);
// `init_if_missing` creates it when the location holds no repository there. Throws one line naming the
// location and namespace. The location's store stays open as long as the repository.
repo::Repository open_volume_repository(kube::Transport& transport, const kube::ApiResource& secrets,
                                        const api::BackupStorageLocation& location,
                                        const std::string& volume_namespace, const std::string& password,
                                        bool init_if_missing);

struct RepositoryResources {
  kube::ApiResource repositories, locations, secrets;
};

// Velero's repository ensurer (pkg/repository/ensurer.go): the BackupRepository of (volume namespace, location,
// restic), created when missing (generateName <ns>-<bsl>-restic-, Velero's labels), then waited for until the
// backup-repo controller has made it Ready. Throws one line: NotReady with its message, or the timeout.
api::BackupRepository ensure_backup_repository(kube::Transport& transport, const RepositoryResources& resources,
                                               const std::string& ns, const std::string& volume_namespace,
                                               const std::string& location, std::chrono::milliseconds timeout);

// The BackupRepository objects of (volume namespace, location), oldest first (several only after a race).
std::vector<api::BackupRepository> find_backup_repositories(kube::Transport& transport,
                                                            const kube::ApiResource& repositories,
                                                            const std::string& ns, const std::string& volume_namespace,
                                                            const std::string& location);

// Velero's backup deletion (pkg/controller/backup_deletion_controller.go deletePodVolumeSnapshots): the snapshots
// of the backup's Completed PodVolumeBackups are forgotten in their repositories, so that the next maintenance
// frees their data. Returns one line per failure.
std::vector<std::string> forget_pod_volume_snapshots(kube::Transport& transport, kube::Discovery& discovery,
                                                     const kube::ApiResource& secrets, const std::string& ns,
                                                     const api::Backup& backup);

// Rotates the password in Secret velero-repo-credentials without a moment in which a repository cannot be opened
// with the Secret's password: (1) the new password is added as a key (restic's `key add`) to the repository of every
// BackupRepository in `ns`, each opened with the current password; (2) the Secret is updated; (3) each repository,
// opened with the new password, loses the key the old one opened (restic's `key remove`). A failure in (1) removes
// the keys already added and leaves the Secret as it was. `new_password` empty: a random one. Progress, one line per
// repository, goes to `log` (never a password). Returns how many repositories were rotated.
size_t rotate_repository_password(kube::Transport& transport, kube::Discovery& discovery, const kube::ApiResource& secrets,
                                  const std::string& ns, std::string new_password, std::ostream& log);

}  // namespace arca::controller
