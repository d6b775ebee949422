#include "controller/restore_controller.h"

#include <spdlog/spdlog.h>

#include <strings.h>

#include <algorithm>
#include <cstdio>
#include <mutex>

#include "api/validation.h"
#include "controller/locations.h"
#include "controller/protection.h"
#include "controller/resource_policy.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "kube/transport.h"
#include "csi/data_download.h"
#include "podvolume/restorer.h"
#include "persistence/backup_store.h"
#include "persistence/protection.h"
#include "restore/engine.h"
#include "restore/hooks.h"
#include "restore/item_actions.h"
#include "restore/modifiers.h"

namespace arca::controller {
namespace {

using api::RestorePhase;
using nlohmann::json;

constexpr const char* kInterruptedReason =
    "found a restore with status \"InProgress\" during the server starting, mark it as \"Failed\"";

// What a restore found in `phase` at start-up becomes: "" when it is not one a run leaves behind. An
// InProgress restore may have created only part of its items: Failed, as in Velero. From Finalizing on, every
// item was restored and only the upload of the log and results was left, as Velero's restore finalizer ends
// such a restore: Completed, or PartiallyFailed when it had errors.
std::string interrupted_outcome(const std::string& phase) {
  if (phase == "InProgress") return "Failed";
  if (phase == "Finalizing" || phase == "WaitingForPluginOperations") return "Completed";
  if (phase == "FinalizingPartiallyFailed" || phase == "WaitingForPluginOperationsPartiallyFailed")
    return "PartiallyFailed";
  return "";
}

std::string restore_log_path(const std::string& uid) {
  return std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/arca-restore-" + uid + ".log";
}

bool backup_finished(api::BackupPhase phase) {
  return phase == api::BackupPhase::Completed || phase == api::BackupPhase::PartiallyFailed ||
         phase == api::BackupPhase::Failed;
}

struct Resources {
  kube::ApiResource restores, config_maps;
};

class RestoreRun {
 public:
  RestoreRun(ServerContext& ctx, const Resources& resources, api::Restore restore)
      : ctx_(ctx), resources_(resources), restore_(std::move(restore)) {}

  // Velero's restore_controller.go validateAndComplete steps 8-11: the checks that need the cluster. Fills spec.backupName for schedule restores.
  std::vector<std::string> validate_against_cluster(api::Backup& backup, api::BackupStorageLocation& location) {
    std::vector<std::string> errors;
    kube::DynamicClient client(ctx_.transport);
    const std::string& ns = ctx_.settings.namespace_name;
    auto& spec = restore_.spec;
    if (!spec.schedule_name.empty()) {
      std::vector<api::Backup> backups;
      kube::ListOptions selector;
      selector.label_selector = "velero.io/schedule-name=" + spec.schedule_name;
      client.list(ctx_.backups, ns, selector, [&](const kube::ListItem& item) {
        try {
          backups.push_back(item.parse().get<api::Backup>());
        } catch (const api::DecodeError& e) {
          spdlog::warn("backup={} cannot be read, so the schedule's restore does not consider it: {}", item.name,
                       e.what());
        }
      });
      if (backups.empty()) return {"No backups found for schedule"};
      const api::Backup* chosen = most_recent_completed(backups);
      if (chosen == nullptr) return {"No completed backups found for schedule"};
      spec.backup_name = chosen->metadata.name;
    }
    try {
      backup = client.get(ctx_.backups, ns, spec.backup_name).get<api::Backup>();
    } catch (const std::exception& e) {
      return {std::string("Error retrieving backup: ") + e.what()};
    }
    if (!backup_finished(backup.status.phase))
      return {"backup " + spec.backup_name + " is not finished (phase " +
              (backup.status.phase == api::BackupPhase::unset ? std::string("New") : std::string(api::to_string(backup.status.phase))) +
              "): only Completed, PartiallyFailed or Failed backups can be restored"};
    if (spec.schedule_name.empty() && backup.metadata.labels.count("velero.io/schedule-name") != 0)
      spec.schedule_name = backup.metadata.labels.at("velero.io/schedule-name");
    try {
      location = client.get(ctx_.locations, ns, backup.spec.storage_location).get<api::BackupStorageLocation>();
    } catch (const std::exception& e) {
      return {std::string("Error retrieving backup storage location: ") + e.what()};
    }
    if (location.status.phase != api::LocationPhase::Available)
      errors.push_back("The BSL " + location.metadata.name + " is unavailable, cannot retrieve the backup");
    std::string kind = spec.resource_modifier ? spec.resource_modifier->kind : "";
    std::transform(kind.begin(), kind.end(), kind.begin(), ::tolower);
    if (kind == "configmap") {
      try {
        json cm = client.get(resources_.config_maps, restore_.metadata.namespace_, spec.resource_modifier->name);
        modifiers_ = restore::parse_modifiers_configmap(cm);
      } catch (const kube::KubeError& e) {
        errors.push_back("Error fetching resource modifiers ConfigMap " + spec.resource_modifier->name + ": " +
                         e.what());
      } catch (const restore::InvalidModifiers& e) {
        errors.push_back(std::string("Error in resource modifiers: ") + e.what());
      }
    } else if (!ctx_.settings.default_resource_modifier_configmap.empty() &&
               !spec.skip_default_resource_modifier.value_or(false)) {
      load_default_modifiers(client);
    }
    if (spec.resource_policy) load_resource_policy(client, *spec.resource_policy, errors);
    return errors;
  }

