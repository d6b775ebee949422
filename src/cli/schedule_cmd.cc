// `arca schedule create|get|describe|delete|pause|unpause` (Velero's pkg/cmd/cli/schedule/create.go; Velero's pkg/cmd/cli).
#include <iostream>
#include <tuple>
#include <sstream>

#include "api/types.h"
#include "cli/app.h"
#include "cli/day2_commands.h"
#include "cli/output.h"
#include "controller/gc_controller.h"
#include "controller/protection.h"
#include "controller/restore_check.h"
#include "controller/retention.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "util/duration.h"
#include "util/label_selector.h"

namespace arca::cli {

std::string schedule_table(const std::vector<api::Schedule>& schedules, const OutputFlags& flags);

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
  template_options.wait = false;
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
  if (o.verify) schedule.metadata.annotations[controller::kAnnotationScheduleVerify] = "true";
  if (o.restore_test_every < 0) throw std::invalid_argument("--restore-test-every must be a positive number of backups");
  if (o.restore_test_every > 0)
    schedule.metadata.annotations[controller::kAnnotationRestoreTestEvery] = std::to_string(o.restore_test_every);
  if (!o.decryption_key_secret.empty())
    schedule.metadata.annotations[persistence::kAnnotationDecryptionKeySecret] = o.decryption_key_secret;
  schedule.spec.backup_template = backup.spec;
  schedule.spec.schedule = o.schedule;
  schedule.spec.use_owner_references_in_backup = o.use_owner_references;
  schedule.spec.paused = o.paused;
  schedule.spec.skip_immediately = o.skip_immediately;
  if (o.output == "table") {
    out << schedule_table({schedule}, o.template_options.output_flags);
    return 0;
  }
  if (!o.output.empty()) {
    out << format_objects({nlohmann::json(schedule)}, o.output);
    return 0;
  }
  kube::DynamicClient(s.transport()).create(s.velero("schedules"), s.ns(), nlohmann::json(schedule));
  out << "Schedule \"" << o.name << "\" created successfully.\n";
  return 0;
}

std::string schedule_table(const std::vector<api::Schedule>& schedules, const OutputFlags& flags) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "STATUS", "CREATED", "SCHEDULE", "BACKUP TTL", "LAST BACKUP", "SELECTOR", "PAUSED"}};
  std::vector<std::map<std::string, std::string>> labels;
  for (const auto& sc : schedules) {
    const auto& t = sc.spec.backup_template;
    const LabelSelector* selector_ptr = t.label_selector ? &*t.label_selector : nullptr;
    rows.push_back({sc.metadata.name,
                    sc.status.phase == api::SchedulePhase::unset ? "New" : std::string(api::to_string(sc.status.phase)),
                    timestamp_cell(sc.metadata.creation_timestamp, "<nil>"), sc.spec.schedule,
                    t.ttl ? format_duration(*t.ttl) : "0s",
                    sc.status.last_backup ? human_duration(now_seconds() - *sc.status.last_backup) + " ago" : "n/a",
                    format_label_selector(selector_ptr), sc.spec.paused ? "true" : "false"});
    labels.push_back(sc.metadata.labels);
  }
  add_label_columns(rows, labels, flags);
  return text_table(rows);
}

int schedule_get(Session& s, const std::vector<std::string>& names, const std::string& selector, const OutputFlags& output,
                 std::ostream& out) {
  auto schedules = select_schedules(s, names, selector);
  if (output.output != "table") {
    std::vector<nlohmann::json> objects(schedules.begin(), schedules.end());
    out << format_objects(objects, output.output);
    return 0;
  }
  out << schedule_table(schedules, output);
  return 0;
}

