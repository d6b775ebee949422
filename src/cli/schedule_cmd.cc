// `arca schedule create|get|describe|delete|pause|unpause` (Velero's pkg/cmd/cli/schedule/create.go; Velero's pkg/cmd/cli).
#include <iostream>
#include <sstream>

#include "api/types.h"
#include "cli/day2_commands.h"
#include "cli/output.h"
#include "controller/gc_controller.h"
#include "controller/retention.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "util/duration.h"
#include "util/label_selector.h"

namespace arca::cli {
namespace {

std::string timestamp_cell(const std::optional<Timestamp>& t, const char* none) {
  return t ? format_rfc3339(*t) : none;
}

std::vector<api::Schedule> select_schedules(Session& s, const std::vector<std::string>& names, const std::string& selector) {
  kube::DynamicClient client(s.transport());
  auto resource = s.velero("schedules");
  std::vector<api::Schedule> schedules;
  if (!names.empty()) {
    for (const auto& n : names) schedules.push_back(client.get(resource, s.ns(), n).get<api::Schedule>());
    return schedules;
  }
  kube::ListOptions options;
  options.label_selector = selector;
  client.list(resource, s.ns(), options, [&](const kube::ListItem& item) { schedules.push_back(item.parse().get<api::Schedule>()); });
  return schedules;
}

bool confirmed(bool confirm, std::ostream& out) {
  while (!confirm) {
    out << "Are you sure you want to continue (Y/N)? ";
    out.flush();
    std::string answer;
    if (!std::getline(std::cin, answer)) return false;
    if (answer == "y" || answer == "Y") return true;
    if (answer == "n" || answer == "N") return false;
  }
  return true;
}

}  // namespace

int schedule_create(Session& s, const ScheduleCreateOptions& o, std::ostream& out) {
  if (o.schedule.empty()) throw std::invalid_argument("--schedule is required");
  if (o.keep_last < 0) throw std::invalid_argument("--keep-last must not be negative");
  for (auto [flag, value] : {std::pair{"--keep-hourly", o.keep_hourly}, std::pair{"--keep-daily", o.keep_daily},
                             std::pair{"--keep-weekly", o.keep_weekly}, std::pair{"--keep-monthly", o.keep_monthly},
                             std::pair{"--keep-yearly", o.keep_yearly}})
    if (value < 0) throw std::invalid_argument(std::string(flag) + " must not be negative");
  // The template is exactly what `backup create` would submit with the same filters.
  BackupCreateOptions template_options = o.template_options;
  template_options.name = o.name;
  template_options.output = "json";
  std::ostringstream backup_json;
  backup_create(s, template_options, backup_json);
  auto backup = nlohmann::json::parse(backup_json.str()).get<api::Backup>();

  api::Schedule schedule;
  schedule.metadata.name = o.name;
  schedule.metadata.namespace_ = s.ns();
  schedule.metadata.labels = o.template_options.labels;
  if (o.keep_last > 0) schedule.metadata.annotations[controller::kKeepLastAnnotation] = std::to_string(o.keep_last);
  for (auto [key, value] : {std::pair{controller::kKeepHourlyAnnotation, o.keep_hourly},
                            std::pair{controller::kKeepDailyAnnotation, o.keep_daily},
                            std::pair{controller::kKeepWeeklyAnnotation, o.keep_weekly},
                            std::pair{controller::kKeepMonthlyAnnotation, o.keep_monthly},
                            std::pair{controller::kKeepYearlyAnnotation, o.keep_yearly}})
    if (value > 0) schedule.metadata.annotations[key] = std::to_string(value);
  schedule.spec.backup_template = backup.spec;
  schedule.spec.schedule = o.schedule;
  schedule.spec.use_owner_references_in_backup = o.use_owner_references;
  schedule.spec.paused = o.paused;
  schedule.spec.skip_immediately = o.skip_immediately;
  if (!o.output.empty()) {
    out << format_objects({nlohmann::json(schedule)}, o.output);
    return 0;
  }
  kube::DynamicClient(s.transport()).create(s.velero("schedules"), s.ns(), nlohmann::json(schedule));
  out << "Schedule \"" << o.name << "\" created successfully.\n";
  return 0;
}

int schedule_get(Session& s, const std::vector<std::string>& names, const std::string& selector, const std::string& output,
                 std::ostream& out) {
  auto schedules = select_schedules(s, names, selector);
  if (output != "table") {
    std::vector<nlohmann::json> objects(schedules.begin(), schedules.end());
    out << format_objects(objects, output);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "STATUS", "CREATED", "SCHEDULE", "BACKUP TTL", "LAST BACKUP", "SELECTOR", "PAUSED"}};
  for (const auto& sc : schedules) {
    const auto& t = sc.spec.backup_template;
    const LabelSelector* selector_ptr = t.label_selector ? &*t.label_selector : nullptr;
    rows.push_back({sc.metadata.name,
                    sc.status.phase == api::SchedulePhase::unset ? "New" : std::string(api::to_string(sc.status.phase)),
                    timestamp_cell(sc.metadata.creation_timestamp, "<nil>"), sc.spec.schedule,
                    t.ttl ? format_duration(*t.ttl) : "0s",
                    sc.status.last_backup ? human_duration(now_seconds() - *sc.status.last_backup) + " ago" : "n/a",
                    format_label_selector(selector_ptr), sc.spec.paused ? "true" : "false"});
  }
  out << text_table(rows);
  return 0;
}

