#include "controller/retention.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace arca::controller {
namespace {

Timestamp started(const api::Backup& b) {
  return b.status.start_timestamp.value_or(b.metadata.creation_timestamp.value_or(Timestamp{}));
}

// The period a time falls in, as a sortable label (UTC). Weeks start on Monday (ISO 8601).
std::string period_of(Timestamp t, char rule) {
  using namespace std::chrono;
  auto day = floor<days>(t);
  year_month_day ymd{day};
  char out[32];
  int y = int(ymd.year());
  unsigned m = unsigned(ymd.month()), d = unsigned(ymd.day());
  switch (rule) {
    case 'h':
      std::snprintf(out, sizeof out, "%04d-%02u-%02uT%02ld", y, m, d, long(duration_cast<hours>(t - day).count()));
      break;
    case 'd':
      std::snprintf(out, sizeof out, "%04d-%02u-%02u", y, m, d);
      break;
    case 'w': {
      // The ISO week's Monday names the week.
      year_month_day monday{day - (weekday{day} - Monday)};
      std::snprintf(out, sizeof out, "week of %04d-%02u-%02u", int(monday.year()), unsigned(monday.month()),
                    unsigned(monday.day()));
      break;
    }
    case 'm':
      std::snprintf(out, sizeof out, "%04d-%02u", y, m);
      break;
    default:
      std::snprintf(out, sizeof out, "%04d", y);
  }
  return out;
}

}  // namespace

RetentionPolicy retention_of(const std::map<std::string, std::string>& annotations, std::vector<std::string>* problems) {
  RetentionPolicy p;
  auto read = [&](const char* key, int& into) {
    auto it = annotations.find(key);
    if (it == annotations.end()) return;
    try {
      size_t used = 0;
      int v = std::stoi(it->second, &used);
      if (used != it->second.size() || v < 0) throw std::invalid_argument("negative");
      into = v;
    } catch (const std::logic_error&) {
      if (problems) problems->push_back(std::string("annotation ") + key + " \"" + it->second +
                                        "\" is not a non-negative number; ignored");
    }
  };
  read("arca.dev/keep-last-backups", p.last);
  read(kKeepHourlyAnnotation, p.hourly);
  read(kKeepDailyAnnotation, p.daily);
  read(kKeepWeeklyAnnotation, p.weekly);
  read(kKeepMonthlyAnnotation, p.monthly);
  read(kKeepYearlyAnnotation, p.yearly);
  return p;
}

std::map<std::string, std::string> retained_backups(const std::vector<api::Backup>& backups,
                                                    const RetentionPolicy& policy) {
  std::vector<const api::Backup*> completed;
  for (const auto& b : backups)
    if (b.status.phase == api::BackupPhase::Completed) completed.push_back(&b);
  std::sort(completed.begin(), completed.end(), [](const api::Backup* a, const api::Backup* b) {
    return started(*a) != started(*b) ? started(*a) > started(*b) : a->metadata.name > b->metadata.name;
  });
  std::map<std::string, std::string> kept;
  auto keep = [&](const api::Backup& b, const std::string& why) {
    std::string& reasons = kept[b.metadata.name];
    reasons += (reasons.empty() ? "" : ", ") + why;
  };
  if (!completed.empty()) keep(*completed.front(), "newest successful");
  for (size_t i = 0; i < completed.size() && int(i) < policy.last; ++i)
    keep(*completed[i], "keep-last " + std::to_string(policy.last));
  // Newest first: the first backup seen in a period is that period's newest.
  for (auto [rule, count, name] : {std::tuple{'h', policy.hourly, "keep-hourly"}, std::tuple{'d', policy.daily, "keep-daily"},
                                   std::tuple{'w', policy.weekly, "keep-weekly"}, std::tuple{'m', policy.monthly, "keep-monthly"},
                                   std::tuple{'y', policy.yearly, "keep-yearly"}}) {
    std::string last_period;
    for (const auto* b : completed) {
      if (count <= 0) break;
      std::string period = period_of(started(*b), rule);
      if (period == last_period) continue;
      last_period = period;
      keep(*b, std::string(name) + " " + period);
      --count;
    }
  }
  return kept;
}

std::string retention_summary(const api::Backup& backup, const std::optional<RetentionPolicy>& policy,
                              const std::vector<api::Backup>& siblings) {
  const std::string ttl = backup.status.expiration
                              ? "collected after its TTL, at " + format_rfc3339(*backup.status.expiration)
                              : "never collected (no expiration)";
  if (!policy) return ttl;
  auto kept = retained_backups(siblings, *policy);
  auto reasons = kept.find(backup.metadata.name);
  if (reasons != kept.end()) return "kept (" + reasons->second + "), whatever its TTL";
  if (policy->has_period_rules() && backup.status.phase == api::BackupPhase::Completed)
    return "collected by the next garbage collection: no retention rule of its schedule keeps it";
  return ttl;
}

}  // namespace arca::controller