  // Velero 1.19's fine-grained restore filters: only namespacedFilterPolicies and clusterScopedFilterPolicy are
  // read, so the ConfigMap a backup used (with volume policies) serves a restore too.
  void load_resource_policy(kube::DynamicClient& client, const api::TypedLocalObjectReference& ref,
                            std::vector<std::string>& errors) {
    if (::strcasecmp(ref.kind.c_str(), "configmap") != 0) {
      errors.push_back("resource policy kind " + ref.kind + " is not supported: only configmap");
      return;
    }
    try {
      json cm = client.get(resources_.config_maps, restore_.metadata.namespace_, ref.name);
      fine_grained_ = parse_restore_resource_policy(cm.value("data", std::map<std::string, std::string>()));
    } catch (const kube::KubeError& e) {
      errors.push_back("Error fetching resource policies ConfigMap " + ref.name + ": " + e.what());
    } catch (const std::exception& e) {
      errors.push_back("Error in resource policies ConfigMap " + ref.name + ": " + e.what());
    }
  }

  // Velero 1.19's server default (pkg/controller/restore_controller.go loadResourceModifierConfigMap with
  // isDefault): a per-restore modifier takes exclusive precedence; a missing or invalid default ConfigMap is a
  // warning, never a failed restore, since one bad ConfigMap must not break every restore of the cluster.
  void load_default_modifiers(kube::DynamicClient& client) {
    const std::string& name = ctx_.settings.default_resource_modifier_configmap;
    const std::string where = restore_.metadata.namespace_ + "/" + name;
    try {
      modifiers_ = restore::parse_modifiers_configmap(client.get(resources_.config_maps, restore_.metadata.namespace_, name));
      default_modifiers_note_ = "Retrieved default resource modifiers from configmap " + where;
    } catch (const kube::KubeError& e) {
      default_modifiers_warning_ = "Failed to retrieve default resource modifier configmap " + where + ", skipping: " + e.what();
    } catch (const restore::InvalidModifiers& e) {
      default_modifiers_warning_ = "Error in default resource modifier configmap " + where + ", skipping: " + e.what();
    }
    if (!default_modifiers_warning_.empty())
      spdlog::warn("restore={} {}", restore_.metadata.name, default_modifiers_warning_);
  }