int schedule_describe(Session& s, const std::vector<std::string>& names, std::ostream& out) {
  bool first = true;
  for (const auto& sc : select_schedules(s, names, "")) {
    if (!first) out << "\n\n";
    first = false;
    out << "Name:         " << sc.metadata.name << "\nNamespace:    " << sc.metadata.namespace_ << "\nLabels:       ";
    if (sc.metadata.labels.empty()) out << "<none>";
    for (const auto& [k, v] : sc.metadata.labels) out << k << "=" << v << " ";
    out << "\nAnnotations:  ";
    if (sc.metadata.annotations.empty()) out << "<none>";
    for (const auto& [k, v] : sc.metadata.annotations) out << k << "=" << v << " ";
    out << "\n\nPhase:  " << (sc.status.phase == api::SchedulePhase::unset ? "New" : api::to_string(sc.status.phase))
        << "\n\n";
    if (!sc.status.validation_errors.empty()) {
      out << "Validation errors:\n";
      for (const auto& e : sc.status.validation_errors) out << "\t" << e << "\n";
      out << "\n";
    }
    out << "Paused:  " << (sc.spec.paused ? "true" : "false") << "\n\nSchedule:  " << sc.spec.schedule
        << "\n\nBackup Template:\n";
    std::istringstream spec(to_yaml(nlohmann::json(sc.spec.backup_template)));
    for (std::string line; std::getline(spec, line);) out << "\t" << line << "\n";
    out << "\nLast Backup:  " << timestamp_cell(sc.status.last_backup, "<never>") << "\n";
  }
  return 0;
}

int schedule_delete(Session& s, const std::vector<std::string>& names, bool all, bool confirm, std::ostream& out) {
  if (names.empty() == !all) throw std::invalid_argument("either specify schedule names or --all, but not both");
  auto schedules = select_schedules(s, names, "");
  if (schedules.empty()) {
    out << "No schedules found\n";
    return 0;
  }
  if (!confirmed(confirm, out)) return 0;
  kube::DynamicClient client(s.transport());
  for (const auto& sc : schedules) {
    client.remove(s.velero("schedules"), s.ns(), sc.metadata.name);
    out << "Schedule deleted: " << sc.metadata.name << "\n";
  }
  return 0;
}

int schedule_set_paused(Session& s, const std::vector<std::string>& names, bool all, const std::string& selector,
                        bool paused, std::optional<bool> skip_immediately, std::ostream& out) {
  if (int(!names.empty()) + int(all) + int(!selector.empty()) != 1)
    throw std::invalid_argument("at least one of the following must be set, but not more than one: names, --all, --selector");
  const char* state = paused ? "paused" : "unpaused";
  kube::DynamicClient client(s.transport());
  auto resource = s.velero("schedules");
  for (auto sc : select_schedules(s, names, selector)) {
    if (sc.spec.paused == paused) {
      out << "schedule " << sc.metadata.name << " is already " << state << ", skip\n";
      continue;
    }
    sc.spec.paused = paused;
    sc.spec.skip_immediately = skip_immediately;
    client.update(resource, s.ns(), nlohmann::json(sc));
    out << "Schedule " << sc.metadata.name << " " << state << " successfully\n";
  }
  return 0;
}

}  // namespace arca::cli
