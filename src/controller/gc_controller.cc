#include "controller/gc_controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "kube/dynamic.h"
#include "kube/errors.h"
#include "util/names.h"

namespace arca::controller {
namespace {

using namespace std::chrono_literals;

constexpr const char* kGcFailureLabel = "velero.io/gc-failure";

bool request_pending(api::DeleteBackupRequestPhase phase) {
  return phase == api::DeleteBackupRequestPhase::unset || phase == api::DeleteBackupRequestPhase::New ||
         phase == api::DeleteBackupRequestPhase::InProgress;
}

// Sets (or with "" removes) velero.io/gc-failure; a merge patch with null removes a label.
void set_gc_failure(ServerContext& ctx, const api::Backup& backup, const std::string& reason) {
  auto current = backup.metadata.labels.find(kGcFailureLabel);
  if (reason.empty() ? current == backup.metadata.labels.end()
                     : current != backup.metadata.labels.end() && current->second == reason)
    return;
  nlohmann::json value = reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(reason);
  kube::DynamicClient(ctx.transport)
      .patch(ctx.backups, ctx.settings.namespace_name, backup.metadata.name, kube::PatchType::Merge,
             nlohmann::json{{"metadata", {{"labels", {{kGcFailureLabel, value}}}}}}.dump());
}

// keep-last-N of the backup's schedule (0 when the backup has none or the schedule does not set it).
int keep_last_of_schedule(ServerContext& ctx, const api::Backup& backup) {
  auto label = backup.metadata.labels.find("velero.io/schedule-name");
  if (label == backup.metadata.labels.end()) return 0;
  try {
    auto schedule = kube::DynamicClient(ctx.transport)
                        .get(ctx.discovery.lookup("velero.io", "v1", "schedules"), ctx.settings.namespace_name, label->second)
                        .get<api::Schedule>();
    auto value = schedule.metadata.annotations.find(kKeepLastAnnotation);
    if (value == schedule.metadata.annotations.end()) return 0;
    return std::max(0, std::stoi(value->second));
  } catch (const kube::KubeError& e) {
    if (kube::is_not_found(e)) return 0;  // schedule gone: plain Velero expiration
    throw;
  } catch (const std::logic_error&) {
    spdlog::warn("schedule={} annotation {} is not a number; ignored", label->second, kKeepLastAnnotation);
    return 0;
  }
}

std::vector<api::Backup> expired_unprotected_siblings(ServerContext& ctx, const api::Backup& backup, int keep_last,
                                                     Timestamp now) {
  kube::ListOptions options;
  options.label_selector = "velero.io/schedule-name=" + backup.metadata.labels.at("velero.io/schedule-name");
  std::vector<api::Backup> siblings;
  kube::DynamicClient(ctx.transport).list(ctx.backups, ctx.settings.namespace_name, options, [&](const kube::ListItem& item) {
    siblings.push_back(item.parse().get<api::Backup>());
  });
  auto kept = protected_by_keep_last(siblings, keep_last);
  std::erase_if(siblings, [&](const api::Backup& b) {
    return !is_expired(b, now) || std::find(kept.begin(), kept.end(), b.metadata.name) != kept.end();
  });
  return siblings;
}

bool deletion_requested(ServerContext& ctx, const api::Backup& backup) {
  kube::ListOptions options;
  options.label_selector = "velero.io/backup-name=" + valid_label_value(backup.metadata.name) +
                           ",velero.io/backup-uid=" + backup.metadata.uid;
  bool pending = false;
  kube::DynamicClient(ctx.transport).list(ctx.delete_requests, ctx.settings.namespace_name, options, [&](const kube::ListItem& item) {
    if (request_pending(item.parse().get<api::DeleteBackupRequest>().status.phase)) pending = true;
  });
  return pending;
}

// Velero's GC of one expired backup: refuse (with a label saying why) when its location cannot take the
// deletion, else request it unless a request is already pending.
void collect(ServerContext& ctx, const api::Backup& backup) {
  if (backup.metadata.deletion_timestamp || backup.status.phase == api::BackupPhase::Deleting) return;
  std::optional<api::BackupStorageLocation> location;
  try {
    location = kube::DynamicClient(ctx.transport)
                   .get(ctx.locations, ctx.settings.namespace_name, backup.spec.storage_location)
                   .get<api::BackupStorageLocation>();
  } catch (const kube::KubeError& e) {
    return set_gc_failure(ctx, backup, kube::is_not_found(e) ? "BSLNotFound" : "BSLCannotGet");
  }
  if (location->spec.access_mode == api::AccessMode::ReadOnly) return set_gc_failure(ctx, backup, "BSLReadOnly");
  if (location->status.phase != api::LocationPhase::Available) return;  // retried at the next visit
  set_gc_failure(ctx, backup, "");
  if (deletion_requested(ctx, backup)) return;

  api::DeleteBackupRequest request;
  request.metadata.generate_name = backup.metadata.name + "-";
  request.metadata.namespace_ = ctx.settings.namespace_name;
  request.metadata.labels["velero.io/backup-name"] = valid_label_value(backup.metadata.name);
  request.metadata.labels["velero.io/backup-uid"] = backup.metadata.uid;
  request.spec.backup_name = backup.metadata.name;
  kube::DynamicClient(ctx.transport).create(ctx.delete_requests, ctx.settings.namespace_name, nlohmann::json(request));
  spdlog::info("backup={} expired at {}; deletion requested", backup.metadata.name,
               format_rfc3339(*backup.status.expiration));
}

}  // namespace

std::vector<std::string> protected_by_keep_last(std::vector<api::Backup> backups, int keep_last) {
  std::erase_if(backups, [](const api::Backup& b) { return b.status.phase != api::BackupPhase::Completed; });
  auto started = [](const api::Backup& b) {
    return b.status.start_timestamp.value_or(b.metadata.creation_timestamp.value_or(Timestamp{}));
  };
  std::sort(backups.begin(), backups.end(), [&](const api::Backup& a, const api::Backup& b) {
    return started(a) != started(b) ? started(a) > started(b) : a.metadata.name > b.metadata.name;
  });
  std::vector<std::string> names;
  for (size_t i = 0; i < backups.size() && int(i) < keep_last; ++i) names.push_back(backups[i].metadata.name);
  return names;
}

bool is_expired(const api::Backup& backup, Timestamp now) {
  return backup.status.expiration && *backup.status.expiration <= now;
}

ReconcileFn gc_reconciler(ServerContext& ctx, Duration frequency) {
  auto period = std::chrono::duration_cast<std::chrono::milliseconds>(frequency);
  return [&ctx, period](const std::string&, const kube::ObjectPtr& cached) -> ReconcileResult {
    if (!cached) return {};
    auto backup = cached->get<api::Backup>();
    Timestamp now = ctx.clock.now();
    if (int keep_last = keep_last_of_schedule(ctx, backup); keep_last > 0) {
      // Which backups keep-last protects changes when a sibling completes, so every event of one backup of the
      // schedule re-examines the whole group.
      for (const auto& sibling : expired_unprotected_siblings(ctx, backup, keep_last, now)) collect(ctx, sibling);
    } else if (is_expired(backup, now)) {
      collect(ctx, backup);
    }
    if (backup.status.expiration && !is_expired(backup, now))  // come back when it expires, not an hour later
      return {std::min<std::chrono::milliseconds>(period, *backup.status.expiration - now + 1s)};
    return {period};
  };
}

std::unique_ptr<Controller> make_gc_controller(ServerContext& ctx, Duration frequency) {
  return std::make_unique<Controller>("gc", ctx.transport, ctx.backups, ctx.settings.namespace_name,
                                      gc_reconciler(ctx, frequency));
}

}  // namespace arca::controller