  void run(const api::Backup& backup, const api::BackupStorageLocation& location) {
    const std::string& name = restore_.metadata.name;
    std::unique_ptr<OpenLocation> open;
    persistence::TempFile tar(nullptr, &std::fclose);
    const std::string& backup_name = restore_.spec.backup_name;
    std::vector<std::string> identities, backup_recipients;
    try {
      open = open_location(location, ctx_.transport, ctx_.secrets);
      // An encrypted backup needs a matching key before anything is downloaded or created.
      backup_recipients = persistence::backup_recipients(
          persistence::read_backup_metadata(open->store(), open->layout(), backup_name));
      const auto& recipients = backup_recipients;
      if (!recipients.empty()) {
        auto annotations = restore_.metadata.annotations;
        auto secret = annotations.find(persistence::kAnnotationDecryptionKeySecret);
        if (secret != annotations.end() && !secret->second.empty())
          identities = secret_identities(ctx_, restore_.metadata.namespace_, secret->second);
        std::string mismatch = persistence::identity_mismatch(backup_name, recipients, identities);
        if (!mismatch.empty()) return fail(mismatch);
      }
    } catch (const std::exception& e) {
      return fail(std::string("error reading backup ") + backup_name + ": " + e.what());
    }
    std::string tarball_digest;
    try {
      // The download itself is what the restore reads: the tarball is written to disk once.
      tar = persistence::fetch_backup_file(open->store(), open->layout(), backup_name,
                                           persistence::BackupFile::Tarball, identities, &tarball_digest);
    } catch (const std::exception& e) {
      return fail(std::string("error downloading backup tarball: ") + e.what());
    }
    // Verified before anything is created; the tarball's digest was taken while it downloaded.
    std::string verification;
    bool verification_warns = false;
    if (restore_.metadata.annotations.count(persistence::kAnnotationSkipVerify) &&
        restore_.metadata.annotations.at(persistence::kAnnotationSkipVerify) == "true") {
      verification = "verification of backup " + backup_name + " skipped (--skip-verify)";
      verification_warns = true;
      spdlog::warn("restore={} {}", restore_.metadata.name, verification);
    } else {
      try {
        persistence::VerifyOptions verify;
        auto key = location.spec.config.find(persistence::kConfigSigningPublicKey);
        if (key != location.spec.config.end()) verify.public_key = key->second;
        verify.known_digests[persistence::backup_key({}, backup_name, persistence::BackupFile::Tarball)
                                 .substr(persistence::backup_dir({}, backup_name).size())] = tarball_digest;
        auto report = persistence::verify_backup(open->store(), open->layout(), backup_name, verify);
        if (report.outcome == persistence::VerifyReport::Outcome::Failed)
          return fail(report.message + "; restore refused (--skip-verify overrides)");
        verification = report.message;
        verification_warns = report.outcome != persistence::VerifyReport::Outcome::Verified;
      } catch (const std::exception& e) {
        return fail(std::string("error verifying backup ") + backup_name + ": " + e.what());
      }
    }
    std::rewind(tar.get());

    std::string log_path = restore_log_path(restore_.metadata.uid);
    restore::RestoreLog log(log_path, restore_.metadata.namespace_ + "/" + name);
    restore::RestoreOutcome outcome;
    restore::EngineOptions options;
    options.plugin_namespace = ctx_.settings.namespace_name;
    options.priorities = ctx_.settings.restore_priorities;
    options.resource_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.settings.resource_timeout);
    options.terminating_timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.settings.terminating_resource_timeout);
    options.modifiers = modifiers_ ? &*modifiers_ : nullptr;
    options.fine_grained = fine_grained_;
    // Velero's pkg/restore/restore.go execute step 4: a plain string comparison, as Velero's.
    options.choose_group_versions =
        feature_enabled(ctx_.settings, kFeatureApiGroupVersions) && backup.status.format_version >= "1.1.0";
    options.on_progress = [this](int total, int done) { report_progress(total, done); };
    options.on_tier_progress = [this](const std::string& resource, int done, int total) {
      std::lock_guard lock(tiers_mutex_);
      if (tiers_.empty() || tiers_.back()[0] != resource) tiers_.push_back({resource, 0, 0});
      tiers_.back()[1] = done;
      tiers_.back()[2] = total;
    };
    // File-system restore of pod volumes from the backup's PodVolumeBackups (Velero's restore controller reads
    // them from the backup store).
    std::vector<json> pod_volume_backups;
    try {
      auto text = persistence::read_backup_gzip_file(open->store(), open->layout(), backup_name,
                                                     persistence::BackupFile::PodVolumeBackups, identities);
      if (text) {
        json list = json::parse(*text);
        if (list.is_array()) pod_volume_backups = list.get<std::vector<json>>();
      }
    } catch (const std::exception& e) {
      return fail(std::string("error getting pod volume backups of backup ") + backup_name + ": " + e.what());
    }
    podvolume::RestorerOptions fsr;
    fsr.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.settings.fs_backup_timeout);
    fsr.repository_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.settings.resource_timeout);
    fsr.default_image = ctx_.settings.restore_helper_image;
    podvolume::Restorer pod_volumes(ctx_.transport, ctx_.discovery, restore_, std::move(pod_volume_backups),
                                    backup.spec.storage_location, fsr);
    options.prepare_pod = [&](json& pod, const std::string& original_ns) { pod_volumes.prepare_pod(pod, original_ns); };
    options.pod_created = [&](const std::string& pod, const std::string& original_ns) {
      pod_volumes.pod_created(pod, original_ns);
    };
    options.pv_has_pod_volume_backup = [&](const json& pv) { return pod_volumes.pv_has_pod_volume_backup(pv); };
    csi::DataDownloads downloads(ctx_.transport, ctx_.discovery, restore_, ctx_.settings.namespace_name);
    options.backup_moved_data = backup.spec.snapshot_move_data.value_or(false);
    options.on_data_upload = [&](const json& du) { downloads.on_data_upload(du); };
    options.restore_moved_pvc = [&](json& pvc, const json& from_backup, const std::string& target_ns) {
      return downloads.restore_pvc(pvc, from_backup, target_ns);
    };
    podvolume::RestorerOutcome volumes_outcome;
    try {
      if (verification_warns) log.warning(verification);
      else log.info(verification);
      if (!default_modifiers_note_.empty()) log.info(default_modifiers_note_);
      if (!default_modifiers_warning_.empty()) log.warning(default_modifiers_warning_);
      log.info("starting restore of backup " + restore_.spec.backup_name);
      restore::run_restore(restore_, [&](char* buffer, size_t capacity) { return std::fread(buffer, 1, capacity, tar.get()); },
                           ctx_.transport, ctx_.discovery, log, options, outcome);
      // Velero's restore.go: wait for every pod's volume restores; their errors are Velero-level errors.
      log.info("Waiting for all pod volume restores to complete");
      volumes_outcome = pod_volumes.wait_all();
      for (const auto& line : volumes_outcome.log) log.info(line);
      for (const auto& w : volumes_outcome.warnings) {
        log.warning(w);
        outcome.warnings.velero.push_back(w);
      }
      for (const auto& e : volumes_outcome.errors) {
        log.error(e);
        outcome.errors.velero.push_back(e);
      }
      log.info("Done waiting for all pod volume restores to complete");
      // The restore operations controller's part: the DataDownloads the PVC action started.
      if (downloads.any()) {
        try {
          restore_ = update([&](api::Restore& r) {
            r.status.phase = outcome.errors.count() > 0 ? RestorePhase::WaitingForPluginOperationsPartiallyFailed
                                                        : RestorePhase::WaitingForPluginOperations;
            return true;
          });
        } catch (const std::exception& e) {
          spdlog::warn("restore={} phase update failed: {}", name, e.what());
        }
        log.info("Waiting for the restore's DataDownloads to complete");
        auto timeout = restore_.spec.item_operation_timeout && restore_.spec.item_operation_timeout->count() > 0
                           ? std::chrono::duration_cast<std::chrono::milliseconds>(*restore_.spec.item_operation_timeout)
                           : std::chrono::milliseconds(std::chrono::hours(4));
        for (const auto& e : downloads.wait_all(timeout)) {
          log.error(e);
          outcome.errors.velero.push_back(e);
        }
      }
    } catch (const std::exception& e) {
      pod_volumes.wait_all();
      std::remove(log_path.c_str());
      return fail(e.what());
    }
    bool partial = outcome.errors.count() > 0;
    restore_ = update([&](api::Restore& r) {
      r.status.phase = partial ? RestorePhase::FinalizingPartiallyFailed : RestorePhase::Finalizing;
      r.status.progress.emplace();
      r.status.progress->total_items = outcome.total_items;
      r.status.progress->items_restored = outcome.items_restored;
      r.status.warnings = static_cast<int>(outcome.warnings.count());
      r.status.errors = static_cast<int>(outcome.errors.count());
      r.metadata.annotations[kRestoreTiersAnnotation] = tiers_json();
      return true;
    });
    // Upload failures of the results and lists are only logged, as in Velero. A restore of an encrypted backup
    // stores its files encrypted to the backup's recipients: whoever may read the backup may read them.
    auto put = [&](persistence::RestoreFile file, const std::string& content) {
      try {
        persistence::put_restore_file(open->store(), open->layout(), name, file, content, backup_recipients);
      } catch (const std::exception& e) {
        spdlog::error("restore={} upload of its files failed: {}", name, e.what());
      }
    };
    put(persistence::RestoreFile::Logs, log.text());
    put(persistence::RestoreFile::Results, restore::results_json(outcome.errors, outcome.warnings));
    put(persistence::RestoreFile::ResourceList, outcome.resources.json());
    // Velero's restore controller uploads both always (pkg/controller/restore_controller.go); arca has no
    // asynchronous restore item operations, so that list is empty.
    put(persistence::RestoreFile::ItemOperations, downloads.item_operations_json());
    put(persistence::RestoreFile::VolumeInfo, volumes_outcome.volume_infos.dump());
    std::remove(log_path.c_str());
    update([&](api::Restore& r) {
      r.status.phase = partial ? RestorePhase::PartiallyFailed : RestorePhase::Completed;
      r.status.completion_timestamp = ctx_.clock.now();
      r.status.hook_status.emplace();
      r.status.hook_status->hooks_attempted = outcome.hook_status.hooks_attempted;
      r.status.hook_status->hooks_failed = outcome.hook_status.hooks_failed;
      return true;
    });
    spdlog::info("restore={} phase={} items={} warnings={} errors={}", name, partial ? "PartiallyFailed" : "Completed",
                 outcome.items_restored, outcome.warnings.count(), outcome.errors.count());
  }

  api::Restore& restore() { return restore_; }

  void fail(const std::string& reason) {
    spdlog::error("restore={} failed: {}", restore_.metadata.name, reason);
    update([&](api::Restore& r) {
      r.status.phase = RestorePhase::Failed;
      r.status.failure_reason = reason;
      r.status.completion_timestamp = ctx_.clock.now();
      return true;
    });
  }

 private:
  api::Restore update(const std::function<bool(api::Restore&)>& mutate) {
    return update_object<api::Restore>(ctx_.transport, resources_.restores, restore_.metadata.namespace_,
                                       restore_.metadata.name, mutate);
  }

  // At most one progress patch per second (Velero's pkg/restore/restore.go execute step 5); best effort.
  void report_progress(int total, int done) {
    std::lock_guard lock(progress_mutex_);
    auto now = std::chrono::steady_clock::now();
    if (now - last_progress_ < std::chrono::seconds(1)) return;
    last_progress_ = now;
    json patch = {{"status", {{"progress", {{"totalItems", total}, {"itemsRestored", done}}}}},
                  {"metadata", {{"annotations", {{kRestoreTiersAnnotation, tiers_json()}}}}}};
    try {
      kube::DynamicClient(ctx_.transport)
          .patch(resources_.restores, restore_.metadata.namespace_, restore_.metadata.name, kube::PatchType::Merge,
                 patch.dump());
    } catch (const kube::KubeError& e) {
      spdlog::warn("restore={} progress update failed: {}", restore_.metadata.name, e.what());
    }
  }

  ServerContext& ctx_;
  const Resources& resources_;
  api::Restore restore_;
  std::optional<restore::ResourceModifiers> modifiers_;
  FineGrainedFilters fine_grained_;
  std::string default_modifiers_note_, default_modifiers_warning_;  // for the restore's log
  std::string tiers_json() {
    std::lock_guard lock(tiers_mutex_);
    return json(tiers_).dump();
  }

  std::mutex progress_mutex_;
  std::chrono::steady_clock::time_point last_progress_{};
  std::mutex tiers_mutex_;
  std::vector<json> tiers_;  // [resource, done, total] per tier started, in priority order
};

