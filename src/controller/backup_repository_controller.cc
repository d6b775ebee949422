#include "controller/backup_repository_controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "controller/locations.h"
#include "controller/repositories.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "persistence/backup_store.h"

namespace arca::controller {
namespace {

using namespace std::chrono_literals;

constexpr std::chrono::milliseconds kNotReadyRetry = 1min;
constexpr std::chrono::milliseconds kResync = 5min;  // Velero's repoSyncPeriod
constexpr size_t kRecentMaintenance = 3;             // Velero's defaultMaintenanceStatusQueueLength

void patch_repository(ServerContext& ctx, const kube::ApiResource& repositories, const std::string& name,
                      const nlohmann::json& patch) {
  kube::DynamicClient client(ctx.transport);
  if (patch.contains("spec")) {
    client.patch(repositories, ctx.settings.namespace_name, name, kube::PatchType::Merge,
                 nlohmann::json{{"spec", patch["spec"]}}.dump());
  }
  if (patch.contains("status"))
    client.patch(repositories, ctx.settings.namespace_name, name, kube::PatchType::Merge,
                 nlohmann::json{{"status", patch["status"]}}.dump(), {},
                 repositories.subresource("status") ? "status" : "");
}

Duration maintenance_frequency(const ServerContext& ctx, const api::BackupRepository& r) {
  if (r.spec.maintenance_frequency && *r.spec.maintenance_frequency > Duration::zero()) return *r.spec.maintenance_frequency;
  if (ctx.settings.default_repo_maintain_frequency > Duration::zero()) return ctx.settings.default_repo_maintain_frequency;
  return kDefaultMaintenanceFrequency;
}

std::chrono::milliseconds ms(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d); }

// Forget + prune; returns a summary line. Throws on failure.
std::string maintain(ServerContext& ctx, const api::BackupRepository& r, const api::BackupStorageLocation& location,
                     const std::string& password) {
  auto repository = open_volume_repository(ctx.transport, ctx.secrets, location, r.spec.volume_namespace, password, false);
  std::vector<std::string> in_cluster, in_store;
  kube::DynamicClient(ctx.transport).list(ctx.backups, ctx.settings.namespace_name, {}, [&](const kube::ListItem& item) {
    in_cluster.emplace_back(item.name);
  });
  auto open = open_location(location, ctx.transport, ctx.secrets);
  in_store = persistence::list_backups(open->store(), open->layout());
  auto stale = snapshots_of_deleted_backups(repo::list_snapshots(repository), in_cluster, in_store);
  size_t forgotten = 0;
  if (!stale.empty()) {
    repo::ForgetPolicy policy;
    policy.snapshot_ids = stale;
    forgotten = repo::forget(repository, policy).removed.size();
  }
  std::ostringstream log;
  auto pruned = repo::prune(repository, log);
  std::ostringstream summary;
  summary << "forgot " << forgotten << " snapshot(s) of deleted backups; pruned " << pruned.packs_deleted
          << " pack(s), rewrote " << pruned.packs_rewritten << ", " << pruned.bytes_before << " -> "
          << pruned.bytes_after << " bytes";
  return summary.str();
}

}  // namespace

std::map<std::string, std::string> snapshot_tags(const std::vector<std::string>& tags) {
  std::map<std::string, std::string> out;
  for (const auto& t : tags) {
    auto eq = t.find('=');
    if (eq != std::string::npos) out[t.substr(0, eq)] = t.substr(eq + 1);
  }
  return out;
}

std::vector<std::string> snapshots_of_deleted_backups(const std::vector<repo::SnapshotInfo>& snapshots,
                                                      const std::vector<std::string>& cluster_backups,
                                                      const std::vector<std::string>& stored_backups) {
  std::set<std::string> known(cluster_backups.begin(), cluster_backups.end());
  known.insert(stored_backups.begin(), stored_backups.end());
  std::vector<std::string> out;
  for (const auto& s : snapshots) {
    auto tags = snapshot_tags(s.tags);
    auto backup = tags.find("backup");
    if (backup == tags.end() || backup->second.empty()) continue;
    if (!known.count(backup->second)) out.push_back(s.id);
  }
  return out;
}

