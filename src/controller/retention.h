#pragma once
// Grandfather-father-son retention of a schedule's backups (beyond Velero; the rules of restic's
// `forget --keep-*`): a Schedule annotated arca.dev/keep-{hourly,daily,weekly,monthly,yearly}: "N" keeps the
// newest Completed backup of each of the N most recent hours/days/weeks/months/years (UTC) that have one;
// arca.dev/keep-last-backups: "N" keeps the N newest. With any of the period rules set, the rules replace the
// TTL for Completed backups: garbage collection removes those no rule keeps. Whatever the rules, the newest
// Completed backup of a schedule is never collected (a schedule whose recent runs all failed keeps its last
// good backup).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"

namespace arca::controller {

inline constexpr const char* kKeepHourlyAnnotation = "arca.dev/keep-hourly";
inline constexpr const char* kKeepDailyAnnotation = "arca.dev/keep-daily";
inline constexpr const char* kKeepWeeklyAnnotation = "arca.dev/keep-weekly";
inline constexpr const char* kKeepMonthlyAnnotation = "arca.dev/keep-monthly";
inline constexpr const char* kKeepYearlyAnnotation = "arca.dev/keep-yearly";

struct RetentionPolicy {
  int last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0, yearly = 0;
  bool has_period_rules() const { return hourly > 0 || daily > 0 || weekly > 0 || monthly > 0 || yearly > 0; }
};

// From the Schedule's annotations; a value that is not a non-negative number counts as 0 (and is reported by
// `problems`, one line each, for the CLI and the logs).
RetentionPolicy retention_of(const std::map<std::string, std::string>& annotations,
                             std::vector<std::string>* problems = nullptr);

// Backup name → why it is kept ("newest successful", "keep-last 2", "keep-daily 2026-03-04", ...; the
// reasons of all rules that keep it, comma-separated). `backups` are one schedule's.
std::map<std::string, std::string> retained_backups(const std::vector<api::Backup>& backups,
                                                    const RetentionPolicy& policy);

// What garbage collection will do with `backup`, in one line for `arca backup describe` (the rules of
// gc_controller.cc's reconciler): which rules keep it, or when and why it will be collected. `policy` is its
// schedule's (nullopt: no schedule, or the schedule is gone), `siblings` the schedule's backups (with `backup`).
std::string retention_summary(const api::Backup& backup, const std::optional<RetentionPolicy>& policy,
                              const std::vector<api::Backup>& siblings);

}  // namespace arca::controller