// Velero's pkg/controller/restore_finalizer_controller.go: a deleted Restore loses its files in object storage, then its finalizer.
void finalize_deleted(ServerContext& ctx, const Resources& resources, const api::Restore& restore) {
  kube::DynamicClient client(ctx.transport);
  const std::string& ns = ctx.settings.namespace_name;
  if (!restore.spec.backup_name.empty()) {
    try {
      auto backup = client.get(ctx.backups, ns, restore.spec.backup_name).get<api::Backup>();
      auto location = client.get(ctx.locations, ns, backup.spec.storage_location).get<api::BackupStorageLocation>();
      if (location.status.phase != api::LocationPhase::Available)
        throw std::runtime_error("backup storage location " + location.metadata.name + " is not available");
      auto open = open_location(location, ctx.transport, ctx.secrets);
      persistence::delete_restore(open->store(), open->layout(), restore.metadata.name);
    } catch (const kube::KubeError& e) {
      if (!kube::is_not_found(e)) throw;  // backup or location gone: nothing left to clean up
    }
  }
  update_with_retry(ctx.transport, resources.restores, restore.metadata.namespace_, restore.metadata.name,
                    [](json& j) {
                      json kept = json::array();
                      for (const auto& f : j["metadata"].value("finalizers", json::array()))
                        if (f != kRestoreFinalizer) kept.push_back(f);
                      if (kept.size() == j["metadata"].value("finalizers", json::array()).size()) return false;
                      j["metadata"]["finalizers"] = kept;
                      return true;
                    });
}

