#include "controller/backup_controller.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>

#include "api/validation.h"
#include "backup/engine.h"
#include "backup/filters.h"
#include "controller/locations.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "persistence/backup_store.h"
#include "util/glob.h"
#include "util/names.h"

namespace arca::controller {
namespace {

using api::BackupPhase;

constexpr const char* kInterruptedReason =
    "found a backup with status \"InProgress\" during the server starting, mark it as \"Failed\"";

bool is_in_flight(BackupPhase p) {
  return p == BackupPhase::InProgress || p == BackupPhase::Finalizing || p == BackupPhase::FinalizingPartiallyFailed;
}

std::vector<api::BackupStorageLocation> list_locations(ServerContext& ctx) {
  std::vector<api::BackupStorageLocation> out;
  kube::DynamicClient(ctx.transport)
      .list(ctx.locations, ctx.settings.namespace_name, {}, [&](const kube::ListItem& item) {
        out.push_back(item.parse().get<api::BackupStorageLocation>());
      });
  return out;
}

class BackupRun {
 public:
  BackupRun(ServerContext& ctx, api::Backup backup)
      : ctx_(ctx), backup_(std::move(backup)), log_(backup_.metadata.namespace_ + "/" + backup_.metadata.name) {}

  void run(const api::BackupStorageLocation& location) {
    const std::string& name = backup_.metadata.name;
    std::unique_ptr<OpenLocation> open;
    try {
      open = open_location(location, ctx_.transport, ctx_.secrets);
      if (persistence::backup_exists(open->store(), open->layout(), name))
        return fail("backup already exists in object storage");
    } catch (const std::exception& e) {
      return fail(std::string("error checking if backup already exists in object storage: ") + e.what());
    }

    std::unique_ptr<std::FILE, int (*)(std::FILE*)> tar(std::tmpfile(), &std::fclose);
    if (!tar) return fail("error creating temp file for backup");
    backup::RunResult result;
    try {
      log_.info("Setting up backup log");
      backup::RunOptions options;
      options.page_size = ctx_.settings.client_page_size;
      options.on_progress = [this](int total, int done) { report_progress(total, done); };
      result = backup::run_backup(
          backup_, ctx_.transport, ctx_.discovery,
          [&](const char* data, size_t size) {
            if (std::fwrite(data, 1, size, tar.get()) != size) throw std::runtime_error("error writing backup tarball");
          },
          log_, options);
    } catch (const std::exception& e) {
      log_.error("backup failed", {}, e.what());
      return fail(e.what());
    }

    bool partial = log_.errors() > 0;
    backup_ = update([&](api::Backup& b) {
      b.status.phase = partial ? BackupPhase::FinalizingPartiallyFailed : BackupPhase::Finalizing;
      b.status.progress.emplace();
      b.status.progress->total_items = b.status.progress->items_backed_up = result.items_backed_up;
      b.status.hook_status.emplace();
      b.status.hook_status->hooks_attempted = result.hooks_attempted;
      b.status.warnings = log_.warnings();
      b.status.errors = log_.errors();
      return true;
    });

    // The stored metadata already carries the final phase: it is uploaded last, so a location never
    // lists a backup whose files are incomplete.
    api::Backup final_backup = backup_;
    final_backup.status.phase = partial ? BackupPhase::PartiallyFailed : BackupPhase::Completed;
    final_backup.status.completion_timestamp = ctx_.clock.now();
    persistence::BackupUpload upload;
    upload.name = name;
    upload.metadata_json = nlohmann::json(final_backup).dump(2);
    std::rewind(tar.get());
    upload.tarball = [&](char* buffer, size_t capacity) { return std::fread(buffer, 1, capacity, tar.get()); };
    upload.log_text = log_.text();
    upload.resource_list_json = result.resource_list;
    upload.results_json = log_.results().dump();
    try {
      persistence::put_backup(open->store(), open->layout(), upload);
    } catch (const std::exception& e) {
      return fail(std::string("error uploading backup: ") + e.what());
    }
    update([&](api::Backup& b) {
      b.status.phase = final_backup.status.phase;
      b.status.completion_timestamp = final_backup.status.completion_timestamp;
      return true;
    });
    spdlog::info("backup={} phase={} items={} warnings={} errors={}", backup_.metadata.name,
                 api::to_string(final_backup.status.phase), result.items_backed_up, log_.warnings(), log_.errors());
  }

  // Fatal errors: Failed with the reason on the object; nothing is uploaded.
  void fail(const std::string& reason) {
    spdlog::error("backup={} failed: {}", backup_.metadata.name, reason);
    update([&](api::Backup& b) {
      b.status.phase = BackupPhase::Failed;
      b.status.failure_reason = reason;
      b.status.completion_timestamp = ctx_.clock.now();
      b.status.warnings = log_.warnings();
      b.status.errors = log_.errors();
      return true;
    });
  }

