#include "controller/backup_controller.h"

#include <spdlog/spdlog.h>
#include <strings.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>

#include "api/validation.h"
#include "backup/engine.h"
#include "backup/filters.h"
#include "backup/volume_info.h"
#include "controller/csi_snapshots.h"
#include "csi/cleanup.h"
#include "controller/locations.h"
#include "controller/protection.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "kube/transport.h"
#include "persistence/backup_store.h"
#include "persistence/item_digests.h"
#include "podvolume/backupper.h"
#include "util/glob.h"
#include "util/names.h"

namespace arca::controller {
namespace {

using api::BackupPhase;

// Velero's text (pkg/controller/backup_controller.go), with the phase the backup really had.
std::string interrupted_reason(BackupPhase phase) {
  return "found a backup with status \"" + std::string(api::to_string(phase)) +
         "\" during the server starting, mark it as \"Failed\"";
}

// Every phase a run passes through after it started: after a restart none of them has a run behind it.
bool is_in_flight(BackupPhase p) {
  return p == BackupPhase::InProgress || p == BackupPhase::Finalizing || p == BackupPhase::FinalizingPartiallyFailed ||
         p == BackupPhase::WaitingForPluginOperations || p == BackupPhase::WaitingForPluginOperationsPartiallyFailed;
}

std::vector<api::BackupStorageLocation> list_locations(ServerContext& ctx) {
  std::vector<api::BackupStorageLocation> out;
  kube::DynamicClient(ctx.transport)
      .list(ctx.locations, ctx.settings.namespace_name, {}, [&](const kube::ListItem& item) {
        out.push_back(item.parse().get<api::BackupStorageLocation>());
      });
  return out;
}

// GET /version: what the source-cluster annotations record. A failure is retried with the backup.
ClusterVersion cluster_version(ServerContext& ctx) {
  kube::HttpRequest request;
  request.path = "/version";
  auto response = ctx.transport.send(request);
  if (response.status != 200)
    throw std::runtime_error("GET /version answered HTTP " + std::to_string(response.status));
  auto doc = nlohmann::json::parse(response.body);
  return {doc.value("gitVersion", ""), doc.value("major", ""), doc.value("minor", "")};
}

class BackupRun {
 public:
  BackupRun(ServerContext& ctx, api::Backup backup, api::BackupSpec engine_spec,
            const std::optional<ResourcePolicies>& policies = std::nullopt)
      : ctx_(ctx),
        backup_(std::move(backup)),
        engine_spec_(std::move(engine_spec)),
        policies_(policies),
        log_(backup_.metadata.namespace_ + "/" + backup_.metadata.name) {}

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
    persistence::WriteProtection protection;
    try {
      protection = location_protection(location, ctx_);
    } catch (const std::exception& e) {
      return fail(std::string("error preparing the backup's encryption or signing: ") + e.what());
    }

