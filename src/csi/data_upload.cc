// The backup's side of the data mover (Velero's pkg/backup/actions/csi/pvc_action.go with SnapshotMoveData, its
// Progress/Cancel, and the finalizer's items-to-update): a DataUpload per ready snapshot, waited for, then backed up in
// its final state; the node agent (src/nodeagent/data_upload.cc) moves the data and removes the snapshot.
#include <thread>

#include "csi/backup_snapshots.h"
#include "kube/errors.h"
#include "util/names.h"

namespace arca::csi {

namespace {

bool finished(const json& du) {
  std::string phase = string_at(du, "/status/phase"_json_pointer);
  return phase == "Completed" || phase == "Failed" || phase == "Canceled";
}

}  // namespace

void CsiSnapshotter::start_upload(Op& op) {
  backup::LogFields fields{"persistentvolumeclaims", op.pvc_ns, op.pvc_name, true};
  // pvc_action.go: the operation is the PVC's, named after the backup's and the PVC's UIDs.
  op.record.action = "velero.io/csi-pvc-backupper";
  op.record.item = {"", "persistentvolumeclaims", op.pvc_ns, op.pvc_name};
  op.record.operation_id = valid_label_value("du-" + backup_.metadata.uid + "." + op.pvc_uid);
  api::DataUpload du;
  du.metadata.name = op.du_name;
  du.metadata.namespace_ = options_.velero_namespace;
  du.metadata.labels = {{kBackupNameLabel, valid_label_value(backup_.metadata.name)},
                        {"velero.io/backup-uid", backup_.metadata.uid},
                        {"velero.io/pvc-uid", op.pvc_uid},
                        {kAsyncOperationIdLabel, op.record.operation_id}};
  du.metadata.owner_references.push_back(controller_owner("Backup", backup_.metadata.name, backup_.metadata.uid));
  du.spec.snapshot_type = "CSI";
  du.spec.csi_snapshot.emplace();
  du.spec.csi_snapshot->volume_snapshot = op.vs_name;
  du.spec.csi_snapshot->storage_class = op.storage_class;
  du.spec.csi_snapshot->snapshot_class = op.class_name;
  du.spec.csi_snapshot->driver = op.driver;
  du.spec.source_pvc = op.pvc_name;
  du.spec.source_namespace = op.pvc_ns;
  du.spec.datamover = backup_.spec.datamover;
  du.spec.backup_storage_location = backup_.spec.storage_location;
  du.spec.operation_timeout = backup_.spec.csi_snapshot_timeout;
  // Velero 1.19's backupType, as its data mover controller hands it on (block data mover design).
  if (backup_.spec.backup_type == "Full") du.spec.parent_snapshot = "none";
  if (backup_.spec.backup_type == "Incremental") du.spec.parent_snapshot = "auto";
  try {
    op.du = client_.create(data_uploads_, options_.velero_namespace, json(du));
    op.started = std::chrono::steady_clock::now();
    log_.info("Created DataUpload " + options_.velero_namespace + "/" + op.du_name + " for the VolumeSnapshot " +
                  op.pvc_ns + "/" + op.vs_name,
              fields);
  } catch (const std::exception& e) {
    op.error = std::string("error creating DataUpload: ") + e.what();
    op.du_done = true;
  }
}

// The backup operations controller's polling of pvc_action.go Progress: done when the DataUpload is Completed,
// Failed or Canceled; past the operation timeout it is canceled (pvc_action.go Cancel) and the volume fails.
void CsiSnapshotter::wait_for_uploads() {
  for (;;) {
    bool pending = false;
    for (auto& op : ops_) {
      if (op.du_done || !op.error.empty()) continue;
      try {
        op.du = client_.get(data_uploads_, options_.velero_namespace, op.du_name);
      } catch (const kube::KubeError& e) {
        if (kube::is_not_found(e)) {
          op.error = "DataUpload " + op.du_name + " was deleted";
          op.du_done = true;
          continue;
        }
      }
      if (finished(op.du)) {
        op.du_done = true;
        std::string phase = string_at(op.du, "/status/phase"_json_pointer);
        if (phase != "Completed") {
          std::string message = string_at(op.du, "/status/message"_json_pointer);
          op.error = "DataUpload " + op.du_name + " is " + phase + (message.empty() ? "" : ": " + message);
        }
        continue;
      }
      if (std::chrono::steady_clock::now() - op.started >= options_.operation_timeout) {
        try {
          client_.patch(data_uploads_, options_.velero_namespace, op.du_name, kube::PatchType::Merge,
                        R"({"spec":{"cancel":true}})");
        } catch (const std::exception&) {
        }
        op.error = "timeout waiting for DataUpload " + op.du_name + " (the backup's item operation timeout)";
        op.du_done = true;
        continue;
      }
      pending = true;
    }
    if (!pending) return;
    std::this_thread::sleep_for(options_.poll);
  }
}

// The finalizer's items to update: the DataUpload in its final state (a restore finds the snapshot there).
void CsiSnapshotter::complete_moved(Op& op, const AddItem& add) {
  json du = op.du;
  if (du.contains("metadata")) du["metadata"].erase("managedFields");
  add("velero.io", "datauploads", options_.velero_namespace, op.du_name, du.dump());
  op.record.post_operation_items = {{"velero.io", "datauploads", options_.velero_namespace, op.du_name}};
}

void CsiSnapshotter::record_moved_volume_info(const Op& op, bool ok) {
  if (!volume_info_) return;
  backup::BackupVolumeInfo info = volume_info_of(op, ok);
  info.snapshot_data_moved = true;
  info.preserve_local_snapshot = false;  // the node agent removed the snapshot once its data was moved
  info.completion_timestamp = ok ? string_at(op.du, "/status/completionTimestamp"_json_pointer) : "";
  info.csi_snapshot_info->operation_id.clear();
  backup::SnapshotDataMovementInfo moved;
  moved.data_mover = backup_.spec.datamover.empty() ? "velero" : backup_.spec.datamover;
  moved.uploader_type = "restic";
  moved.retained_snapshot = op.vs_name;
  moved.snapshot_handle = string_at(op.du, "/status/snapshotID"_json_pointer);
  moved.operation_id = op.record.operation_id;
  moved.size = op.du.is_object() ? op.du.value("/status/progress/totalBytes"_json_pointer, int64_t{0}) : 0;
  moved.phase = string_at(op.du, "/status/phase"_json_pointer);
  info.snapshot_data_movement_info = moved;
  volume_info_->add(std::move(info));
}

}  // namespace arca::csi
