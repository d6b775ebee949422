#pragma once
// The controllers around stored backups: BackupStorageLocation availability, DeleteBackupRequest and
// DownloadRequest (Velero's
// pkg/controller/backup_storage_location_controller.go, backup_deletion_controller.go, download_request_controller.go).
#include "controller/context.h"
#include "controller/runtime.h"

namespace arca::controller {

// Validates the store (Velero's pkg/persistence/object_store.go IsValid) and sets Available/Unavailable with a message; again every
// validationFrequency (server --store-validation-frequency when unset; 0 disables re-validation).
ReconcileFn location_reconciler(ServerContext& context);

// Deletes every stored object of the backup, then the Backup, then the request (errors: Processed with them).
ReconcileFn delete_request_reconciler(ServerContext& context);

// Answers with a URL for the requested file: the store's signed URL, or for the `local` provider (which
// has none) a file:// URL of the object's path; Processed, expiring after 10 minutes, deleted when expired.
ReconcileFn download_request_reconciler(ServerContext& context);

}  // namespace arca::controller