    std::unique_ptr<std::FILE, int (*)(std::FILE*)> tar(std::tmpfile(), &std::fclose);
    if (!tar) return fail("error creating temp file for backup");
    backup::RunResult result;
    // File-system backup of pod volumes: PodVolumeBackups start as pods are backed up and are waited for below.
    podvolume::BackupperOptions fsb;
    fsb.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.settings.fs_backup_timeout);
    fsb.repository_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.settings.resource_timeout);
    if (policies_)
      for (const auto& p : policies_->volume_policies) fsb.policies.push_back({p.conditions, p.action});
    {
      auto filters = backup::make_collection_filters(engine_spec_, {});
      fsb.backup_excludes_pvcs = !backup::should_list_resource(filters, {"persistentvolumeclaims", true});
    }
    api::Backup stored_backup = backup_;
    stored_backup.spec = engine_spec_;
    podvolume::Backupper pod_volumes(ctx_.transport, ctx_.discovery, stored_backup, log_, fsb);
    podvolume::BackupperResult fsb_result;
    std::unique_ptr<persistence::ItemDigestList> item_digests;
    std::string fatal;  // a failed run still uploads what it has, as Failed (Velero's pkg/persistence/object_store.go PutBackup; Velero's pkg/backup/backup.go)
    try {
      log_.info("Setting up backup log");
      backup::RunOptions options;
      options.page_size = ctx_.settings.client_page_size;
      options.all_group_versions = feature_enabled(ctx_.settings, kFeatureApiGroupVersions);
      options.on_progress = [this](int total, int done) { report_progress(total, done); };
      options.on_pod = [&](std::string_view pod) { return pod_volumes.back_up_pod(pod); };
      options.wait_pod_volumes = [&](std::string_view pod) { pod_volumes.wait_pod(pod); };
      api::Backup engine_backup = backup_;
      engine_backup.spec = engine_spec_;
      snapshotter_ = make_csi_snapshotter(ctx_, engine_backup, log_, volume_info_, policies_,
                                          [this](api::BackupPhase phase) { set_phase(phase); },
                                          !protection.recipients.empty());
      options.volume_snapshotter = snapshotter_.get();
      options.volume_info = &volume_info_;
      if (policies_) options.fine_grained = policies_->fine_grained;
      // A signed backup lists each item's digest as the tarball is written (verify --deep names a changed item).
      if (!protection.signing_private_key.empty()) {
        item_digests = std::make_unique<persistence::ItemDigestList>();
        options.on_tar_content = [list = item_digests.get()](std::span<const std::string_view> paths,
                                                             std::string_view content) { list->add(paths, content); };
      }
      result = backup::run_backup(
          engine_backup, ctx_.transport, ctx_.discovery,
          [&](const char* data, size_t size) {
            if (std::fwrite(data, 1, size, tar.get()) != size) throw std::runtime_error("error writing backup tarball");
          },
          log_, options);
      fatal = result.fatal_error;
    } catch (const std::exception& e) {
      fatal = e.what();
    }
    // Velero's pkg/backup/backup.go: WaitAllPodVolumesProcessed once every item is backed up, even after a fatal
    // error, so that no PodVolumeBackup is left running for a backup that is over.
    fsb_result = pod_volumes.wait_all();
    pod_volumes.add_volume_infos(volume_info_);
    if (!fatal.empty()) log_.error("backup failed", {}, fatal);

    bool partial = log_.errors() > 0;
    auto record_counts = [&](api::Backup& b) {
      b.status.progress.emplace();
      b.status.progress->items_backed_up = result.items_backed_up;
      b.status.progress->total_items = fatal.empty() ? result.items_backed_up : result.total_items;
      // Velero's pkg/backup/backup.go records hookStatus only when a hook was attempted.
      if (result.hooks_ran)
        b.status.hook_status = result.hook_status;
      else
        b.status.hook_status.reset();
      b.status.warnings = log_.warnings();
      b.status.errors = log_.errors();
      if (snapshotter_) record_csi_counts(*snapshotter_, b);
    };
    if (fatal.empty())
      backup_ = update([&](api::Backup& b) {
        b.status.phase = partial ? BackupPhase::FinalizingPartiallyFailed : BackupPhase::Finalizing;
        record_counts(b);
        return true;
      });

