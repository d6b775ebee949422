#pragma once
// CSI snapshots of a backup's PVCs (Velero's pkg/backup/actions/csi pvc_action.go and volumesnapshot_action.go, the
// async item operations of pkg/controller/backup_operations_controller.go and the finalizer's cleanup): each PVC of a
// CSI volume gets a VolumeSnapshot as it is backed up (all snapshots then run at once in the driver); once every item
// is collected the run waits for each to be readyToUse within csiSnapshotTimeout, backs up the VolumeSnapshot, its
// content and class in their final state, and removes them from the cluster with the content set to Retain, so the
// snapshot lives as long as the backup. A snapshot that fails or is not ready in time fails that volume (an error:
// PartiallyFailed) and is deleted with its content and data.
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "api/types.h"
#include "backup/backup_log.h"
#include "backup/volume_info.h"
#include "backup/volume_snapshotter.h"
#include "csi/csi.h"
#include "kube/discovery.h"
#include "kube/dynamic.h"

namespace arca::csi {

// One entry of a resource policy's volumePolicies: conditions (csi.h volume_conditions_match) and action type.
struct VolumePolicyRule {
  json conditions;
  std::string action;  // skip | snapshot | fs-backup | custom
};

struct SnapshotterOptions {
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};  // the backup's csiSnapshotTimeout
  std::chrono::milliseconds poll{std::chrono::milliseconds(250)};
  std::vector<VolumePolicyRule> volume_policies;
  // Called when the run waits for its snapshots (WaitingForPluginOperations[PartiallyFailed]) and when it writes
  // their items (Finalizing[PartiallyFailed]), `partial` when errors were logged.
  std::function<void(api::BackupPhase phase)> set_phase;
  std::function<std::string()> now;  // RFC 3339
  // The backup's files are encrypted (arca's age encryption), so its deletion cannot read which snapshots it kept:
  // each content then stays in the cluster (Retain, labelled with the backup) for the deletion to find.
  bool keep_contents = false;
  // --snapshot-move-data (Velero's pkg/backup/actions/csi/pvc_action.go with SnapshotMoveData): each ready snapshot
  // gets a DataUpload in `velero_namespace` that a node agent moves into the repository; the run waits for them
  // within `operation_timeout` (the backup's itemOperationTimeout) and backs up each DataUpload in its final state.
  bool move_data = false;
  std::string velero_namespace = "velero";
  std::chrono::milliseconds operation_timeout{std::chrono::hours(4)};
};

class CsiSnapshotter : public backup::VolumeSnapshotter {
 public:
  CsiSnapshotter(kube::Transport& transport, kube::Discovery& discovery, const api::Backup& backup,
                 backup::BackupLog& log, backup::VolumeInfoCollector* volume_info, SnapshotterOptions options);

  bool on_pvc(json& pvc, const json& pv) override;
  bool defers(const std::string& group, const std::string& resource, const std::string& ns,
              const std::string& name) const override;
  void finish(const AddItem& add) override;

  // `<backup>-itemoperations.json.gz` before gzip: "null" when the backup started none (as Velero writes it).
  std::string item_operations_json() const;
  int attempted() const { return static_cast<int>(ops_.size()); }
  int completed() const { return completed_; }
  int failed() const { return failed_; }

 private:
  struct Op {
    std::string pvc_ns, pvc_name, pv_name, vs_name, class_name, driver;
    json pv;
    BackupOperation record;
    std::chrono::steady_clock::time_point started;
    bool done = false;
    std::string error;
    json vs, vsc;  // last seen
    std::string storage_class, du_name, pvc_uid;
    json du;        // the DataUpload, last seen (move_data)
    bool du_done = false;
  };
  void start_upload(Op& op);
  void wait_for_uploads();
  void complete_moved(Op& op, const AddItem& add);
  void record_moved_volume_info(const Op& op, bool ok);
  bool goes_to_fs_backup(const json& pvc);
  std::vector<json>& snapshot_classes();
  void wait_for_all();
  void poll(Op& op);
  void complete(Op& op, const AddItem& add);
  void clean_up_failed(Op& op);
  backup::BackupVolumeInfo volume_info_of(const Op& op, bool ok) const;
  void record_volume_info(const Op& op, bool ok);
  void record_skipped(const json& pvc, const json& pv, const std::string& reason);

  kube::DynamicClient client_;
  kube::Discovery& discovery_;
  const api::Backup& backup_;
  backup::BackupLog& log_;
  backup::VolumeInfoCollector* volume_info_;
  SnapshotterOptions options_;
  kube::ApiResource snapshots_, contents_, classes_, storage_classes_, pods_, data_uploads_;
  bool have_snapshot_api_ = false;

  std::vector<Op> ops_;
  std::optional<std::vector<json>> class_list_;
  std::map<std::string, std::vector<json>> pods_by_ns_;
  std::set<std::string> deferred_;  // "group|resource|ns|name"
  int completed_ = 0, failed_ = 0;
};

}  // namespace arca::csi