 private:
  api::Backup update(const std::function<bool(api::Backup&)>& mutate) {
    return update_object<api::Backup>(ctx_.transport, ctx_.backups, backup_.metadata.namespace_,
                                      backup_.metadata.name, mutate);
  }

  // At most one progress patch per second (§4.9); best effort.
  void report_progress(int total, int done) {
    auto now = std::chrono::steady_clock::now();
    if (now - last_progress_ < std::chrono::seconds(1)) return;
    last_progress_ = now;
    nlohmann::json patch = {{"status", {{"progress", {{"totalItems", total}, {"itemsBackedUp", done}}}}}};
    try {
      kube::DynamicClient(ctx_.transport)
          .patch(ctx_.backups, backup_.metadata.namespace_, backup_.metadata.name, kube::PatchType::Merge,
                 patch.dump());
    } catch (const std::exception& e) {
      spdlog::warn("backup={} progress update failed: {}", backup_.metadata.name, e.what());
    }
  }

  ServerContext& ctx_;
  api::Backup backup_;
  backup::BackupLog log_;
  std::chrono::steady_clock::time_point last_progress_{};
};

}  // namespace

std::string resolve_location_name(const std::string& requested, const std::vector<api::BackupStorageLocation>& all,
                                  const std::string& server_default) {
  if (!requested.empty()) return requested;
  for (const auto& l : all)
    if (l.spec.is_default) return l.metadata.name;
  return server_default;
}

std::vector<std::string> prepare_backup(api::Backup& b, const PreparationInputs& in) {
  auto& spec = b.spec;
  auto& status = b.status;
  status.version = 1;
  status.format_version = "1.1.0";
  if (!spec.ttl || spec.ttl->count() == 0) spec.ttl = in.default_ttl;
  if (spec.volume_group_snapshot_label_key.empty()) spec.volume_group_snapshot_label_key = "velero.io/volume-group";
  if (!spec.csi_snapshot_timeout || spec.csi_snapshot_timeout->count() == 0)
    spec.csi_snapshot_timeout = std::chrono::minutes(10);
  if (!spec.item_operation_timeout || spec.item_operation_timeout->count() == 0)
    spec.item_operation_timeout = std::chrono::hours(4);
  status.expiration = in.now + std::chrono::duration_cast<std::chrono::seconds>(*spec.ttl);
  if (spec.default_volumes_to_restic == true) spec.default_volumes_to_fs_backup = true;
  if (!spec.default_volumes_to_fs_backup) spec.default_volumes_to_fs_backup = false;
  if (!spec.snapshot_move_data) spec.snapshot_move_data = false;

  std::vector<std::string> errors = api::validate_backup_spec(spec);
  spec.storage_location = in.location_name;
  if (!in.location) {
    errors.push_back("an existing backup storage location wasn't specified at backup creation time and the default '" +
                     in.location_name + "' wasn't found. Please address this issue (see `velero backup-location -h` "
                     "for options) and create a new backup. Error: backupstoragelocations.velero.io \"" +
                     in.location_name + "\" not found");
  } else if (in.location->spec.access_mode == api::AccessMode::ReadOnly) {
    errors.push_back("backup can't be created because backup storage location " + in.location_name +
                     " is currently in read-only mode");
  } else if (in.location->status.phase != api::LocationPhase::Available) {
    errors.push_back("backup can't be created because BackupStorageLocation " + in.location_name +
                     " is in Unavailable status." +
                     (in.location->status.message.empty() ? "" : " " + in.location->status.message));
  }
  b.metadata.labels["velero.io/storage-location"] = valid_label_value(in.location_name);
  b.metadata.annotations["velero.io/resource-timeout"] = "10m0s";
  for (const auto& ns : in.namespaces_excluded_by_label)
    if (std::find(spec.excluded_namespaces.begin(), spec.excluded_namespaces.end(), ns) == spec.excluded_namespaces.end())
      spec.excluded_namespaces.push_back(ns);
  // A type name nothing serves would silently select nothing; say so instead.
  if (in.resource_known)
    for (const auto* list : {&spec.included_resources, &spec.included_cluster_scoped_resources,
                             &spec.included_namespace_scoped_resources})
      for (const auto& name : *list)
        if (name != "*" && !has_glob_chars(name) && !in.resource_known(name))
          errors.push_back("the server doesn't have a resource type \"" + name + "\" (included resource)");
  if (errors.empty()) backup::apply_default_filters(spec);
  return errors;
}

ReconcileFn backup_reconciler(ServerContext& ctx) {
  return [&ctx](const std::string& key, const kube::ObjectPtr& cached) -> ReconcileResult {
    if (!cached) return {};
    auto cached_phase = cached->value("/status/phase"_json_pointer, std::string());
    if (!cached_phase.empty() && cached_phase != "New") return {};
    // The informer may lag behind our own writes: decide on the server's copy.
    const std::string ns = cached->at("metadata").value("namespace", ""), name = cached->at("metadata").value("name", "");
    kube::DynamicClient client(ctx.transport);
    api::Backup backup;
    try {
      backup = client.get(ctx.backups, ns, name).get<api::Backup>();
    } catch (const kube::KubeError& e) {
      if (kube::is_not_found(e)) return {};
      throw;
    } catch (const api::DecodeError& e) {
      // An object the API accepted but arca cannot read: fail it with the reason rather than retrying forever.
      update_with_retry(ctx.transport, ctx.backups, ns, name, [&](nlohmann::json& j) {
        j["status"]["phase"] = "FailedValidation";
        j["status"]["validationErrors"] = {e.what()};
        return true;
      });
      return {};
    }
    if (backup.status.phase != BackupPhase::unset && backup.status.phase != BackupPhase::New) return {};

    auto locations = list_locations(ctx);
    PreparationInputs in;
    in.now = ctx.clock.now();
    in.default_ttl = ctx.settings.default_backup_ttl;
    in.location_name =
        resolve_location_name(backup.spec.storage_location, locations, ctx.settings.default_backup_storage_location);
    api::BackupStorageLocation checked;
    for (const auto& l : locations)
      if (l.metadata.name == in.location_name) {
        checked = l;
        in.location = &checked;
      }
    // Not validated yet (the BSL controller has not seen it): check now rather than fail the backup.
    if (in.location && checked.status.phase == api::LocationPhase::unset) {
      checked.status.message = check_location(checked, ctx.transport, ctx.secrets);
      checked.status.phase =
          checked.status.message.empty() ? api::LocationPhase::Available : api::LocationPhase::Unavailable;
    }
    kube::ListOptions excluded;
    excluded.label_selector = std::string(backup::kExcludeFromBackupLabel) + "=true";
    excluded.page_size = 0;
    client.list(ctx.namespaces, "", excluded,
                [&](const kube::ListItem& item) { in.namespaces_excluded_by_label.emplace_back(item.name); });
    // Re-read discovery for every backup, as Velero does: CRDs created since the last one must be collected.
    ctx.discovery.refresh();
    auto data = ctx.discovery.data();
    in.resource_known = [&](const std::string& n) { return kube::resolve_resource(*data, n) != nullptr; };

    auto errors = prepare_backup(backup, in);
    if (!errors.empty()) {
      backup.status.phase = BackupPhase::FailedValidation;
      backup.status.validation_errors = errors;
      client.update(ctx.backups, ns, nlohmann::json(backup));
      spdlog::info("backup={} FailedValidation: {}", key, errors.front());
      return {};
    }
    backup.status.phase = BackupPhase::InProgress;
    backup.status.start_timestamp = ctx.clock.now();
    // The resourceVersion makes this the one transition that wins if two servers race.
    backup = client.update(ctx.backups, ns, nlohmann::json(backup)).get<api::Backup>();
    BackupRun(ctx, backup).run(checked);
    return {};
  };
}

void fail_interrupted_backups(ServerContext& ctx) {
  kube::DynamicClient client(ctx.transport);
  std::vector<api::Backup> interrupted;
  client.list(ctx.backups, ctx.settings.namespace_name, {}, [&](const kube::ListItem& item) {
    try {
      auto b = item.parse().get<api::Backup>();
      if (is_in_flight(b.status.phase)) interrupted.push_back(std::move(b));
    } catch (const api::DecodeError&) {
    }
  });
  if (interrupted.empty()) return;
  auto locations = list_locations(ctx);
  for (auto& b : interrupted) {
    // A run killed after velero-backup.json (uploaded last) was stored did finish: keep its outcome.
    std::optional<api::Backup> stored;
    for (const auto& l : locations) {
      if (l.metadata.name != b.spec.storage_location) continue;
      try {
        auto open = open_location(l, ctx.transport, ctx.secrets);
        if (persistence::backup_exists(open->store(), open->layout(), b.metadata.name))
          stored = nlohmann::json::parse(persistence::read_backup_metadata(open->store(), open->layout(), b.metadata.name))
                       .get<api::Backup>();
        else  // Without velero-backup.json the files are a killed run's leftovers: no reader would use them.
          persistence::delete_backup(open->store(), open->layout(), b.metadata.name);
      } catch (const std::exception& e) {
        spdlog::warn("backup={} could not check storage after the interrupted run: {}", b.metadata.name, e.what());
      }
    }
    bool finished = b.status.phase != BackupPhase::InProgress && stored && b.metadata.uid == stored->metadata.uid;
    update_object<api::Backup>(ctx.transport, ctx.backups, b.metadata.namespace_, b.metadata.name, [&](api::Backup& o) {
      if (!is_in_flight(o.status.phase)) return false;
      if (finished) {
        o.status.phase = stored->status.phase;
        o.status.completion_timestamp = stored->status.completion_timestamp;
        return true;
      }
      o.status.phase = BackupPhase::Failed;
      o.status.failure_reason = kInterruptedReason;
      o.status.completion_timestamp = ctx.clock.now();
      return true;
    });
    spdlog::warn("backup={} was in progress when the server stopped: marked Failed", b.metadata.name);
  }
}

}  // namespace arca::controller