    // The stored metadata already carries the final phase: it is uploaded last, so a location never
    // lists a backup whose files are incomplete. A Failed one is stored too, with its reason and log.
    api::Backup final_backup = backup_;
    record_counts(final_backup);
    final_backup.status.phase =
        !fatal.empty() ? BackupPhase::Failed : partial ? BackupPhase::PartiallyFailed : BackupPhase::Completed;
    final_backup.status.failure_reason = fatal;
    final_backup.status.completion_timestamp = ctx_.clock.now();
    annotate_protection(final_backup, protection);
    annotate_sizes(final_backup, std::ftell(tar.get()), fsb_result.pod_volume_backups);
    persistence::BackupUpload upload;
    upload.name = name;
    upload.metadata_json = nlohmann::json(final_backup).dump(2);
    std::rewind(tar.get());
    upload.tarball = [&](char* buffer, size_t capacity) { return std::fread(buffer, 1, capacity, tar.get()); };
    upload.log_text = log_.text();
    if (result.resource_list)
      upload.resource_list = [file = result.resource_list.get()](char* buffer, size_t capacity) {
        return std::fread(buffer, 1, capacity, file);
      };
    upload.results_json = log_.results().dump();
    upload.volumeinfo_json = volume_info_.json_text();
    if (snapshotter_) upload.itemoperations_json = snapshotter_->item_operations_json();
    // Velero writes the list of PodVolumeBackups ("null" when there are none).
    if (pod_volumes.any()) upload.podvolumebackups_json = nlohmann::json(fsb_result.pod_volume_backups).dump();
    try {
      if (item_digests)
        upload.item_digests = [file = item_digests->finish()](char* buffer, size_t capacity) {
          return std::fread(buffer, 1, capacity, file);
        };
      persistence::put_backup(open->store(), open->layout(), upload, protection);
    } catch (const std::exception& e) {
      return fail(std::string("error uploading backup: ") + e.what());
    }
    update([&](api::Backup& b) {
      record_counts(b);
      annotate_protection(b, protection);
      for (const char* key : {kTarballBytesAnnotation, kVolumeBytesAnnotation})
        if (final_backup.metadata.annotations.count(key)) b.metadata.annotations[key] = final_backup.metadata.annotations[key];
      b.status.phase = final_backup.status.phase;
      b.status.failure_reason = final_backup.status.failure_reason;
      b.status.completion_timestamp = final_backup.status.completion_timestamp;
      return true;
    });
    if (fatal.empty())
      spdlog::info("backup={} phase={} items={} warnings={} errors={}", name, api::to_string(final_backup.status.phase),
                   result.items_backed_up, log_.warnings(), log_.errors());
    else
      spdlog::error("backup={} failed: {}", name, fatal);
  }

  // Failures before a run or while uploading: Failed with the reason on the object; nothing (more) is
  // uploaded — with no store to write to, or a name already taken in it, there is nowhere to put it.
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

  // The phases of the run's async operations (WaitingForPluginOperations, Finalizing), best effort.
  void set_phase(api::BackupPhase phase) {
    try {
      update([&](api::Backup& b) {
        b.status.phase = phase;
        return true;
      });
    } catch (const std::exception& e) {
      spdlog::warn("backup={} phase update failed: {}", backup_.metadata.name, e.what());
    }
  }

  // At most one progress patch per second (Velero's pkg/backup/backup.go); best effort.
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
  api::BackupSpec engine_spec_;  // the spec plus what the resource policy adds; not persisted
  std::optional<ResourcePolicies> policies_;
  backup::BackupLog log_;
  backup::VolumeInfoCollector volume_info_;  // every volume path of the run records its volumes here
  std::unique_ptr<csi::CsiSnapshotter> snapshotter_;
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

std::vector<std::string> resolve_snapshot_locations(api::BackupSpec& spec,
                                                    const std::vector<api::VolumeSnapshotLocation>& all,
                                                    const std::map<std::string, std::string>& defaults) {
  std::vector<std::string> errors;
  if (spec.snapshot_volumes == false) {
    spec.volume_snapshot_locations.clear();
    return errors;
  }
  auto find = [&](const std::string& name) -> const api::VolumeSnapshotLocation* {
    for (const auto& l : all)
      if (l.metadata.name == name) return &l;
    return nullptr;
  };
  std::map<std::string, std::string> chosen;  // provider → VSL name
  for (const auto& name : spec.volume_snapshot_locations) {
    const auto* location = find(name);
    if (!location) {
      errors.push_back("a VolumeSnapshotLocation CRD for the location " + name +
                       " with the name specified in the backup spec needs to be created before this snapshot can be "
                       "executed. Error: volumesnapshotlocations.velero.io \"" + name + "\" not found");
      continue;
    }
    auto [it, inserted] = chosen.emplace(location->spec.provider, name);
    if (!inserted && it->second != name)
      errors.push_back("more than one VolumeSnapshotLocation name specified for provider " + location->spec.provider +
                       ": " + name + "; unexpected name was " + it->second);
  }
  if (!errors.empty()) return errors;
  std::map<std::string, std::vector<std::string>> by_provider;
  for (const auto& l : all) by_provider[l.spec.provider].push_back(l.metadata.name);
  for (const auto& [provider, names] : by_provider) {
    if (chosen.count(provider)) continue;
    if (names.size() == 1) {
      chosen[provider] = names.front();
      continue;
    }
    auto d = defaults.find(provider);
    if (d == defaults.end() || d->second.empty()) {
      errors.push_back("provider " + provider +
                       " has more than one possible volume snapshot location, and none were specified explicitly or "
                       "as a default");
    } else if (!find(d->second)) {
      errors.push_back("error getting volume snapshot location named " + d->second +
                       ": volumesnapshotlocations.velero.io \"" + d->second + "\" not found");
    } else {
      chosen[provider] = d->second;
    }
  }
  if (!errors.empty()) return errors;
  spec.volume_snapshot_locations.clear();
  for (const auto& [provider, name] : chosen) spec.volume_snapshot_locations.push_back(name);
  return errors;
}