ReconcileFn restore_reconciler(ServerContext& ctx, std::shared_ptr<Resources> resources) {
  return [&ctx, resources](const std::string& key, const kube::ObjectPtr& cached) -> ReconcileResult {
    if (!cached) return {};
    const std::string ns = cached->at("metadata").value("namespace", ""), name = cached->at("metadata").value("name", "");
    kube::DynamicClient client(ctx.transport);
    api::Restore restore;
    try {
      restore = client.get(resources->restores, ns, name).get<api::Restore>();
    } catch (const kube::KubeError& e) {
      if (kube::is_not_found(e)) return {};
      throw;
    } catch (const api::DecodeError& e) {
      update_with_retry(ctx.transport, resources->restores, ns, name, [&](json& j) {
        j["status"]["phase"] = "FailedValidation";
        j["status"]["validationErrors"] = {e.what()};
        return true;
      });
      return {};
    }
    auto& finalizers = restore.metadata.finalizers;
    bool has_finalizer = std::find(finalizers.begin(), finalizers.end(), kRestoreFinalizer) != finalizers.end();
    if (restore.metadata.deletion_timestamp) {
      if (has_finalizer) finalize_deleted(ctx, *resources, restore);
      return {};
    }
    if (restore.status.phase != RestorePhase::unset && restore.status.phase != RestorePhase::New) return {};
    if (!has_finalizer) finalizers.push_back(kRestoreFinalizer);

    auto errors = prepare_restore(restore);
    bool has_source = std::none_of(errors.begin(), errors.end(), [](const std::string& e) {
      return e.rfind("Either a backup or schedule", 0) == 0;
    });
    RestoreRun run(ctx, *resources, restore);
    api::Backup backup;
    api::BackupStorageLocation location;
    if (has_source) {  // without a source Velero stops validating here
      auto more = run.validate_against_cluster(backup, location);
      errors.insert(errors.end(), more.begin(), more.end());
    }
    api::Restore& prepared = run.restore();
    if (!errors.empty()) {
      prepared.status.phase = RestorePhase::FailedValidation;
      prepared.status.validation_errors = errors;
      client.update(resources->restores, ns, json(prepared));
      spdlog::info("restore={} FailedValidation: {}", key, errors.front());
      forget_transient_key(ctx, prepared);
      return {};
    }
    prepared.status.phase = RestorePhase::InProgress;
    prepared.status.start_timestamp = ctx.clock.now();
    // The resourceVersion makes this the one transition that wins if two servers race.
    prepared = claim_with_update(ctx.transport, resources->restores, ns, json(prepared)).get<api::Restore>();
    run.run(backup, location);
    forget_transient_key(ctx, prepared);
    return {};
  };
}

}  // namespace

