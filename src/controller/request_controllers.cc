#include "controller/request_controllers.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "api/types.h"
#include "controller/csi_snapshots.h"
#include "controller/locations.h"
#include "controller/protection.h"
#include "controller/repositories.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "persistence/backup_store.h"
#include "util/names.h"

namespace arca::controller {
namespace {

using namespace std::chrono_literals;

// How often a deletion the store refused for an object lock is tried again: the lock's end is unknown (the
// store did not say), and a try costs one request.
constexpr std::chrono::milliseconds kLockedRetry = 10min;

std::chrono::milliseconds until(Timestamp when, Timestamp now) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(when - now);
}

// Through the status subresource where the CRD declares one (then the main resource ignores status).
void patch_status(ServerContext& ctx, const kube::ApiResource& resource, const std::string& ns, const std::string& name,
                  const nlohmann::json& status) {
  kube::DynamicClient(ctx.transport)
      .patch(resource, ns, name, kube::PatchType::Merge, nlohmann::json{{"status", status}}.dump(), {},
             resource.subresource("status") ? "status" : "");
}

std::optional<api::BackupStorageLocation> get_location(ServerContext& ctx, const std::string& name) {
  try {
    return kube::DynamicClient(ctx.transport)
        .get(ctx.locations, ctx.settings.namespace_name, name)
        .get<api::BackupStorageLocation>();
  } catch (const kube::KubeError& e) {
    if (kube::is_not_found(e)) return std::nullopt;
    throw;
  }
}

// Velero serves only Available locations; one the BSL controller has not looked at yet is checked here.
std::string location_problem(ServerContext& ctx, const api::BackupStorageLocation& l, const char* action) {
  if (l.spec.access_mode == api::AccessMode::ReadOnly)
    return std::string("cannot ") + action + " because backup storage location " + l.metadata.name +
           " is currently in read-only mode";
  std::string problem = l.status.phase == api::LocationPhase::Available ? ""
                        : l.status.phase == api::LocationPhase::Unavailable
                            ? l.status.message
                            : check_location(l, ctx.transport, ctx.secrets);
  if (l.status.phase == api::LocationPhase::Unavailable && problem.empty()) problem = "Unavailable";
  if (problem.empty()) return "";
  return std::string("cannot ") + action + " because backup storage location " + l.metadata.name +
         " is unavailable: " + problem;
}

std::optional<persistence::BackupFile> backup_file(api::DownloadTargetKind kind) {
  using K = api::DownloadTargetKind;
  using F = persistence::BackupFile;
  switch (kind) {
    case K::BackupLog: return F::Logs;
    case K::BackupContents: return F::Tarball;
    case K::BackupVolumeSnapshots: return F::VolumeSnapshots;
    case K::BackupItemOperations: return F::ItemOperations;
    case K::BackupResourceList: return F::ResourceList;
    case K::BackupResults: return F::Results;
    case K::BackupVolumeInfos: return F::VolumeInfo;
    case K::CSIBackupVolumeSnapshots: return F::CsiVolumeSnapshots;
    case K::CSIBackupVolumeSnapshotContents: return F::CsiVolumeSnapshotContents;
    default: return std::nullopt;
  }
}

std::optional<persistence::RestoreFile> restore_file(api::DownloadTargetKind kind) {
  using K = api::DownloadTargetKind;
  using F = persistence::RestoreFile;
  switch (kind) {
    case K::RestoreLog: return F::Logs;
    case K::RestoreResults: return F::Results;
    case K::RestoreResourceList: return F::ResourceList;
    case K::RestoreItemOperations: return F::ItemOperations;
    case K::RestoreVolumeInfo: return F::VolumeInfo;
    default: return std::nullopt;
  }
}

}  // namespace

ReconcileFn location_reconciler(ServerContext& ctx) {
  return [&ctx](const std::string& key, const kube::ObjectPtr& cached) -> ReconcileResult {
    if (!cached) return {};
    auto bsl = cached->get<api::BackupStorageLocation>();
    auto frequency = std::chrono::duration_cast<std::chrono::seconds>(
        bsl.spec.validation_frequency.value_or(ctx.settings.store_validation_frequency));
    auto now = ctx.clock.now();
    if (bsl.status.phase != api::LocationPhase::unset && bsl.status.last_validation_time) {
      if (frequency.count() <= 0) return {};
      auto due = *bsl.status.last_validation_time + frequency;
      if (now < due) return {until(due, now)};
    }
    std::string problem = check_location(bsl, ctx.transport, ctx.secrets);
    nlohmann::json status = {{"phase", problem.empty() ? "Available" : "Unavailable"},
                             {"lastValidationTime", format_rfc3339(now)},
                             {"message", problem.empty() ? nlohmann::json() : nlohmann::json(problem)}};
    if (bsl.status.phase != (problem.empty() ? api::LocationPhase::Available : api::LocationPhase::Unavailable))
      spdlog::info("backup-location={} phase={} {}", key, status["phase"].get<std::string>(), problem);
    patch_status(ctx, ctx.locations, bsl.metadata.namespace_, bsl.metadata.name, status);
    return {frequency.count() > 0 ? std::chrono::duration_cast<std::chrono::milliseconds>(frequency) : 0ms};
  };
}