std::vector<std::string> prepare_backup(api::Backup& b, const PreparationInputs& in,
                                        std::optional<ResourcePolicies>* policies) {
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
  if (!spec.default_volumes_to_fs_backup) spec.default_volumes_to_fs_backup = in.default_volumes_to_fs_backup;
  if (!spec.snapshot_move_data) spec.snapshot_move_data = in.default_snapshot_move_data;

  // Namespaces labelled velero.io/exclude-from-backup=true join the excluded list before validation, as in
  // Velero's backup controller (prepareBackupRequest), so naming one in includedNamespaces fails validation.
  for (const auto& ns : in.namespaces_excluded_by_label)
    if (std::find(spec.excluded_namespaces.begin(), spec.excluded_namespaces.end(), ns) == spec.excluded_namespaces.end())
      spec.excluded_namespaces.push_back(ns);
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
  auto vsl_errors = resolve_snapshot_locations(spec, in.snapshot_locations, in.default_snapshot_locations);
  errors.insert(errors.end(), vsl_errors.begin(), vsl_errors.end());
  b.metadata.annotations["velero.io/source-cluster-k8s-major-version"] = in.cluster_version.major;
  b.metadata.annotations["velero.io/source-cluster-k8s-minor-version"] = in.cluster_version.minor;
  b.metadata.annotations["velero.io/source-cluster-k8s-gitversion"] = in.cluster_version.git_version;
  b.metadata.annotations["velero.io/resource-timeout"] = "10m0s";
  // A type name nothing serves would silently select nothing; say so instead.
  if (in.resource_known)
    for (const auto* list : {&spec.included_resources, &spec.included_cluster_scoped_resources,
                             &spec.included_namespace_scoped_resources})
      for (const auto& name : *list)
        if (name != "*" && !has_glob_chars(name) && !in.resource_known(name))
          errors.push_back("the server doesn't have a resource type \"" + name + "\" (included resource)");
  if (spec.resource_policy && ::strcasecmp(spec.resource_policy->kind.c_str(), "configmap") == 0) {
    const std::string what = "resource policies " + b.metadata.namespace_ + "/" + spec.resource_policy->name;
    auto data = in.config_map_data ? in.config_map_data(spec.resource_policy->name) : std::nullopt;
    if (!data) {
      errors.push_back("failed to get " + what + " configmap with err configmaps \"" + spec.resource_policy->name +
                       "\" not found");
    } else {
      try {
        auto loaded = parse_resource_policies(*data);
        if (loaded.include_exclude && api::uses_old_resource_filters(spec))
          errors.push_back(what + ": its includeExcludePolicy cannot be used with the old resource filters "
                           "(includedResources, excludedResources, includeClusterResources)");
        // Velero 1.19 refuses the same mix for the fine-grained sections (fine-grained backup filters design).
        if (!loaded.fine_grained.empty() && api::uses_old_resource_filters(spec))
          errors.push_back(what + ": include-resources, exclude-resources and include-cluster-resources cannot be "
                           "used with namespace-scoped or cluster-scoped global filter policies");
        if (policies) *policies = std::move(loaded);
      } catch (const std::invalid_argument& e) {
        errors.push_back(what + ": " + e.what());
      }
    }
  }
  if (errors.empty()) backup::apply_default_filters(spec);
  return errors;
}

void annotate_sizes(api::Backup& backup, long tarball_bytes, const std::vector<nlohmann::json>& pod_volume_backups) {
  if (tarball_bytes >= 0) backup.metadata.annotations[kTarballBytesAnnotation] = std::to_string(tarball_bytes);
  int64_t volume_bytes = 0;
  for (const auto& pvb : pod_volume_backups)
    volume_bytes += pvb.value("/status/progress/totalBytes"_json_pointer, int64_t{0});
  if (!pod_volume_backups.empty()) backup.metadata.annotations[kVolumeBytesAnnotation] = std::to_string(volume_bytes);
}

