#pragma once
// File-system backup of pod volumes during a backup (Velero's pkg/podvolume/backupper.go and the pod branch of
// pkg/backup/item_backupper.go): after a pod item is backed up, one PodVolumeBackup per selected volume is created
// for the node agent of the pod's node, and the backup goes on while the data moves; before the backup completes
// it waits for all of them, bounded by --fs-backup-timeout. Failed and unfinished volumes are errors of the backup
// (PartiallyFailed) naming the pod and the volume.
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/types.h"
#include "backup/backup_log.h"
#include "backup/volume_info.h"
#include "podvolume/selection.h"

namespace arca::kube {
class Transport;
class Discovery;
}  // namespace arca::kube

namespace arca::podvolume {

struct BackupperOptions {
  std::string uploader_type = "restic";  // arca's engine writes restic-format repositories
  std::chrono::milliseconds timeout = std::chrono::hours(4);             // --fs-backup-timeout
  std::chrono::milliseconds repository_timeout = std::chrono::minutes(10);  // --resource-timeout
  std::chrono::milliseconds poll_interval = std::chrono::milliseconds(250);
  std::vector<VolumePolicyRule> policies;  // the backup's resource policy volumePolicies
  bool backup_excludes_pvcs = false;
};

// Velero's annotation on a Backup that overrides --fs-backup-timeout for it.
inline constexpr const char* kPodVolumeTimeoutAnnotation = "velero.io/pod-volume-timeout";

struct BackupperResult {
  std::vector<nlohmann::json> pod_volume_backups;  // as the node agents left them, in creation order
  int completed = 0, failed = 0, unfinished = 0;
};

class Backupper {
 public:
  // `backup` is the Backup as stored (name, uid, namespace, spec.storageLocation and defaultVolumesToFsBackup set).
  Backupper(kube::Transport& transport, kube::Discovery& discovery, const api::Backup& backup, backup::BackupLog& log,
            BackupperOptions options);

  // Called by the engine for each pod it backs up. Cheap for pods that ask for nothing. True when it created
  // PodVolumeBackups for the pod.
  bool back_up_pod(std::string_view pod_json);

  // Waits (within the backup's fs-backup timeout) until the pod's PodVolumeBackups are Completed or Failed: its
  // post hooks run then, as Velero's item_backupper.go runs them once the pod's volumes are backed up. wait_all
  // reports the results.
  void wait_pod(std::string_view pod_json);

  // Waits until every PodVolumeBackup created is Completed or Failed, or the timeout (counted from construction,
  // as Velero starts it with the backup) passed: then the unfinished ones are canceled (spec.cancel) and reported.
  // Each failure is logged as an error naming the pod and the volume.
  BackupperResult wait_all();

  // Entries of <backup>-volumeinfo.json.gz for the volumes backed up (after wait_all) and those skipped.
  void add_volume_infos(backup::VolumeInfoCollector& collector) const;

  bool any() const { return !created_.empty(); }

 private:
  // What volumeinfo needs of a created PodVolumeBackup's PVC and PV, read when it was created.
  struct PVCFacts {
    std::string pvc, pv, reclaim_policy;
    std::map<std::string, std::string> pv_labels;
  };
  struct Created {
    std::string name, pod_namespace, pod_name, volume, node;
    PVCFacts pvc;
  };
  void back_up_volumes(const nlohmann::json& pod, const std::vector<std::string>& volumes);
  void skip_pvc(const std::string& pod_namespace, const PVCFacts& pvc, const std::string& reason);
  PVCFacts pvc_facts(const std::string& ns, const nlohmann::json& pvc);
  nlohmann::json get_or_null(const kube::ApiResource& resource, const std::string& ns, const std::string& name);

  kube::Transport& transport_;
  kube::Discovery& discovery_;
  const api::Backup& backup_;
  backup::BackupLog& log_;
  BackupperOptions options_;
  bool default_fs_backup_ = false;
  std::chrono::steady_clock::time_point deadline_;
  std::vector<Created> created_;
  std::set<std::string> pvcs_backed_up_;             // ns/claim: a PVC mounted by several pods is copied once
  std::map<std::string, std::pair<PVCFacts, std::string>> skipped_pvcs_;  // ns/claim → facts, why
  BackupperResult result_;
};

}  // namespace arca::podvolume
