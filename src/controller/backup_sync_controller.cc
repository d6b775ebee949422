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
      backup = backup_to_import(
          nlohmann::json::parse(persistence::read_backup_metadata(location->store(), location->layout(), name))
              .get<api::Backup>(),
          bsl.metadata.name, ns, ctx.clock.now());
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
    try {
      client.create(ctx.backups, ns, object);
    } catch (const kube::KubeError& e) {
      if (kube::is_already_exists(e)) continue;
      throw;
    }
    if (ctx.backups.subresource("status"))  // create ignored the status; the stored phase and times matter
      client.patch(ctx.backups, ns, name, kube::PatchType::Merge, nlohmann::json{{"status", status}}.dump(), {}, "status");
    spdlog::info("backup-sync location={} imported backup {}", bsl.metadata.name, name);
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
