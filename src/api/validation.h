#pragma once
// Velero's validation rules that depend only on the object itself (no cluster lookups), returning every
// problem as a message with Velero's wording. An empty list means valid. The controllers add the rules that
// need the cluster (storage location exists and is available, snapshot locations, resource policy ConfigMap).
#include <string>
#include <vector>

#include "api/types.h"

namespace arca::api {

// True when any of includedResources, excludedResources or includeClusterResources is set ("old" filters).
bool uses_old_resource_filters(const BackupSpec& spec);
// True when any scoped (cluster-/namespace-scoped) include or exclude list is set ("new" filters).
bool uses_new_resource_filters(const BackupSpec& spec);

// Velero's pkg/controller/backup_controller.go prepareBackupRequest: resource and namespace lists, old+new filters together, labelSelector together with
// orLabelSelectors, label selector syntax, hook specs.
std::vector<std::string> validate_backup_spec(const BackupSpec& spec);

// Velero's restore_types.go: exactly one of backupName/scheduleName, lists, existingResourcePolicy, selectors.
std::vector<std::string> validate_restore_spec(const RestoreSpec& spec);

// Schedule controller: cron expression, then the template's backup rules.
std::vector<std::string> validate_schedule(const Schedule& schedule);

// BackupStorageLocation: provider and bucket present, not both caCert forms, bucket without '/'.
std::vector<std::string> validate_backup_storage_location(const BackupStorageLocationSpec& spec);

}  // namespace arca::api