ReconcileFn backup_repository_reconciler(ServerContext& ctx, kube::ApiResource repositories) {
  return [&ctx, repositories](const std::string& key, const kube::ObjectPtr& cached) -> ReconcileResult {
    if (!cached) return {};
    auto r = cached->get<api::BackupRepository>();
    const std::string& name = r.metadata.name;
    auto now = ctx.clock.now();
    auto not_ready = [&](const std::string& message) {
      if (r.status.phase != api::BackupRepositoryPhase::NotReady || r.status.message != message) {
        patch_repository(ctx, repositories, name, {{"status", {{"phase", "NotReady"}, {"message", message}}}});
        spdlog::warn("backuprepository={} NotReady: {}", key, message);
      }
      return ReconcileResult{kNotReadyRetry};
    };
    if (r.spec.repository_type == api::RepositoryType::kopia)
      return not_ready("repository type kopia is not supported: arca reads and writes restic-format repositories");
    api::BackupStorageLocation location;
    try {
      location = kube::DynamicClient(ctx.transport)
                     .get(ctx.locations, ctx.settings.namespace_name, r.spec.backup_storage_location)
                     .get<api::BackupStorageLocation>();
    } catch (const kube::KubeError& e) {
      if (!kube::is_not_found(e)) throw;
      return not_ready("error getting backup storage location: backupstoragelocation " +
                       r.spec.backup_storage_location + " not found");
    }
    std::string identifier = restic_identifier(location, r.spec.volume_namespace);
    std::string password = ensure_repository_password(ctx.transport, ctx.secrets, ctx.settings.namespace_name);
    if (r.status.phase != api::BackupRepositoryPhase::Ready) {
      // Velero's initializeRepo, then (for NotReady) checkNotReadyRepo: the same connect-or-create.
      nlohmann::json spec = {{"resticIdentifier", identifier}};
      if (!r.spec.maintenance_frequency)
        spec["maintenanceFrequency"] = format_duration(maintenance_frequency(ctx, r));
      if (r.spec.restic_identifier != identifier || !r.spec.maintenance_frequency)
        patch_repository(ctx, repositories, name, {{"spec", spec}});
      if (location.spec.access_mode == api::AccessMode::ReadOnly) {
        // A read-only location serves restores from an existing repository; it is never created there.
        try {
          open_volume_repository(ctx.transport, ctx.secrets, location, r.spec.volume_namespace, password, false);
        } catch (const std::exception& e) {
          return not_ready(e.what());
        }
      } else {
        try {
          open_volume_repository(ctx.transport, ctx.secrets, location, r.spec.volume_namespace, password, true);
        } catch (const std::exception& e) {
          return not_ready(e.what());
        }
      }
      patch_repository(ctx, repositories, name,
                       {{"status", {{"phase", "Ready"}, {"message", nullptr}, {"lastMaintenanceTime", format_rfc3339(now)}}}});
      spdlog::info("backuprepository={} Ready ({})", key, identifier);
      return {std::min(kResync, ms(maintenance_frequency(ctx, r)))};
    }
    if (r.spec.restic_identifier != identifier)  // the location moved under the repository (Velero: NotReady too)
      return not_ready("the backup storage location changed: resticIdentifier " + r.spec.restic_identifier +
                       " is now " + identifier);
    Duration frequency = maintenance_frequency(ctx, r);
    Timestamp last = r.status.last_maintenance_time.value_or(Timestamp{});
    if (now < last + frequency) return {std::min(kResync, ms(last + frequency - now) + 1s)};
    if (location.spec.access_mode == api::AccessMode::ReadOnly) return {kResync};
    api::BackupRepositoryMaintenanceStatus run;
    run.start_timestamp = now;
    try {
      run.message = maintain(ctx, r, location, password);
      run.result = api::MaintenanceResult::Succeeded;
      spdlog::info("backuprepository={} maintenance: {}", key, run.message);
    } catch (const std::exception& e) {
      run.result = api::MaintenanceResult::Failed;
      run.message = e.what();
      spdlog::warn("backuprepository={} maintenance failed: {}", key, run.message);
    }
    run.complete_timestamp = ctx.clock.now();
    // Through the whole object's JSON: the maintenance entries have no JSON mapping of their own.
    nlohmann::json recent = nlohmann::json(r)["status"].value("recentMaintenance", nlohmann::json::array());
    nlohmann::json entry = {{"result", std::string(api::to_string(run.result))},
                            {"startTimestamp", format_rfc3339(*run.start_timestamp)},
                            {"completeTimestamp", format_rfc3339(*run.complete_timestamp)},
                            {"message", run.message}};
    recent.push_back(entry);
    while (recent.size() > kRecentMaintenance) recent.erase(recent.begin());
    nlohmann::json status = {{"recentMaintenance", recent}};
    // A failed run is retried at the next resync rather than a week later.
    if (run.result == api::MaintenanceResult::Succeeded) status["lastMaintenanceTime"] = format_rfc3339(now);
    patch_repository(ctx, repositories, name, {{"status", status}});
    return {run.result == api::MaintenanceResult::Succeeded ? std::min(kResync, ms(frequency)) : kResync};
  };
}

std::unique_ptr<Controller> make_backup_repository_controller(ServerContext& ctx) {
  auto repositories = ctx.discovery.lookup("velero.io", "v1", "backuprepositories");
  return std::make_unique<Controller>("backup-repo", ctx.transport, repositories, ctx.settings.namespace_name,
                                      backup_repository_reconciler(ctx, repositories));
}

}  // namespace arca::controller