std::vector<std::string> prepare_restore(api::Restore& restore) {
  auto& spec = restore.spec;
  for (const auto& resource : restore::non_restorable_resources())
    if (std::find(spec.excluded_resources.begin(), spec.excluded_resources.end(), resource) == spec.excluded_resources.end())
      spec.excluded_resources.push_back(resource);
  std::vector<std::string> errors;
  for (const auto& resource : spec.included_resources)
    if (std::count(restore::non_restorable_resources().begin(), restore::non_restorable_resources().end(), resource))
      errors.push_back(resource + " are non-restorable resources");
  auto spec_errors = api::validate_restore_spec(spec);
  errors.insert(errors.end(), spec_errors.begin(), spec_errors.end());
  if (spec.backup_name.empty() != spec.schedule_name.empty()) {  // without a source Velero stops before the hooks
    auto hook_errors = restore::validate_restore_hooks(spec.hooks);
    errors.insert(errors.end(), hook_errors.begin(), hook_errors.end());
  }
  if (!spec.item_operation_timeout || spec.item_operation_timeout->count() == 0)
    spec.item_operation_timeout = std::chrono::hours(4);
  return errors;
}

const api::Backup* most_recent_completed(const std::vector<api::Backup>& backups) {
  const api::Backup* best = nullptr;
  for (const auto& b : backups) {
    if (b.status.phase != api::BackupPhase::Completed) continue;
    auto start = b.status.start_timestamp.value_or(Timestamp{});
    if (best == nullptr || start > best->status.start_timestamp.value_or(Timestamp{})) best = &b;
  }
  return best;
}

