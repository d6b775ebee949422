#pragma once
// The Schedule controller (Velero's schedule_types.go; Velero's pkg/controller/schedule_controller.go): validates the cron expression, and when an activation
// has passed since the last backup (or skip) creates one Backup `<schedule>-<YYYYMMDDhhmmss>` from the template.
// Missed activations collapse into one backup, so a server that was down never catches up in a storm.
#include <memory>
#include <optional>
#include <string>

#include "api/types.h"
#include "controller/context.h"
#include "controller/runtime.h"

namespace arca::controller {

// The Backup a schedule creates at `now` (pure; the caller creates it): name, namespace, template spec,
// labels (template metadata labels, else the schedule's) plus velero.io/schedule-name, the schedule's
// annotations, and a controller ownerReference when useOwnerReferencesInBackup is set.
api::Backup backup_for_schedule(const api::Schedule& schedule, Timestamp now);

// Validation of spec.schedule: empty when valid, else the messages Velero puts in status.validationErrors.
std::vector<std::string> schedule_validation_errors(const api::Schedule& schedule);

// Reconciles the Schedules of the server's namespace; `schedules` is velero.io/v1 schedules.
ReconcileFn schedule_reconciler(ServerContext& context, kube::ApiResource schedules);

// The controller as `arca server` runs it (resolves the schedules resource through discovery).
std::unique_ptr<Controller> make_schedule_controller(ServerContext& context);

}  // namespace arca::controller
