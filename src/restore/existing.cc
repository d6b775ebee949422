#include "restore/existing.h"

#include <algorithm>

#include "kube/errors.h"
#include "restore/diff.h"
#include "restore/item_actions.h"

namespace arca::restore {

namespace {

using nlohmann::json;

constexpr const char* kRestoreLabel = "velero.io/restore-name";
constexpr const char* kBackupLabel = "velero.io/backup-name";

// An object that a restore of this same backup created (its restore-name label says a restore made it, its
// backup-name label names our backup) and that differs from the backed-up version only in managedFields: that
// restore was stopped (its server killed) between the create and the patch that restores managedFields. A rerun
// finishes that patch rather than warning that the object "already exists, different".
bool finished_interrupted_restore(kube::DynamicClient& client, const ItemToRestore& item, const json& live_raw,
                                  const json& live, Reporter& report) {
  const json& desired = item.desired;
  const json labels = live_raw.value("/metadata/labels"_json_pointer, json::object());
  const json wanted = desired.value("/metadata/labels"_json_pointer, json::object());
  if (!labels.is_object() || !labels.contains(kRestoreLabel) || !labels[kRestoreLabel].is_string() ||
      !labels.contains(kBackupLabel) || !wanted.contains(kBackupLabel) || labels[kBackupLabel] != wanted[kBackupLabel])
    return false;
  json live_rest = live, desired_rest = desired;
  live_rest["metadata"].erase("managedFields");
  desired_rest["metadata"].erase("managedFields");
  if (live_rest != desired_rest) return false;
  const std::string made_by = labels[kRestoreLabel].get<std::string>();
  const json fields = desired["metadata"].value("managedFields", json::array());
  if (!fields.empty()) {
    try {
      client.patch(item.api, item.ns, item.name, kube::PatchType::Merge,
                   json{{"metadata", {{"managedFields", fields}}}}.dump());
    } catch (const kube::KubeError& e) {
      report.warning(item.ns, "could not restore managedFields of " + item.id + " (created by restore " + made_by +
                                  " of this backup): " + e.what());
    }
  }
  report.log().info("skipping " + item.id + ": restore " + made_by + " of this backup created it and stopped before "
                    "restoring its managedFields; they are restored now");
  report.resources().record(item.kind_key, item.ns, item.name, ItemAction::skipped);
  return true;
}

// A ServiceAccount is merged into, never left different (Velero's pkg/restore/service_account_action.go and
// restore.go): the backed-up secrets, image pull secrets, labels and annotations the live one lacks are added.
void merge_service_account(kube::DynamicClient& client, const ItemToRestore& item, const json& live_raw,
                           Reporter& report) {
  const json& desired = item.desired;
  json merged = live_raw;
  for (const char* list : {"secrets", "imagePullSecrets"})
    for (const auto& entry : desired.value(list, json::array())) {
      json& into = merged[list];
      if (!into.is_array()) into = json::array();
      bool present = std::any_of(into.begin(), into.end(),
                                 [&](const json& e) { return e.value("name", "") == entry.value("name", ""); });
      if (!present) into.push_back(entry);
    }
  for (const char* field : {"labels", "annotations"}) {
    const json wanted = desired["metadata"].value(field, json::object());
    for (const auto& [key, value] : wanted.items())
      if (!merged["metadata"].contains(field) || !merged["metadata"][field].contains(key))
        merged["metadata"][field][key] = value;
  }
  try {
    client.patch(item.api, item.ns, item.name, kube::PatchType::Merge, merge_patch_between(live_raw, merged).dump());
    report.resources().record(item.kind_key, item.ns, item.name, ItemAction::updated);
  } catch (const kube::KubeError& e) {
    report.warning(item.ns, "could not merge " + item.id + " into the existing service account: " + e.what());
    report.resources().record(item.kind_key, item.ns, item.name, ItemAction::failed);
  }
}

}  // namespace

void restore_over_existing(kube::DynamicClient& client, const ItemToRestore& item, const std::string& policy,
                           const json* already_read, Reporter& report) {
  const json& desired = item.desired;
  json live_raw;
  try {
    live_raw = already_read != nullptr ? *already_read : client.get(item.api, item.ns, item.name);
  } catch (const kube::KubeError& e) {
    report.warning(item.ns, "could not restore " + item.id + ": it already exists and cannot be read: " + e.what());
    report.resources().record(item.kind_key, item.ns, item.name, ItemAction::failed);
    return;
  }
  json live = normalized_live(live_raw, desired);
  if (live != desired && finished_interrupted_restore(client, item, live_raw, live, report)) return;
  bool update = policy == "update";
  auto patch = [&](const json& body) { client.patch(item.api, item.ns, item.name, kube::PatchType::Merge, body.dump()); };
  json labels_only = {{"metadata", {{"labels", desired["metadata"]["labels"]}}}};
  if (live == desired) {
    if (update) {
      try {
        patch(labels_only);
      } catch (const kube::KubeError& e) {
        report.error(item.ns, "could not add restore labels to " + item.id + ": " + e.what());
      }
    }
    report.log().info("skipping " + item.id + ": identical to the backed-up version");
    report.resources().record(item.kind_key, item.ns, item.name, ItemAction::skipped);
    return;
  }
  if (item.api.group_resource() == "serviceaccounts") return merge_service_account(client, item, live_raw, report);
  if (update) {
    json live_unlabelled = live;
    for (const char* label : {kBackupLabel, kRestoreLabel})
      if (live_unlabelled["metadata"].contains("labels")) live_unlabelled["metadata"]["labels"].erase(label);
    try {
      patch(merge_patch_between(live_unlabelled, desired));
      report.log().info("updated " + item.id + " to the backed-up version");
      report.resources().record(item.kind_key, item.ns, item.name, ItemAction::updated);
      return;
    } catch (const kube::KubeError& e) {
      report.warning(item.ns, "could not update " + item.id + " to the backed-up version: " + e.what());
    }
    try {
      patch(labels_only);
    } catch (const kube::KubeError& e) {
      report.error(item.ns, "could not add restore labels to " + item.id + ": " + e.what());
    }
    report.resources().record(item.kind_key, item.ns, item.name, ItemAction::failed);
    return;
  }
  report.warning(item.ns, "could not restore, " + desired.value("kind", "") + " \"" + item.name +
                              "\" already exists. Warning: the in-cluster version is different than the backed-up "
                              "version");
  report.resources().record(item.kind_key, item.ns, item.name, ItemAction::failed);
}

void report_dry_run(kube::DynamicClient& client, const ItemToRestore& item, Reporter& report) {
  try {
    json live = normalized_live(client.get(item.api, item.ns, item.name), item.desired);
    if (live == item.desired)
      report.dry_run(item.id, DryRunVerdict::identical);
    else
      report.dry_run(item.id, DryRunVerdict::differs, unified_json_diff(live, item.desired));
  } catch (const kube::KubeError& e) {
    if (!kube::is_not_found(e)) throw;
    report.dry_run(item.id, DryRunVerdict::would_create);
  }
}

}  // namespace arca::restore
