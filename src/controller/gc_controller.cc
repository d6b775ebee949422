#include "controller/gc_controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "controller/retention.h"
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

// The retention policy of the backup's schedule; nullopt when it has no schedule (or the schedule is gone:
// then plain Velero expiration applies).
std::optional<RetentionPolicy> schedule_policy(ServerContext& ctx, const api::Backup& backup) {
  auto label = backup.metadata.labels.find("velero.io/schedule-name");
  if (label == backup.metadata.labels.end()) return std::nullopt;
  try {
    auto schedule = kube::DynamicClient(ctx.transport)
                        .get(ctx.discovery.lookup("velero.io", "v1", "schedules"), ctx.settings.namespace_name, label->second)
                        .get<api::Schedule>();
    std::vector<std::string> problems;
    RetentionPolicy policy = retention_of(schedule.metadata.annotations, &problems);
    for (const auto& p : problems) spdlog::warn("schedule={}: {}", label->second, p);
    return policy;
  } catch (const kube::KubeError& e) {
    if (kube::is_not_found(e)) return std::nullopt;
    throw;
  }
}

std::vector<api::Backup> schedule_backups(ServerContext& ctx, const api::Backup& backup) {
  kube::ListOptions options;
  options.label_selector = "velero.io/schedule-name=" + backup.metadata.labels.at("velero.io/schedule-name");
  std::vector<api::Backup> siblings;
  kube::DynamicClient(ctx.transport).list(ctx.backups, ctx.settings.namespace_name, options, [&](const kube::ListItem& item) {
    siblings.push_back(item.parse().get<api::Backup>());
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
void collect(ServerContext& ctx, const api::Backup& backup, const std::string& why) {
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
  spdlog::info("backup={} {}; deletion requested", backup.metadata.name, why);
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
    auto expired_because = [](const api::Backup& b) {
      return "expired at " + format_rfc3339(*b.status.expiration);
    };
    auto policy = schedule_policy(ctx, backup);
    if (policy && (policy->has_period_rules() || policy->last > 0 || is_expired(backup, now))) {
      // Which backups the rules keep changes when a sibling completes, so every event of one backup of the
      // schedule re-examines the whole group.
      auto siblings = schedule_backups(ctx, backup);
      auto kept = retained_backups(siblings, *policy);
      for (const auto& sibling : siblings) {
        if (kept.count(sibling.metadata.name)) continue;
        if (policy->has_period_rules() && sibling.status.phase == api::BackupPhase::Completed)
          collect(ctx, sibling, "is kept by no retention rule of its schedule");
        else if (is_expired(sibling, now))
          collect(ctx, sibling, expired_because(sibling));
      }
    } else if (!policy && is_expired(backup, now)) {
      collect(ctx, backup, expired_because(backup));
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
