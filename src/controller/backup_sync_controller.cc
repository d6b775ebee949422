#include "controller/backup_sync_controller.h"

#include <spdlog/spdlog.h>

#include <set>

#include "controller/locations.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "persistence/backup_store.h"
#include "util/names.h"

namespace arca::controller {
namespace {

using namespace std::chrono_literals;

bool waiting_or_finalizing(api::BackupPhase p) {
  using P = api::BackupPhase;
  return p == P::WaitingForPluginOperations || p == P::WaitingForPluginOperationsPartiallyFailed || p == P::Finalizing ||
         p == P::FinalizingPartiallyFailed;
}

// As Velero: a PodVolumeBackup that cannot be read or created is logged and the sync goes on.
void import_pod_volume_backups(ServerContext& ctx, OpenLocation& location, const std::string& location_name,
                               const std::string& backup, const std::string& uid) {
  const std::string& ns = ctx.settings.namespace_name;
  std::vector<nlohmann::json> pod_volume_backups;
  try {
    auto stored = persistence::read_backup_gzip_file(location.store(), location.layout(), backup,
                                                     persistence::BackupFile::PodVolumeBackups);
    if (!stored) return;
    pod_volume_backups = pod_volume_backups_to_import(*stored, backup, uid, location_name, ns);
  } catch (const std::exception& e) {
    spdlog::error("backup-sync location={} backup={}: pod volume backups not synced: {}", location_name, backup, e.what());
    return;
  }
  if (pod_volume_backups.empty()) return;
  auto resource = ctx.discovery.lookup("velero.io", "v1", "podvolumebackups");
  kube::DynamicClient client(ctx.transport);
  for (const auto& pvb : pod_volume_backups) {
    try {
      client.create(resource, ns, pvb);
    } catch (const kube::KubeError& e) {
      if (!kube::is_already_exists(e))
        spdlog::error("backup-sync location={} backup={}: pod volume backup {}: {}", location_name, backup,
                      pvb["metadata"].value("name", ""), e.what());
    }
  }
  spdlog::info("backup-sync location={} backup={}: {} pod volume backups synced", location_name, backup,
               pod_volume_backups.size());
}

void sync_location(ServerContext& ctx, const api::BackupStorageLocation& bsl) {
  const std::string& ns = ctx.settings.namespace_name;
  auto location = open_location(bsl, ctx.transport, ctx.secrets);
  auto stored_names = persistence::list_backups(location->store(), location->layout());
  std::set<std::string> stored(stored_names.begin(), stored_names.end());

  kube::DynamicClient client(ctx.transport);
  std::vector<api::Backup> in_cluster;
  client.list(ctx.backups, ns, {}, [&](const kube::ListItem& item) { in_cluster.push_back(item.parse().get<api::Backup>()); });
  std::set<std::string> cluster_names;
  for (const auto& b : in_cluster) cluster_names.insert(b.metadata.name);

  auto schedules = ctx.discovery.lookup("velero.io", "v1", "schedules");
  for (const auto& name : stored_names) {
    if (cluster_names.count(name)) continue;
    std::optional<api::Backup> backup;
    try {
      auto stored = nlohmann::json::parse(persistence::read_backup_metadata(location->store(), location->layout(), name))
                        .get<api::Backup>();
      // Imported under another name, it would look orphaned (no directory of that name) and be deleted at the
      // next sync, then imported again, every period.
      if (stored.metadata.name != name)
        throw std::runtime_error("its velero-backup.json names backup \"" + stored.metadata.name +
                                 "\", not its directory");
      backup = backup_to_import(std::move(stored), bsl.metadata.name, ns, ctx.clock.now());
    } catch (const std::exception& e) {
      spdlog::warn("backup-sync location={} backup={} skipped: {}", bsl.metadata.name, name, e.what());
      continue;
    }
    if (!backup) continue;
    // A Schedule owner only stays when this cluster has that very schedule (same UID).
    std::erase_if(backup->metadata.owner_references, [&](const api::OwnerReference& owner) {
      if (owner.kind != "Schedule") return false;
      try {
        return client.get(schedules, ns, owner.name)["metadata"].value("uid", "") != owner.uid;
      } catch (const kube::KubeError& e) {
        if (kube::is_not_found(e)) return true;
        throw;
      }
    });
    nlohmann::json object = *backup;
    auto status = object["status"];
    std::string uid;
    try {
      uid = client.create(ctx.backups, ns, object)["metadata"].value("uid", "");
    } catch (const kube::KubeError& e) {
      if (kube::is_already_exists(e)) continue;
      throw;
    }
    if (ctx.backups.subresource("status"))  // create ignored the status; the stored phase and times matter
      client.patch(ctx.backups, ns, name, kube::PatchType::Merge, nlohmann::json{{"status", status}}.dump(), {}, "status");
    spdlog::info("backup-sync location={} imported backup {}", bsl.metadata.name, name);
    import_pod_volume_backups(ctx, *location, bsl.metadata.name, name, uid);
  }

  // Orphans: finished backups of this location whose storage is gone.
  std::string label = valid_label_value(bsl.metadata.name);
  for (const auto& b : in_cluster) {
    auto it = b.metadata.labels.find("velero.io/storage-location");
    if (it == b.metadata.labels.end() || it->second != label || stored.count(b.metadata.name)) continue;
    if (b.status.phase != api::BackupPhase::Completed && b.status.phase != api::BackupPhase::PartiallyFailed) continue;
    try {
      client.remove(ctx.backups, ns, b.metadata.name);
      spdlog::info("backup-sync location={} deleted backup {}: it is no longer in the location", bsl.metadata.name,
                   b.metadata.name);
    } catch (const kube::KubeError& e) {
      if (!kube::is_not_found(e)) throw;
    }
  }
}

}  // namespace

std::optional<api::Backup> backup_to_import(api::Backup stored, const std::string& location_name,
                                            const std::string& server_namespace, Timestamp now) {
  if (waiting_or_finalizing(stored.status.phase)) {
    if (!stored.status.expiration || *stored.status.expiration > now) return std::nullopt;
    stored.status.phase = api::BackupPhase::PartiallyFailed;
  }
  stored.metadata.namespace_ = server_namespace;
  stored.metadata.resource_version.clear();
  stored.metadata.uid.clear();
  stored.metadata.creation_timestamp.reset();
  stored.metadata.deletion_timestamp.reset();
  stored.metadata.finalizers.clear();
  stored.metadata.unknown = nlohmann::json();  // managedFields and friends belong to the other cluster
  stored.spec.storage_location = location_name;
  stored.metadata.labels["velero.io/storage-location"] = valid_label_value(location_name);
  return stored;
}

std::vector<nlohmann::json> pod_volume_backups_to_import(const std::string& stored_json, const std::string& backup_name,
                                                         const std::string& backup_uid, const std::string& location_name,
                                                         const std::string& server_namespace) {
  auto stored = nlohmann::json::parse(stored_json);
  if (stored.is_null()) return {};
  if (!stored.is_array()) throw std::runtime_error("podvolumebackups file is not a JSON array");
  std::vector<nlohmann::json> out;
  for (auto pvb : stored) {
    // Objects read through a typed client may be stored without kind/apiVersion; the API server needs them.
    pvb["apiVersion"] = "velero.io/v1";
    pvb["kind"] = "PodVolumeBackup";
    auto& metadata = pvb["metadata"];
    if (metadata.contains("ownerReferences"))
      for (auto& owner : metadata["ownerReferences"])
        if (owner.value("apiVersion", "") == "velero.io/v1" && owner.value("kind", "") == "Backup" &&
            owner.value("name", "") == backup_name)
          owner["uid"] = backup_uid;
    if (metadata.contains("labels") && metadata["labels"].contains("velero.io/backup-uid"))
      metadata["labels"]["velero.io/backup-uid"] = backup_uid;
    metadata["namespace"] = server_namespace;
    for (const char* field : {"resourceVersion", "uid", "creationTimestamp", "managedFields"}) metadata.erase(field);
    pvb["spec"]["backupStorageLocation"] = location_name;
    out.push_back(std::move(pvb));
  }
  return out;
}

ReconcileFn backup_sync_reconciler(ServerContext& ctx, Duration default_period) {
  return [&ctx, default_period](const std::string&, const kube::ObjectPtr& cached) -> ReconcileResult {
    if (!cached) return {};
    auto bsl = cached->get<api::BackupStorageLocation>();
    Duration period = bsl.spec.backup_sync_period.value_or(default_period);
    if (period < Duration::zero()) period = default_period;
    if (period == Duration::zero()) return {};
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(period);
    if (bsl.status.phase != api::LocationPhase::Available) return {std::min<std::chrono::milliseconds>(wait, 5s)};
    Timestamp now = ctx.clock.now();
    if (bsl.status.last_synced_time && *bsl.status.last_synced_time + std::chrono::duration_cast<std::chrono::seconds>(period) > now)
      return {std::chrono::duration_cast<std::chrono::milliseconds>(
          *bsl.status.last_synced_time + std::chrono::duration_cast<std::chrono::seconds>(period) - now)};

    sync_location(ctx, bsl);
    kube::DynamicClient(ctx.transport)
        .patch(ctx.locations, ctx.settings.namespace_name, bsl.metadata.name, kube::PatchType::Merge,
               nlohmann::json{{"status", {{"lastSyncedTime", format_rfc3339(now)}}}}.dump(), {},
               ctx.locations.subresource("status") ? "status" : "");
    return {wait};
  };
}

std::unique_ptr<Controller> make_backup_sync_controller(ServerContext& ctx, Duration default_period) {
  return std::make_unique<Controller>("backup-sync", ctx.transport, ctx.locations, ctx.settings.namespace_name,
                                      backup_sync_reconciler(ctx, default_period));
}

}  // namespace arca::controller
