#pragma once
// What the console shows and submits, as plain functions over JSON: the summaries of velero.io objects sent to
// the browser (never a credential or Secret value), and the Backup / Restore / Schedule objects built from a form,
// the same objects `arca backup create`, `arca restore create` and `arca schedule create` submit.
#include <nlohmann/json.hpp>

#include <string>

#include "api/types.h"

namespace arca::console {

// Summaries: the fields the views list, flat. `kind` is "backup", "restore", "schedule" or "location".
nlohmann::json backup_summary(const nlohmann::json& backup);
nlohmann::json restore_summary(const nlohmann::json& restore);
nlohmann::json schedule_summary(const nlohmann::json& schedule, Timestamp now);
// The location's provider, bucket, prefix, phase and last validation; its config and credential are left out.
nlohmann::json location_summary(const nlohmann::json& location);

// The object for the detail view: metadata (without managedFields), spec and status.
nlohmann::json backup_detail(const nlohmann::json& backup);

// From the console's forms (JSON bodies) to velero.io objects in namespace `ns`; std::invalid_argument with one
// line naming the field that is wrong.
//   backup:   {name, includeNamespaces[], excludeNamespaces[], includeResources[], excludeResources[], ttl,
//              storageLocation, selector, includeClusterResources?}
//   restore:  {name?, backup, includeNamespaces[], excludeNamespaces[], namespaceMappings{src: dst},
//              existingResourcePolicy, restorePVs?}
//   schedule: {name, schedule (cron), paused, keepLast, and the backup fields above as its template}
api::Backup backup_from_form(const nlohmann::json& form, const std::string& ns);
api::Restore restore_from_form(const nlohmann::json& form, const std::string& ns, Timestamp now);
api::Schedule schedule_from_form(const nlohmann::json& form, const std::string& ns);

// A Kubernetes object name (DNS-1123 subdomain, at most 253 characters).
bool valid_name(const std::string& name);

}  // namespace arca::console
