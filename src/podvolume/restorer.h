#pragma once
// File-system restore of pod volumes during a restore (Velero's pkg/restore/actions/pod_volume_restore_action.go,
// pkg/podvolume/restorer.go and restorePodVolumeBackups of pkg/restore/restore.go): a restored pod whose backup
// holds snapshots of its volumes gets the restore-wait init container first, which holds the application back
// until the node agent has written `.velero/<restore-uid>` into every restored volume; once the pod is created,
// one PodVolumeRestore per volume is created and waited for, bounded by --fs-backup-timeout. A volume that cannot
// be restored (its repository is gone, Velero wrote it with kopia) fails alone, named in the restore's errors.
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/types.h"
#include "podvolume/selection.h"

namespace arca::kube {
class Transport;
class Discovery;
}  // namespace arca::kube

namespace arca::podvolume {

inline constexpr const char* kRestoreWaitContainer = "restore-wait";
inline constexpr const char* kRestoreWaitContainerLegacy = "restic-wait";
// The ConfigMap that configures the init container (Velero's plugin config for velero.io/pod-volume-restore; the
// docs name it fs-restore-action-config): found in the server's namespace by these labels.
inline constexpr const char* kRestoreHelperConfigSelector =
    "velero.io/plugin-config,velero.io/pod-volume-restore=RestoreItemAction";
// Velero's image layout: the helper is /velero-restore-helper in the server's image.
inline constexpr const char* kDefaultRestoreHelperCommand = "/velero-restore-helper";

// What the ConfigMap may set (Velero's keys: image, command, cpuRequest, memRequest, cpuLimit, memLimit,
// secCtxRunAsUser, secCtxRunAsGroup, secCtxAllowPrivilegeEscalation, secCtx).
struct RestoreHelperConfig {
  std::map<std::string, std::string> data;
};

// Velero's getImage: the configured image, with the default registry image when it names no registry and the
// server's tag when it has none; `default_image` otherwise.
std::string restore_helper_image(const RestoreHelperConfig& config, const std::string& default_image);

// The restore-wait container Velero builds (args: the restore's UID; env POD_NAMESPACE/POD_NAME from the
// downward API; each restored volume mounted at /restores/<volume>; 100m/128Mi requests and limits unless
// configured; the configured command, else /velero-restore-helper).
nlohmann::json restore_wait_container(const std::vector<std::string>& volumes, const std::string& restore_uid,
                                      const RestoreHelperConfig& config, const std::string& default_image,
                                      std::vector<std::string>* warnings = nullptr);

// Puts the container first among the pod's init containers, replacing a leading restore-wait (or the legacy
// restic-wait) left from the backed-up pod.
void add_restore_wait(nlohmann::json& pod, const nlohmann::json& container);

struct RestorerOptions {
  std::chrono::milliseconds timeout = std::chrono::hours(4);                // --fs-backup-timeout
  std::chrono::milliseconds repository_timeout = std::chrono::minutes(10);  // --resource-timeout
  std::chrono::milliseconds poll_interval = std::chrono::milliseconds(250);
  std::string default_image;  // the server's image
};

struct RestorerOutcome {
  std::vector<std::string> errors;    // Velero-level errors of the restore, one per failed volume
  std::vector<std::string> warnings;
  std::vector<std::string> log;       // info lines for the restore log
  nlohmann::json volume_infos = nlohmann::json::array();  // entries of restore-<name>-volumeinfo.json.gz
  int completed = 0, failed = 0;
};

class Restorer {
 public:
  // `pod_volume_backups`: the backup's <backup>-podvolumebackups.json.gz. `backup_location`: the backup's BSL.
  Restorer(kube::Transport& transport, kube::Discovery& discovery, const api::Restore& restore,
           std::vector<nlohmann::json> pod_volume_backups, std::string backup_location, RestorerOptions options);
  ~Restorer();

  // Before a pod is created: adds restore-wait when the pod has volumes to restore, returns whether it did.
  // `original_ns` is the pod's namespace in the backup.
  bool prepare_pod(nlohmann::json& pod, const std::string& original_ns);
  // After the pod was created: its PodVolumeRestores are created and waited for in the background.
  void pod_created(const std::string& created_pod_json, const std::string& original_ns);
  // Velero's hasPodVolumeBackup: a PV bound to a claim whose data the backup holds as a pod volume backup is
  // provisioned afresh, to be filled by the restore.
  bool pv_has_pod_volume_backup(const nlohmann::json& pv) const;
  // Waits for every pod's volumes (each bounded by the timeout) and returns what happened.
  RestorerOutcome wait_all();

 private:
  void restore_pod(nlohmann::json pod, std::vector<VolumeSnapshot> snapshots, std::string original_ns);
  void record_error(const std::string& message);

  kube::Transport& transport_;
  kube::Discovery& discovery_;
  const api::Restore restore_;  // a copy: the controller rewrites its own while the restore runs
  std::vector<nlohmann::json> pvbs_;
  std::string backup_location_;
  RestorerOptions options_;
  std::chrono::steady_clock::time_point deadline_;
  std::optional<RestoreHelperConfig> config_;  // read once, on the first pod that needs it
  std::mutex mutex_;
  RestorerOutcome outcome_;
  std::vector<std::thread> workers_;
};

}  // namespace arca::podvolume