std::unique_ptr<Controller> make_restore_controller(ServerContext& ctx) {
  auto resources = std::make_shared<Resources>();
  resources->restores = ctx.discovery.lookup("velero.io", "v1", "restores");
  resources->config_maps = ctx.discovery.lookup("", "v1", "configmaps");
  if (int removed = restore::remove_abandoned_spools())
    spdlog::info("removed {} restore spool(s) left by processes that are gone", removed);
  kube::DynamicClient client(ctx.transport);
  client.list(resources->restores, ctx.settings.namespace_name, {}, [&](const kube::ListItem& item) {
    json object = item.parse();
    std::string phase = object.value("/status/phase"_json_pointer, std::string());
    std::string uid = object.value("/metadata/uid"_json_pointer, std::string());
    std::string terminal = interrupted_outcome(phase);
    if (terminal.empty()) return;
    update_with_retry(ctx.transport, resources->restores, std::string(item.namespace_name), std::string(item.name),
                      [&](json& j) {
                        if (j.value("/status/phase"_json_pointer, std::string()) != phase) return false;
                        j["status"]["phase"] = terminal;
                        if (terminal == "Failed") j["status"]["failureReason"] = kInterruptedReason;
                        j["status"]["completionTimestamp"] = format_rfc3339(ctx.clock.now());
                        return true;
                      });
    // A killed run's log is never uploaded now; its spool went with remove_abandoned_spools above.
    if (!uid.empty()) std::remove(restore_log_path(uid).c_str());
    if (terminal == "Failed")
      spdlog::warn("restore={} was InProgress when the server stopped: marked Failed", item.name);
    else
      spdlog::warn("restore={} was {} when the server stopped, after every item was restored: marked {} (its log "
                   "and results may be missing from object storage)",
                   item.name, phase, terminal);
  });
  return std::make_unique<Controller>("restore", ctx.transport, resources->restores, ctx.settings.namespace_name,
                                      restore_reconciler(ctx, resources));
}

}  // namespace arca::controller