namespace {

// Sets spec.cancel on the backup's DataUploads that have not ended; the node agents stop them and clean up.
void cancel_data_uploads(ServerContext& ctx, const std::string& ns, const std::string& backup_name) {
  kube::DynamicClient client(ctx.transport);
  try {
    auto dus = ctx.discovery.lookup("velero.io", "v2alpha1", "datauploads");
    kube::ListOptions options;
    options.label_selector = "velero.io/backup-name=" + valid_label_value(backup_name);
    std::vector<std::string> names;
    client.list(dus, ns, options, [&](const kube::ListItem& item) {
      auto du = item.parse().get<api::DataUpload>();
      using Phase = api::VolumeOperationPhase;
      if (du.spec.cancel || du.status.phase == Phase::Completed || du.status.phase == Phase::Failed ||
          du.status.phase == Phase::Canceled)
        return;
      names.push_back(du.metadata.name);
    });
    for (const auto& du : names) {
      client.patch(dus, ns, du, kube::PatchType::Merge, R"({"spec":{"cancel":true}})");
      spdlog::info("backup={} DataUpload {} canceled for the backup's deletion", backup_name, du);
    }
  } catch (const std::exception& e) {
    spdlog::warn("backup={} cannot cancel its DataUploads: {}", backup_name, e.what());
  }
}

}  // namespace