ReconcileFn backup_reconciler(ServerContext& ctx) {
  return [&ctx](const std::string& key, const kube::ObjectPtr& cached) -> ReconcileResult {
    if (!cached) return {};
    // The queue controller hands backups over as ReadyToStart (Velero's backup_types.go phases). New ones are only read here to fail
    // those arca cannot decode, which the queue leaves alone.
    auto cached_phase = cached->value("/status/phase"_json_pointer, std::string());
    if (cached_phase != "ReadyToStart" && cached_phase != "New" && !cached_phase.empty()) return {};
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
    if (backup.status.phase != BackupPhase::ReadyToStart) return {};

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
    in.cluster_version = cluster_version(ctx);
    in.default_snapshot_locations = ctx.settings.default_volume_snapshot_locations;
    in.default_volumes_to_fs_backup = ctx.settings.default_volumes_to_fs_backup;
    in.default_snapshot_move_data = ctx.settings.default_snapshot_move_data;
    client.list(ctx.discovery.lookup("velero.io", "v1", "volumesnapshotlocations"), ns, {},
                [&](const kube::ListItem& item) {
                  in.snapshot_locations.push_back(item.parse().get<api::VolumeSnapshotLocation>());
                });
    in.config_map_data = [&](const std::string& config_map) -> std::optional<std::map<std::string, std::string>> {
      nlohmann::json cm;
      try {
        cm = client.get(ctx.discovery.lookup("", "v1", "configmaps"), ns, config_map);
      } catch (const kube::KubeError& e) {
        if (kube::is_not_found(e)) return std::nullopt;
        throw;
      }
      std::map<std::string, std::string> out;
      const nlohmann::json data = cm.value("data", nlohmann::json::object());
      for (auto& [k, v] : data.items())
        out[k] = v.is_string() ? v.get<std::string>() : v.dump();
      return out;
    };

    std::optional<ResourcePolicies> policies;
    auto errors = prepare_backup(backup, in, &policies);
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
    backup = claim_with_update(ctx.transport, ctx.backups, ns, nlohmann::json(backup)).get<api::Backup>();
    // The policy's include/exclude lists steer this run only: the stored spec stays as the user wrote it.
    api::BackupSpec engine_spec = backup.spec;
    if (policies && policies->include_exclude) apply_include_exclude_policy(engine_spec, *policies->include_exclude);
    BackupRun(ctx, backup, engine_spec, policies).run(checked);
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
    } catch (const api::DecodeError& e) {
      spdlog::warn("backup={} cannot be read, so it is not checked for an interrupted run: {}", item.name, e.what());
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
    BackupPhase was = b.status.phase;
    update_object<api::Backup>(ctx.transport, ctx.backups, b.metadata.namespace_, b.metadata.name, [&](api::Backup& o) {
      if (!is_in_flight(o.status.phase)) return false;
      if (finished) {
        o.status.phase = stored->status.phase;
        o.status.completion_timestamp = stored->status.completion_timestamp;
        return true;
      }
      o.status.failure_reason = interrupted_reason(o.status.phase);
      o.status.phase = BackupPhase::Failed;
      o.status.completion_timestamp = ctx.clock.now();
      return true;
    });
    // Its snapshots were never finalized: they go, with the driver's data (nothing in storage refers to them).
    if (!finished)
      for (const auto& problem : csi::delete_backup_snapshots(ctx.transport, ctx.discovery, b.metadata.name, {}))
        spdlog::warn("backup={} cleanup of its CSI snapshots: {}", b.metadata.name, problem);
    if (finished)
      spdlog::warn("backup={} was {} when the server stopped, after its metadata was stored: kept the stored phase {}",
                   b.metadata.name, api::to_string(was), api::to_string(stored->status.phase));
    else
      spdlog::warn("backup={} was {} when the server stopped: marked Failed", b.metadata.name, api::to_string(was));
  }
}

}  // namespace arca::controller
