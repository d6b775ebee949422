#pragma once
// How `arca` prints objects (Velero's pkg/cmd/util/output; Velero's pkg/cmd/cli): kubectl-style tables with Velero's columns, JSON/YAML,
// and `backup describe`.
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "api/types.h"

namespace arca::cli {

// Velero's pkg/cmd/util/output/output.go flags: -o/--output, -L/--label-columns, --show-labels.
struct OutputFlags {
  std::string output;  // "table" for get commands; "" for create commands (any -o prints instead of creating)
  std::vector<std::string> label_columns;
  bool show_labels = false;
};
// Velero's kubectl-style printer extras: a column per -L label (headed by the key's last path segment,
// upper-cased), then LABELS with --show-labels. `labels[i]` belongs to rows[i + 1] (rows[0] is the header).
void add_label_columns(std::vector<std::vector<std::string>>& rows,
                       const std::vector<std::map<std::string, std::string>>& labels, const OutputFlags& flags);

// "json" or "yaml" of one object, or of a List when there are several (a list of one prints the object).
std::string format_objects(const std::vector<nlohmann::json>& objects, const std::string& format);
std::string to_yaml(const nlohmann::json& value);

// Velero's backup list order: `<prefix>-<14 digits>` names grouped by prefix, newest first; others by name.
void sort_backups(std::vector<api::Backup>& backups);
std::string backup_table(const std::vector<api::Backup>& backups, Timestamp now, const OutputFlags& flags = {});
std::string location_table(const std::vector<api::BackupStorageLocation>& locations, const OutputFlags& flags = {});

// `backup describe`; `details` adds the resource list (given already decompressed, or "" when unavailable).
// `retention`: arca's line on what garbage collection will do with the backup ("" leaves it out).
// `pod_volume_backups`: the backup's PodVolumeBackups in the cluster (live progress while they run).
std::string describe_backup(const api::Backup& backup, bool details, const std::string& resource_list_json,
                            const std::string& retention = "",
                            const std::vector<api::PodVolumeBackup>& pod_volume_backups = {},
                            const std::string& volume_info_json = "");
// The "CSI Snapshots" part (Velero's describeCSISnapshots): from the backup's volume information, per PVC the
// snapshot kept in the driver ("Snapshot:") or the data moved into the repository ("Data Movement:").
std::string describe_csi_snapshots(const std::string& volume_info_json, bool details);
// The "Pod Volume Backups" part of `backup describe` (Velero's describePodVolumeBackups): grouped by phase
// (Completed, Failed, In Progress with percentages, New), per pod with --details, counts without.
std::string describe_pod_volume_backups(const std::vector<api::PodVolumeBackup>& backups, bool details);

// kubectl-style columns: each as wide as its widest cell, three spaces apart, no trailing blanks.
std::string text_table(const std::vector<std::vector<std::string>>& rows);

// "29d", "5h", "3m": Velero's short human duration.
std::string human_duration(std::chrono::seconds d);

}  // namespace arca::cli
