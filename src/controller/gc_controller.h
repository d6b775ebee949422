#pragma once
// Garbage collection of expired backups (Velero's pkg/controller/gc_controller.go): a Backup whose status.expiration has passed
// gets a DeleteBackupRequest (the deletion controller removes the stored files, then the Backup), unless its
// location is missing, read-only or unavailable (then labelled velero.io/gc-failure, or retried later).
//
// Beyond Velero: a Schedule annotated `arca.dev/keep-last-backups: "N"` never loses its N newest Completed
// backups to expiration, so a schedule whose recent runs failed still keeps its last good backups; the
// grandfather-father-son rules of controller/retention.h (arca.dev/keep-daily, ...) decide for Completed
// backups when set; a schedule's newest Completed backup is never collected.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "controller/context.h"
#include "controller/runtime.h"

namespace arca::controller {

inline constexpr const char* kKeepLastAnnotation = "arca.dev/keep-last-backups";

// The names of `backups` (all of one schedule) that keep-last-N protects: the N newest Completed ones.
std::vector<std::string> protected_by_keep_last(std::vector<api::Backup> backups, int keep_last);

// Velero: status.expiration set and not after now (any phase).
bool is_expired(const api::Backup& backup, Timestamp now);

ReconcileFn gc_reconciler(ServerContext& context, Duration frequency);

// Runs on every Backup event and again every `frequency` (Velero's --garbage-collection-frequency, 1h).
std::unique_ptr<Controller> make_gc_controller(ServerContext& context, Duration frequency = std::chrono::hours(1));

}  // namespace arca::controller