ReconcileFn delete_request_reconciler(ServerContext& ctx) {
  return [&ctx](const std::string& key, const kube::ObjectPtr& cached) -> ReconcileResult {
    if (!cached) return {};
    kube::DynamicClient client(ctx.transport);
    const std::string ns = cached->at("metadata").value("namespace", "");
    api::DeleteBackupRequest request;
    try {
      request = client.get(ctx.delete_requests, ns, cached->at("metadata").value("name", ""))
                    .get<api::DeleteBackupRequest>();
    } catch (const kube::KubeError& e) {
      if (kube::is_not_found(e)) return {};
      throw;
    }
    if (request.status.phase == api::DeleteBackupRequestPhase::Processed) return {};
    const std::string& name = request.metadata.name;
    auto processed = [&](const std::vector<std::string>& errors) {
      patch_status(ctx, ctx.delete_requests, ns, name, {{"phase", "Processed"}, {"errors", errors}});
      spdlog::info("deletebackuprequest={} processed{}{}", key, errors.empty() ? "" : ": ",
                   errors.empty() ? "" : errors.front());
      return ReconcileResult{};
    };
    const std::string& backup_name = request.spec.backup_name;
    if (backup_name.empty()) return processed({"spec.backupName is required"});
    api::Backup backup;
    try {
      backup = client.get(ctx.backups, ns, backup_name).get<api::Backup>();
    } catch (const kube::KubeError& e) {
      if (kube::is_not_found(e)) return processed({"backup not found"});
      throw;
    }
    using P = api::BackupPhase;
    // A backup waiting for its data movement: its DataUploads are canceled (spec.cancel, as Velero's pvc_action.go
    // Cancel does) and the request waits, saying so, for the run to end before deleting what it stored.
    const std::string canceling = "waiting for the backup's canceled data movement to end";
    const bool was_canceling = request.status.phase == api::DeleteBackupRequestPhase::InProgress &&
                               request.status.errors == std::vector{canceling};
    if (backup.status.phase == P::WaitingForPluginOperations ||
        backup.status.phase == P::WaitingForPluginOperationsPartiallyFailed ||
        (was_canceling && (backup.status.phase == P::Finalizing || backup.status.phase == P::FinalizingPartiallyFailed))) {
      cancel_data_uploads(ctx, ns, backup_name);
      if (!was_canceling) {
        patch_status(ctx, ctx.delete_requests, ns, name, {{"phase", "InProgress"}, {"errors", {canceling}}});
        spdlog::info("deletebackuprequest={} {}", key, canceling);
      }
      return {std::chrono::seconds(1)};
    }
    if (backup.status.phase == P::InProgress || backup.status.phase == P::Finalizing ||
        backup.status.phase == P::FinalizingPartiallyFailed)
      return processed({"backup is still in progress"});
    auto location = get_location(ctx, backup.spec.storage_location);
    if (!location) return processed({"backup storage location " + backup.spec.storage_location + " not found"});
    if (auto problem = location_problem(ctx, *location, "delete backup"); !problem.empty()) return processed({problem});

    // An object-locked backup cannot go before its lock ends: the request waits, saying why, and comes back then
    // (an attempt would only fail, and count as an early delete).
    try {
      auto open = open_location(*location, ctx.transport, ctx.secrets);
      auto until = object_lock_expiry(open->store(), open->layout(), *location, backup_name);
      if (until && ctx.clock.now() < *until) {
        std::string why = "deferred: the backup's objects are locked until " + format_rfc3339(*until);
        if (request.status.phase != api::DeleteBackupRequestPhase::InProgress || request.status.errors != std::vector{why}) {
          patch_status(ctx, ctx.delete_requests, ns, name, {{"phase", "InProgress"}, {"errors", {why}}});
          spdlog::info("deletebackuprequest={} {}", key, why);
        }
        return {std::chrono::duration_cast<std::chrono::milliseconds>(*until - ctx.clock.now()) +
                std::chrono::seconds(1)};
      }
    } catch (const std::exception& e) {
      return processed({std::string("error checking the object lock of the backup: ") + e.what()});
    }
    update_object<api::Backup>(ctx.transport, ctx.backups, ns, backup_name, [](api::Backup& b) {
      b.status.phase = P::Deleting;
      return true;
    });
    // A lock the location's config does not name (an S3 bucket's default retention, a longer lock set by hand)
    // shows only when the store refuses: velero-backup.json goes first, before any snapshot or file, so that a
    // refusal leaves the backup whole. The request then waits, saying why once, and tries again later.
    try {
      auto open = open_location(*location, ctx.transport, ctx.secrets);
      open->store().remove(persistence::backup_key(open->layout(), backup_name, persistence::BackupFile::Metadata));
    } catch (const store::StoreError& e) {
      if (store::is_object_lock_refusal(e)) {
        std::string why = std::string("deferred: the object store refuses to delete the backup while it is locked (") +
                          e.what() + ")";
        if (request.status.phase != api::DeleteBackupRequestPhase::InProgress || request.status.errors != std::vector{why}) {
          patch_status(ctx, ctx.delete_requests, ns, name, {{"phase", "InProgress"}, {"errors", {why}}});
          spdlog::info("deletebackuprequest={} {}", key, why);
        }
        const auto was = backup.status.phase;  // the backup stays as it was: whole, restorable
        update_object<api::Backup>(ctx.transport, ctx.backups, ns, backup_name, [was](api::Backup& b) {
          b.status.phase = was;
          return true;
        });
        return {kLockedRetry};
      }
      // Anything else: the deletion below meets it again and reports it.
    } catch (const std::exception&) {
    }
    patch_status(ctx, ctx.delete_requests, ns, name, {{"phase", "InProgress"}, {"errors", nlohmann::json::array()}});
    // Velero's deletePodVolumeSnapshots: the next maintenance of each repository frees the data.
    std::vector<std::string> errors =
        forget_pod_volume_snapshots(ctx.transport, ctx.discovery, ctx.secrets, ns, backup);
    try {
      auto open = open_location(*location, ctx.transport, ctx.secrets);
      for (auto& problem : delete_csi_snapshots(ctx, *open, backup_name)) errors.push_back(std::move(problem));
      persistence::delete_backup(open->store(), open->layout(), backup_name);
    } catch (const std::exception& e) {
      errors.push_back(std::string("error deleting backup from backup storage: ") + e.what());
    }
    if (!errors.empty()) return processed(errors);
    // The backup's restores go with it, their files first (Velero's pkg/controller/backup_deletion_controller.go).
    try {
      auto restores = ctx.discovery.lookup("velero.io", "v1", "restores");
      std::vector<api::Restore> of_backup;
      client.list(restores, ns, {}, [&](const kube::ListItem& item) {
        auto restore = item.parse().get<api::Restore>();
        if (restore.spec.backup_name == backup_name) of_backup.push_back(std::move(restore));
      });
      auto open = of_backup.empty() ? nullptr : open_location(*location, ctx.transport, ctx.secrets);
      for (const auto& restore : of_backup) {
        try {
          persistence::delete_restore(open->store(), open->layout(), restore.metadata.name);
          client.remove(restores, ns, restore.metadata.name);
          spdlog::info("deletebackuprequest={} deleted restore {} of the backup", key, restore.metadata.name);
        } catch (const std::exception& e) {
          errors.push_back("error deleting restore " + restore.metadata.name + ": " + e.what());
        }
      }
    } catch (const std::exception& e) {
      errors.push_back(std::string("error listing the backup's restores: ") + e.what());
    }
    try {
      client.remove(ctx.backups, ns, backup_name);
    } catch (const kube::KubeError& e) {
      if (!kube::is_not_found(e)) return processed({std::string("error deleting backup: ") + e.what()});
    }
    processed(errors);
    // Done: the requests for this backup have served their purpose.
    kube::ListOptions selector;
    selector.label_selector = "velero.io/backup-name=" + valid_label_value(backup_name);
    try {
      client.remove_collection(ctx.delete_requests, ns, selector);
      client.remove(ctx.delete_requests, ns, name);
    } catch (const kube::KubeError& e) {
      if (!kube::is_not_found(e)) spdlog::warn("deletebackuprequest={} cleanup: {}", key, e.what());
    }
    return {};
  };
}