int schedule_describe(Session& s, const std::vector<std::string>& names, const std::string& selector, std::ostream& out) {
  bool first = true;
  for (const auto& sc : select_schedules(s, names, selector)) {
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

int schedule_delete(Session& s, const std::vector<std::string>& names, bool all, const std::string& selector, bool confirm,
                    std::ostream& out) {
  (void)all;  // --all and --selector both list; names get each one
  auto schedules = select_schedules(s, names, selector);
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

namespace {

struct ScheduleFlags {
  ScheduleCreateOptions options;
  BackupTemplateFlags backup;
  std::vector<std::string> skip;
};

// --skip-immediately: an optionalBool whose bare form means unset (pkg/cmd/cli/schedule/skip_options.go).
CLI::Option* skip_immediately_flag(CLI::App* cmd, std::vector<std::string>& into) {
  return cmd->add_flag("--skip-immediately{unset}", into, "Skip the next scheduled backup immediately")
      ->type_name("optionalBool")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

std::optional<bool> skip_immediately(const std::vector<std::string>& values) {
  if (values.empty() || values.back() == "unset") return std::nullopt;  // bare: unset
  return parse_optional_bool(values, "--skip-immediately");
}

}  // namespace

void define_schedule_create(CLI::App* cmd, Cli& cli) {
  auto& f = cli.make<ScheduleFlags>();
  cmd->description("Create a schedule");
  cmd->add_option("NAME", f.options.name, "Schedule name")->required();
  string_flag(cmd, "--schedule", f.options.schedule, "A cron expression specifying a recurring schedule for this backup to run");
  f.backup.bind(cmd);
  bool_flag(cmd, "--use-owner-references-in-backup", f.options.use_owner_references,
            "Specifies whether to use OwnerReferences on backups created by this Schedule. Notice: if set to true, "
            "when schedule is deleted, backups will be deleted too.");
  bool_flag(cmd, "--paused", f.options.paused, "Specifies whether the newly created schedule is paused or not.");
  skip_immediately_flag(cmd, f.skip);
  int_flag(cmd, "--keep-last", f.options.keep_last,
           "arca: never let expiration delete the N newest Completed backups of this schedule");
  for (auto [flag, into, period] :
       {std::tuple{"--keep-hourly", &f.options.keep_hourly, "hours"}, std::tuple{"--keep-daily", &f.options.keep_daily, "days"},
        std::tuple{"--keep-weekly", &f.options.keep_weekly, "weeks"},
        std::tuple{"--keep-monthly", &f.options.keep_monthly, "months"},
        std::tuple{"--keep-yearly", &f.options.keep_yearly, "years"}})
    int_flag(cmd, flag, *into,
             std::string("arca: keep the newest Completed backup of each of the last N ") + period +
                 " (UTC); with any --keep-<period>, these rules replace the TTL for Completed backups");
  bool_flag(cmd, "--verify", f.options.verify,
            "arca: verify each backup of this schedule once it has finished (signature and every stored digest), "
            "as `arca backup verify` does; the result is on the Backup and in arca_backup_verification_total");
  int_flag(cmd, "--restore-test-every", f.options.restore_test_every,
           "arca: after every Nth backup of this schedule, the server runs a dry-run restore of it into mapped "
           "namespaces (NS-restore-test) and records the outcome on the Backup (describe) and in "
           "arca_backup_verification_total");
  string_flag(cmd, "--decryption-key-secret", f.options.decryption_key_secret,
              "arca: Secret holding the age key the restore tests of an encrypted location's backups decrypt with");
  cmd->callback([&f, &cli] {
    f.backup.finish();
    f.options.template_options = f.backup.options;
    f.options.output = f.backup.options.output;
    f.options.skip_immediately = skip_immediately(f.skip);
    cli.run([&f](Session& s) {
      int code = schedule_create(s, f.options, std::cout);
      if (code == 0 && f.options.output.empty()) warn_volume_flags(f.options.template_options);
      return code;
    });
  });
}

void define_schedule_get(CLI::App* cmd, Cli& cli) {
  struct Flags {
    std::vector<std::string> names;
    std::string selector;
    OutputFlags output;
  };
  auto& f = cli.make<Flags>();
  cmd->description("Get schedules");
  cmd->add_option("NAMES", f.names, "Schedule names");
  selector_flag(cmd, f.selector, "Only show items matching this label selector.");
  add_output_flags(cmd, f.output, "table");
  cmd->callback([&f, &cli] {
    cli.run([&f](Session& s) { return schedule_get(s, f.names, f.selector, f.output, std::cout); });
  });
}

void define_schedule_describe(CLI::App* cmd, Cli& cli) {
  struct Flags {
    std::vector<std::string> names;
    std::string selector;
  };
  auto& f = cli.make<Flags>();
  cmd->description("Describe schedules");
  cmd->add_option("NAMES", f.names, "Schedule names");
  selector_flag(cmd, f.selector, "Only show items matching this label selector.");
  cmd->callback([&f, &cli] {
    cli.run([&f](Session& s) { return schedule_describe(s, f.names, f.selector, std::cout); });
  });
}

void define_schedule_delete(CLI::App* cmd, Cli& cli) {
  auto& f = cli.make<DeleteFlags>();
  cmd->description("Delete schedules");
  add_delete_flags(cmd, f, "schedules");
  cmd->callback([&f, &cli] {
    cli.run([&f](Session& s) {
      check_selection(f);
      return schedule_delete(s, f.names, f.all, f.selector, f.confirm, std::cout);
    });
  });
}

void add_schedule_commands(CLI::App& root, Cli& cli) {
  auto* schedule = root.add_subcommand("schedule", "Work with schedules");
  define_schedule_create(schedule->add_subcommand("create"), cli);
  define_schedule_get(schedule->add_subcommand("get"), cli);
  define_schedule_describe(schedule->add_subcommand("describe"), cli);
  define_schedule_delete(schedule->add_subcommand("delete"), cli);
  for (bool paused : {true, false}) {
    struct Flags {
      std::vector<std::string> names, skip;
      bool all = false;
      std::string selector;
    };
    auto& f = cli.make<Flags>();
    auto* cmd = schedule->add_subcommand(paused ? "pause" : "unpause", paused ? "Pause schedules" : "Unpause schedules");
    cmd->add_option("NAMES", f.names, "Schedule names");
    bool_flag(cmd, "--all", f.all, paused ? "Pause all schedules." : "Unpause all schedules.");
    selector_flag(cmd, f.selector, "Schedules matching this label selector.");
    skip_immediately_flag(cmd, f.skip);
    cmd->callback([&f, &cli, paused] {
      auto skip = skip_immediately(f.skip);
      cli.run([&f, paused, skip](Session& s) {
        return schedule_set_paused(s, f.names, f.all, f.selector, paused, skip, std::cout);
      });
    });
  }
}

}  // namespace arca::cli
