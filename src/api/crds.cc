#include "api/crds.h"

#include "api/mapping.h"

namespace arca::api {
namespace {

struct CrdNames {
  const char* plural;
  const char* singular;
  std::vector<const char*> short_names;
  // Velero's CRDs declare `subresources: {}` (no /status) for some kinds and omit the key for others; keep the
  // same so status updates behave the same for Velero's clients and arca's.
  bool empty_subresources;
  json printer_columns = json::array();
};

json column(const char* name, const char* type, const char* json_path, const char* description = nullptr,
            const char* format = nullptr, int priority = 0) {
  json c{{"name", name}, {"type", type}, {"jsonPath", json_path}};
  if (description) c["description"] = description;
  if (format) c["format"] = format;
  if (priority) c["priority"] = priority;
  return c;
}

template <class T>
json crd(const CrdNames& names) {
  const std::string api_version = mapping::Describe<T>::api_version;
  const std::string kind = mapping::Describe<T>::kind;
  json version{{"name", api_version.substr(api_version.find('/') + 1)},
               {"served", true},
               {"storage", true},
               {"schema", {{"openAPIV3Schema", mapping::schema<T>()}}}};
  if (names.empty_subresources) version["subresources"] = json::object();
  if (!names.printer_columns.empty()) version["additionalPrinterColumns"] = names.printer_columns;
  json crd_names{{"kind", kind}, {"listKind", kind + "List"}, {"plural", names.plural}, {"singular", names.singular}};
  if (!names.short_names.empty()) crd_names["shortNames"] = names.short_names;
  return {{"apiVersion", "apiextensions.k8s.io/v1"},
          {"kind", "CustomResourceDefinition"},
          // `velero uninstall` finds CRDs by this label; arca's installer does the same.
          {"metadata", {{"name", std::string(names.plural) + "." + kGroup}, {"labels", {{"component", "velero"}}}}},
          {"spec",
           {{"group", kGroup}, {"names", crd_names}, {"scope", "Namespaced"}, {"versions", json::array({version})}}}};
}

// Columns shared by the pod-volume and data-mover kinds.
json volume_operation_columns(const char* kind, bool incremental, const char* location_description,
                              const char* uploader_column) {
  std::string k = kind;
  json columns = json::array();
  columns.push_back(column("Status", "string", ".status.phase", (k + " status such as New/InProgress").c_str()));
  columns.push_back(column("Started", "date", ".status.startTimestamp",
                           ("Time duration since this " + k + " was started").c_str()));
  columns.push_back(column("Bytes Done", "integer", ".status.progress.bytesDone", "Completed bytes", "int64"));
  columns.push_back(column("Total Bytes", "integer", ".status.progress.totalBytes", "Total bytes", "int64"));
  if (incremental)
    columns.push_back(
        column("Incremental Bytes", "integer", ".status.incrementalBytes", "Incremental bytes", "int64", 10));
  columns.push_back(column("Storage Location", "string", ".spec.backupStorageLocation", location_description));
  columns.push_back(column("Age", "date", ".metadata.creationTimestamp",
                           ("Time duration since this " + k + " was created").c_str()));
  columns.push_back(column("Node", "string", ".status.node",
                           ("Name of the node where the " + k + " is processed").c_str()));
  if (uploader_column)
    columns.push_back(
        column(uploader_column, "string", ".spec.uploaderType", "The type of the uploader to handle data transfer"));
  return columns;
}

constexpr const char* kStoredWhere = "Name of the Backup Storage Location where this backup should be stored";
constexpr const char* kStoredAt = "Name of the Backup Storage Location where the backup data is stored";

}  // namespace

std::vector<json> velero_crds() {
  std::vector<json> out;
  out.push_back(crd<BackupRepository>(
      {"backuprepositories", "backuprepository", {}, true,
       json::array({column("Age", "date", ".metadata.creationTimestamp"),
                    column("Repository Type", "string", ".spec.repositoryType")})}));
  out.push_back(crd<Backup>({"backups", "backup", {}, false}));
  out.push_back(crd<BackupStorageLocation>(
      {"backupstoragelocations", "backupstoragelocation", {"bsl"}, true,
       json::array({column("Phase", "string", ".status.phase",
                           "Backup Storage Location status such as Available/Unavailable"),
                    column("Last Validated", "date", ".status.lastValidationTime",
                           "LastValidationTime is the last time the backup store location was validated"),
                    column("Age", "date", ".metadata.creationTimestamp"),
                    column("Default", "boolean", ".spec.default", "Default backup storage location")})}));
  out.push_back(crd<DataDownload>({"datadownloads", "datadownload", {}, true,
                                   volume_operation_columns("DataDownload", false, kStoredAt, nullptr)}));
  out.push_back(crd<DataUpload>({"datauploads", "dataupload", {}, true,
                                 volume_operation_columns("DataUpload", true, kStoredWhere, nullptr)}));
  out.push_back(crd<DeleteBackupRequest>(
      {"deletebackuprequests", "deletebackuprequest", {}, true,
       json::array({column("BackupName", "string", ".spec.backupName", "The name of the backup to be deleted"),
                    column("Status", "string", ".status.phase", "The status of the deletion request")})}));
  out.push_back(crd<DownloadRequest>({"downloadrequests", "downloadrequest", {}, false}));
  out.push_back(crd<PodVolumeBackup>({"podvolumebackups", "podvolumebackup", {}, true,
                                      volume_operation_columns("PodVolumeBackup", true, kStoredWhere, "Uploader")}));
  out.push_back(crd<PodVolumeRestore>(
      {"podvolumerestores", "podvolumerestore", {}, true,
       volume_operation_columns("PodVolumeRestore", false, kStoredAt, "Uploader Type")}));
  out.push_back(crd<Restore>({"restores", "restore", {}, false}));
  out.push_back(crd<Schedule>(
      {"schedules", "schedule", {}, true,
       json::array({column("Status", "string", ".status.phase", "Status of the schedule"),
                    column("Schedule", "string", ".spec.schedule", "A Cron expression defining when to run the Backup"),
                    column("LastBackup", "date", ".status.lastBackup", "The last time a Backup was run for this schedule"),
                    column("Age", "date", ".metadata.creationTimestamp"),
                    column("Paused", "boolean", ".spec.paused")})}));
  out.push_back(crd<ServerStatusRequest>({"serverstatusrequests", "serverstatusrequest", {"ssr"}, false}));
  out.push_back(crd<VolumeSnapshotLocation>({"volumesnapshotlocations", "volumesnapshotlocation", {"vsl"}, false}));
  return out;
}

}  // namespace arca::api