ReconcileFn download_request_reconciler(ServerContext& ctx) {
  return [&ctx](const std::string& key, const kube::ObjectPtr& cached) -> ReconcileResult {
    if (!cached) return {};
    auto request = cached->get<api::DownloadRequest>();
    const std::string& ns = request.metadata.namespace_;
    auto now = ctx.clock.now();
    if (request.status.phase == api::DownloadRequestPhase::Processed) {
      if (request.status.expiration && *request.status.expiration > now)
        return {until(*request.status.expiration, now)};
      try {
        kube::DynamicClient(ctx.transport).remove(ctx.download_requests, ns, request.metadata.name);
      } catch (const kube::KubeError& e) {
        if (!kube::is_not_found(e)) throw;
      }
      return {};
    }
    auto file = backup_file(request.spec.target.kind);
    auto restore_target = restore_file(request.spec.target.kind);
    if (!file && !restore_target) {
      spdlog::error("downloadrequest={}: target kind {} is not served", key, api::to_string(request.spec.target.kind));
      return {};
    }
    // Restore files live under restores/R/ of the location that holds the restore's backup (Velero resolves the
    // backup through spec.backupName).
    std::string backup_name = request.spec.target.name;
    if (restore_target) {
      try {
        auto restores = ctx.discovery.lookup("velero.io", "v1", "restores");
        backup_name = kube::DynamicClient(ctx.transport)
                          .get(restores, ns, request.spec.target.name)
                          .get<api::Restore>()
                          .spec.backup_name;
      } catch (const kube::KubeError& e) {
        if (!kube::is_not_found(e)) throw;
        spdlog::error("downloadrequest={}: restore {} not found", key, request.spec.target.name);
        return {};
      }
    }
    api::Backup backup;
    try {
      backup = kube::DynamicClient(ctx.transport).get(ctx.backups, ns, backup_name).get<api::Backup>();
    } catch (const kube::KubeError& e) {
      if (!kube::is_not_found(e)) throw;
      spdlog::error("downloadrequest={}: backup {} not found", key, backup_name);
      return {};
    }
    auto location = get_location(ctx, backup.spec.storage_location);
    if (!location) {
      spdlog::error("downloadrequest={}: backup storage location {} not found", key, backup.spec.storage_location);
      return {};
    }
    auto open = open_location(*location, ctx.transport, ctx.secrets);
    std::string object = file ? persistence::backup_key(open->layout(), backup.metadata.name, *file)
                              : persistence::restore_key(open->layout(), request.spec.target.name, *restore_target);
    std::string url;
    try {
      url = open->store().signed_get_url(object, std::chrono::minutes(10));
    } catch (const store::StoreError& e) {
      if (e.kind() != store::ErrorKind::Unsupported || location->spec.provider != "local") throw;
      // The local driver has no URLs: its objects are files, readable where the server and CLI share a disk.
      auto root = location->spec.config.count("root") ? location->spec.config.at("root") : "";
      url = "file://" + std::filesystem::absolute(std::filesystem::path(root) / location->spec.object_storage.bucket /
                                                  object)
                            .string();
    }
    auto expiration = now + std::chrono::minutes(10);
    patch_status(ctx, ctx.download_requests, ns, request.metadata.name,
                 {{"phase", "Processed"}, {"downloadURL", url}, {"expiration", format_rfc3339(expiration)}});
    return {until(expiration, now)};
  };
}

}  // namespace arca::controller
