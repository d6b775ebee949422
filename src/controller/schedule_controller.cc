#include "controller/schedule_controller.h"

#include <spdlog/spdlog.h>

#include "kube/dynamic.h"
#include "kube/errors.h"
#include "util/cron.h"
#include "util/names.h"

namespace arca::controller {
namespace {

using namespace std::chrono_literals;

// Velero resyncs schedules every minute; arca also comes back exactly when the next activation is due, so
// `@every 2s` is honoured without polling.
constexpr std::chrono::milliseconds kResync = 1min;

bool backup_running(api::BackupPhase phase) {
  return phase == api::BackupPhase::unset || phase == api::BackupPhase::New || phase == api::BackupPhase::InProgress;
}

void patch_schedule_status(ServerContext& ctx, const kube::ApiResource& schedules, const std::string& name,
                           const nlohmann::json& status) {
  kube::DynamicClient(ctx.transport)
      .patch(schedules, ctx.settings.namespace_name, name, kube::PatchType::Merge,
             nlohmann::json{{"status", status}}.dump(), {}, schedules.subresource("status") ? "status" : "");
}

// Velero does not start a new scheduled backup while one of the schedule's backups is still new or running.
bool has_running_backup(ServerContext& ctx, const std::string& schedule_name) {
  kube::ListOptions options;
  options.label_selector = "velero.io/schedule-name=" + valid_label_value(schedule_name);
  bool running = false;
  kube::DynamicClient(ctx.transport).list(ctx.backups, ctx.settings.namespace_name, options, [&](const kube::ListItem& item) {
    if (backup_running(nlohmann::json::parse(item.json).get<api::Backup>().status.phase)) running = true;
  });
  return running;
}

}  // namespace

std::vector<std::string> schedule_validation_errors(const api::Schedule& schedule) {
  if (schedule.spec.schedule.empty()) return {"Schedule must be a non-empty valid Cron expression"};
  try {
    parse_cron(schedule.spec.schedule);
    return {};
  } catch (const InvalidCron& e) {
    return {std::string("invalid schedule: ") + e.what()};
  }
}

api::Backup backup_for_schedule(const api::Schedule& schedule, Timestamp now) {
  api::Backup backup;
  backup.metadata.name = timestamped_name(schedule.metadata.name, now);
  backup.metadata.namespace_ = schedule.metadata.namespace_;
  backup.spec = schedule.spec.backup_template;
  backup.metadata.labels =
      schedule.spec.backup_template.metadata.labels.empty() ? schedule.metadata.labels : schedule.spec.backup_template.metadata.labels;
  backup.metadata.labels["velero.io/schedule-name"] = valid_label_value(schedule.metadata.name);
  backup.metadata.annotations = schedule.metadata.annotations;
  if (schedule.spec.use_owner_references_in_backup.value_or(false)) {
    api::OwnerReference owner;
    owner.api_version = "velero.io/v1";
    owner.kind = "Schedule";
    owner.name = schedule.metadata.name;
    owner.uid = schedule.metadata.uid;
    owner.controller = true;
    backup.metadata.owner_references.push_back(owner);
  }
  return backup;
}

ReconcileFn schedule_reconciler(ServerContext& ctx, kube::ApiResource schedules) {
  return [&ctx, schedules](const std::string&, const kube::ObjectPtr& cached) -> ReconcileResult {
    if (!cached) return {};
    // The informer's copy may predate our own lastBackup write; deciding on it could create a second backup.
    api::Schedule schedule;
    try {
      schedule = kube::DynamicClient(ctx.transport)
                     .get(schedules, ctx.settings.namespace_name, (*cached)["metadata"]["name"].get<std::string>())
                     .get<api::Schedule>();
    } catch (const kube::KubeError& e) {
      if (kube::is_not_found(e)) return {};
      throw;
    }
    const std::string& name = schedule.metadata.name;
    if (schedule.spec.paused) return {};  // Velero does not reconcile paused schedules at all

    auto errors = schedule_validation_errors(schedule);
    if (!errors.empty()) {
      if (schedule.status.phase != api::SchedulePhase::FailedValidation || schedule.status.validation_errors != errors) {
        spdlog::warn("schedule={} failed validation: {}", name, errors.front());
        patch_schedule_status(ctx, schedules, name, {{"phase", "FailedValidation"}, {"validationErrors", errors}});
      }
      return {};
    }
    if (schedule.status.phase != api::SchedulePhase::Enabled) {
      patch_schedule_status(ctx, schedules, name, {{"phase", "Enabled"}, {"validationErrors", nullptr}});
      return {};  // the status change comes back as an update event
    }

    Timestamp now = ctx.clock.now();
    if (schedule.spec.skip_immediately.value_or(ctx.settings.schedule_skip_immediately)) {
      // Skipping moves the reference time to now and resets the flag, as Velero does.
      update_object<api::Schedule>(ctx.transport, schedules, ctx.settings.namespace_name, name, [](api::Schedule& s) {
        s.spec.skip_immediately = false;
        return true;
      });
      patch_schedule_status(ctx, schedules, name, {{"lastSkipped", format_rfc3339(now)}});
      spdlog::info("schedule={} skipped its immediate backup", name);
      return {};
    }

    auto cron = parse_cron(schedule.spec.schedule);
    auto due = schedule_due_time(cron, schedule.metadata.creation_timestamp.value_or(now), schedule.status.last_backup,
                                 schedule.status.last_skipped);
    if (!due) return {kResync};
    if (now <= *due) return {std::min<std::chrono::milliseconds>(kResync, *due - now + 1s)};
    if (has_running_backup(ctx, name)) return {1s};

    auto backup = backup_for_schedule(schedule, now);
    try {
      kube::DynamicClient(ctx.transport).create(ctx.backups, ctx.settings.namespace_name, nlohmann::json(backup));
      spdlog::info("schedule={} created backup {}", name, backup.metadata.name);
    } catch (const kube::KubeError& e) {
      if (!kube::is_already_exists(e)) throw;  // created by an earlier attempt within the same second
    }
    patch_schedule_status(ctx, schedules, name, {{"lastBackup", format_rfc3339(now)}});
    return {};
  };
}

std::unique_ptr<Controller> make_schedule_controller(ServerContext& ctx) {
  auto schedules = ctx.discovery.lookup("velero.io", "v1", "schedules");
  return std::make_unique<Controller>("schedule", ctx.transport, schedules, ctx.settings.namespace_name,
                                      schedule_reconciler(ctx, schedules));
}

}  // namespace arca::controller
