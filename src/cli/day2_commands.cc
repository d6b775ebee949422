// Registers the day-two commands (schedule; see day2_commands.h) on the CLI11 tree built in main.cc.
#include "cli/day2_commands.h"

#include <CLI/CLI.hpp>

#include "controller/metrics.h"

#include <iostream>
#include <memory>

namespace arca::cli {
namespace {

// Flags and values of one command line; alive for the whole run (CLI11 writes into them while parsing).
struct Day2State {
  ScheduleCreateOptions schedule;
  std::vector<std::string> names, inc_ns, exc_ns, inc_res, exc_res, labels, annotations, icr, snap, skip;
  std::string selector, output = "table";
  bool all = false, confirm = false;
};

void add_schedule_commands(CLI::App& app, const Globals& globals, std::function<int()>& action, Day2State& st) {
  auto run = [&globals, &action](std::function<int(Session&)> work) {
    action = [&globals, work] {
      Session s(globals);
      return work(s);
    };
  };
  auto* schedule = app.add_subcommand("schedule", "Work with schedules")->require_subcommand(1);

  auto* create = schedule->add_subcommand("create", "Create a schedule");
  auto& o = st.schedule;
  auto& t = o.template_options;
  create->add_option("NAME", o.name, "Schedule name")->required();
  create->add_option("--schedule", o.schedule, "A cron expression specifying a recurring schedule for this backup to run");
  create->add_option("--ttl", t.ttl, "How long before the backup can be garbage collected");
  create->add_option("--include-namespaces", st.inc_ns, "Namespaces to include in the backup (use '*' for all namespaces)");
  create->add_option("--exclude-namespaces", st.exc_ns, "Namespaces to exclude from the backup");
  create->add_option("--include-resources", st.inc_res, "Resources to include in the backup, formatted as resource.group");
  create->add_option("--exclude-resources", st.exc_res, "Resources to exclude from the backup, formatted as resource.group");
  create->add_flag("--include-cluster-resources{true}", st.icr, "Include cluster-scoped resources in the backup")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  create->add_flag("--snapshot-volumes{true}", st.snap, "Take snapshots of PersistentVolumes as part of the backup")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  create->add_option("--labels", st.labels, "Labels to apply to the schedule and its backups");
  create->add_option("--annotations", st.annotations, "Annotations (accepted, not applied, as Velero)");
  create->add_option("-l,--selector", t.selector, "Only back up resources matching this label selector");
  create->add_option("--storage-location", t.storage_location, "Location in which to store the backup");
  create->add_flag("--use-owner-references-in-backup", o.use_owner_references,
                   "Use the schedule as the owner reference of its backups (deleting the schedule deletes them)");
  create->add_flag("--paused", o.paused, "Create the schedule paused");
  create->add_flag("--skip-immediately{true}", st.skip, "Skip the next scheduled backup immediately")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  create->add_option("--keep-last", o.keep_last,
                     "arca: never let expiration delete the N newest Completed backups of this schedule");
  create->add_option("-o,--output", o.output, "Print the schedule as json or yaml instead of creating it");
  create->callback([&st, run] {
    auto& t = st.schedule.template_options;
    t.include_namespaces = last_csv(st.inc_ns);
    t.exclude_namespaces = last_csv(st.exc_ns);
    t.include_resources = last_csv(st.inc_res);
    t.exclude_resources = last_csv(st.exc_res);
    t.include_cluster_resources = parse_optional_bool(st.icr, "--include-cluster-resources");
    t.snapshot_volumes = parse_optional_bool(st.snap, "--snapshot-volumes");
    t.labels = parse_map_flag(st.labels, "--labels");
    st.schedule.skip_immediately = parse_optional_bool(st.skip, "--skip-immediately");
    run([&st](Session& s) { return schedule_create(s, st.schedule, std::cout); });
  });

  auto* get = schedule->add_subcommand("get", "Get schedules");
  get->add_option("NAMES", st.names, "Schedule names");
  get->add_option("-l,--selector", st.selector, "Only show items matching this label selector");
  get->add_option("-o,--output", st.output, "Output display format: table, json or yaml");
  get->callback([&st, run] { run([&st](Session& s) { return schedule_get(s, st.names, st.selector, st.output, std::cout); }); });

  auto* describe = schedule->add_subcommand("describe", "Describe schedules");
  describe->add_option("NAMES", st.names, "Schedule names");
  describe->callback([&st, run] { run([&st](Session& s) { return schedule_describe(s, st.names, std::cout); }); });

  auto* del = schedule->add_subcommand("delete", "Delete schedules");
  del->add_option("NAMES", st.names, "Schedule names");
  del->add_flag("--all", st.all, "Delete all schedules");
  del->add_flag("--confirm", st.confirm, "Confirm deletion");
  del->callback([&st, run] {
    run([&st](Session& s) { return schedule_delete(s, st.names, st.all, st.confirm, std::cout); });
  });

  for (bool paused : {true, false}) {
    auto* cmd = schedule->add_subcommand(paused ? "pause" : "unpause", paused ? "Pause schedules" : "Unpause schedules");
    cmd->add_option("NAMES", st.names, "Schedule names");
    cmd->add_flag("--all", st.all, "All schedules");
    cmd->add_option("-l,--selector", st.selector, "Schedules matching this label selector");
    cmd->add_flag("--skip-immediately{true}", st.skip, "Skip the next scheduled backup immediately")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    cmd->callback([&st, run, paused] {
      auto skip = parse_optional_bool(st.skip, "--skip-immediately");
      run([&st, paused, skip](Session& s) {
        return schedule_set_paused(s, st.names, st.all, st.selector, paused, skip, std::cout);
      });
    });
  }
}

}  // namespace

void add_day2_commands(CLI::App& app, const Globals& globals, std::function<int()>& action) {
  static Day2State state;  // one command line per process
  add_schedule_commands(app, globals, action, state);
  app.get_subcommand("server")
      ->add_option_function<std::string>("--metrics-address", controller::set_metrics_address,
                                         "The address to expose prometheus metrics")
      ->default_str(controller::metrics_address());
}

}  // namespace arca::cli
