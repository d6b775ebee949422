// Registers the day-two commands (schedule; see day2_commands.h) on the CLI11 tree built in main.cc.
#include "cli/day2_commands.h"

#include <CLI/CLI.hpp>

#include "controller/metrics.h"
#include "util/duration.h"

#include <iostream>
#include <memory>
#include <tuple>

namespace arca::cli {
namespace {

// Flags and values of one command line; alive for the whole run (CLI11 writes into them while parsing).
struct Day2State {
  ScheduleCreateOptions schedule;
  std::vector<std::string> names, inc_ns, exc_ns, inc_res, exc_res, labels, annotations, icr, snap, skip;
  std::string selector, output = "table";
  bool all = false, confirm = false;
  InstallCommandOptions install;
  std::vector<std::string> bsl_config, vsl_config, pod_annotations, pod_labels, sa_annotations;
  std::vector<std::string> use_volume_snapshots;
  bool force = false, client_only = false;
  LocationSetOptions location_set;
  SnapshotLocationCreateOptions snapshot_location;
  std::vector<std::string> vsl_labels;
  std::string timeout = "5s";
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
  for (auto [flag, into, period] : {std::tuple{"--keep-hourly", &o.keep_hourly, "hours"}, std::tuple{"--keep-daily", &o.keep_daily, "days"},
                                    std::tuple{"--keep-weekly", &o.keep_weekly, "weeks"}, std::tuple{"--keep-monthly", &o.keep_monthly, "months"},
                                    std::tuple{"--keep-yearly", &o.keep_yearly, "years"}})
    create->add_option(flag, *into,
                       std::string("arca: keep the newest Completed backup of each of the last N ") + period +
                           " (UTC); with any --keep-<period>, these rules replace the TTL for Completed backups");
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

// Completes main.cc's `install` (which knows only --crds-only) with Velero's flags, and adds `uninstall`.
void add_install_commands(CLI::App& app, const Globals& globals, std::function<int()>& action, Day2State& st) {
  auto* install = app.get_subcommand("install");
  install->description("Install arca (Velero-compatible): namespace, CRDs, RBAC, credentials, locations, server");
  auto& o = st.install;
  auto& r = o.resources;
  install->add_option("--provider", r.provider, "Provider name for backup and volume storage (aws, azure, local)");
  install->add_option("--bucket", r.bucket, "Name of the object storage bucket where backups should be stored");
  install->add_option("--prefix", r.prefix, "Prefix under which all Velero data should be stored within the bucket");
  install->add_option("--secret-file", o.secret_file, "File containing credentials for backup and volume provider");
  install->add_flag("--no-secret", r.no_secret, "Do not create a cloud-credentials secret");
  install->add_flag("--no-default-backup-location", r.no_default_backup_location, "Do not create a default backup location");
  install->add_option("--backup-location-config", st.bsl_config, "Configuration for the backup location (local: root=DIR)");
  install->add_option("--snapshot-location-config", st.vsl_config, "Configuration for the volume snapshot location");
  install->add_flag("--use-volume-snapshots{true}", st.use_volume_snapshots, "Whether or not to create snapshot location (default true)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  install->add_option("--image", r.image, "Image to use for the server pod (default " + install::default_image() + ")");
  install->add_option("--pod-annotations", st.pod_annotations, "Annotations to add to the server pod");
  install->add_option("--pod-labels", st.pod_labels, "Labels to add to the server pod");
  install->add_option("--sa-annotations", st.sa_annotations, "Annotations to add to the service account");
  install->add_option("--service-account-name", r.service_account_name, "ServiceAccount to use instead of creating one");
  install->add_option("--velero-pod-cpu-request", r.cpu_request, "CPU request for the server pod");
  install->add_option("--velero-pod-mem-request", r.memory_request, "Memory request for the server pod");
  install->add_option("--velero-pod-cpu-limit", r.cpu_limit, "CPU limit for the server pod");
  install->add_option("--velero-pod-mem-limit", r.memory_limit, "Memory limit for the server pod");
  install->add_option("--features", r.features,
                      "Comma separated list of Velero feature flags to be set on the Velero deployment and the "
                      "node-agent daemonset, if node-agent is enabled");
  install->add_flag("--dry-run", o.dry_run, "Generate resources, but don't send them to the cluster (use with -o)");
  install->add_option("-o,--output", o.output, "Print the resources as json or yaml");
  install->callback([&st, &globals, &action, install] {
    bool crds_only = install->get_option("--crds-only")->count() > 0;
    st.install.resources.backup_location_config = parse_map_flag(st.bsl_config, "--backup-location-config");
    st.install.resources.snapshot_location_config = parse_map_flag(st.vsl_config, "--snapshot-location-config");
    st.install.resources.pod_annotations = parse_map_flag(st.pod_annotations, "--pod-annotations");
    st.install.resources.pod_labels = parse_map_flag(st.pod_labels, "--pod-labels");
    st.install.resources.service_account_annotations = parse_map_flag(st.sa_annotations, "--sa-annotations");
    auto use = parse_optional_bool(st.use_volume_snapshots, "--use-volume-snapshots");
    st.install.resources.use_volume_snapshots = use.value_or(true);
    action = [&st, &globals, crds_only] {
      Session s(globals);
      return crds_only ? install_crds(s, std::cout) : cli::install(s, st.install, std::cout);
    };
  });

  auto* uninstall = app.add_subcommand("uninstall", "Uninstall arca: its namespace, ClusterRoleBinding and CRDs");
  uninstall->add_flag("--force", st.force, "Uninstall without asking for confirmation");
  uninstall->callback([&st, &globals, &action] {
    action = [&st, &globals] {
      Session s(globals);
      return cli::uninstall(s, st.force, std::cout);
    };
  });
}

void add_version_command(CLI::App& app, const Globals& globals, std::function<int()>& action, Day2State& st) {
  auto* version = app.add_subcommand("version", "Print the arca version and associated image");
  version->add_flag("--client-only", st.client_only, "Only get arca client version, not server version");
  version->add_option("--timeout", st.timeout, "Maximum time to wait for server version to be reported");
  version->callback([&st, &globals, &action] {
    auto timeout = std::chrono::duration_cast<std::chrono::seconds>(parse_duration(st.timeout));
    action = [&st, &globals, timeout] {
      Session s(globals);
      return cli::version(s, st.client_only, timeout, std::cout);
    };
  });
}

void add_location_commands(CLI::App& app, const Globals& globals, std::function<int()>& action, Day2State& st) {
  auto run = [&globals, &action](std::function<int(Session&)> work) {
    action = [&globals, work] {
      Session s(globals);
      return work(s);
    };
  };
  auto* bsl = app.get_subcommand("backup-location");
  auto* set = bsl->add_subcommand("set", "Set specific features for a backup storage location");
  set->add_option("NAME", st.location_set.name, "Location name")->required();
  set->add_flag("--default", st.location_set.is_default, "Sets this location as the default backup storage location");
  set->add_option("--credential", st.location_set.credential, "The credential to use: SECRET_NAME=KEY");
  set->add_option("--cacert", st.location_set.cacert, "File containing a certificate bundle to use when verifying TLS connections");
  set->callback([&st, run] { run([&st](Session& s) { return location_set(s, st.location_set, std::cout); }); });
  auto* del = bsl->add_subcommand("delete", "Delete backup storage locations");
  del->add_option("NAMES", st.names, "Location names");
  del->add_flag("--all", st.all, "Delete all backup storage locations");
  del->add_flag("--confirm", st.confirm, "Confirm deletion");
  del->callback([&st, run] { run([&st](Session& s) { return location_delete(s, st.names, st.all, st.confirm, std::cout); }); });

  auto* vsl = app.add_subcommand("snapshot-location", "Work with snapshot locations")->require_subcommand(1);
  auto& o = st.snapshot_location;
  auto* create = vsl->add_subcommand("create", "Create a volume snapshot location");
  create->add_option("NAME", o.name, "Location name")->required();
  create->add_option("--provider", o.provider, "Name of the volume snapshot provider (e.g. aws, azure, gcp)");
  create->add_option("--config", st.vsl_config, "Configuration key-value pairs");
  create->add_option("--labels", st.vsl_labels, "Labels to apply to the volume snapshot location");
  create->add_option("--credential", o.credential, "The credential to use: SECRET_NAME=KEY");
  create->add_option("-o,--output", o.output, "Print the location as json or yaml instead of creating it");
  create->callback([&st, run] {
    st.snapshot_location.config = parse_map_flag(st.vsl_config, "--config");
    st.snapshot_location.labels = parse_map_flag(st.vsl_labels, "--labels");
    run([&st](Session& s) { return snapshot_location_create(s, st.snapshot_location, std::cout); });
  });
  auto* get = vsl->add_subcommand("get", "Get snapshot locations");
  get->add_option("NAMES", st.names, "Location names");
  get->add_option("-o,--output", st.output, "Output display format: table, json or yaml");
  get->callback([&st, run] { run([&st](Session& s) { return snapshot_location_get(s, st.names, st.output, std::cout); }); });
}

void add_client_commands(CLI::App& app, std::function<int()>& action, Day2State& st) {
  // Namespace precedence: -n > config file > $VELERO_NAMESPACE (main.cc's default) > velero.
  auto config = read_client_config(std::cerr);
  if (auto ns = config.find("namespace"); ns != config.end() && !ns->second.empty())
    app.get_option("--namespace")->default_val(ns->second);

  auto* client = app.add_subcommand("client", "Arca client related commands")->require_subcommand(1);
  auto* config_cmd = client->add_subcommand("config", "Get and set client configuration file values")->require_subcommand(1);
  auto* set = config_cmd->add_subcommand("set", "Set client configuration file values");
  set->add_option("KEY=VALUE", st.names, "Values to set")->required();
  set->callback([&st, &action] { action = [&st] { return client_config_set(st.names, std::cout, std::cerr); }; });
  auto* get = config_cmd->add_subcommand("get", "Get client configuration file values");
  get->add_option("KEY", st.names, "Keys to show (all when none)");
  get->callback([&st, &action] { action = [&st] { return client_config_get(st.names, std::cout, std::cerr); }; });
}

// Every command path ("arca", "arca backup", "arca backup create", ...) with what may follow it.
void completion_tree(const CLI::App& command, const std::string& path, CompletionTree& tree) {
  auto& entry = tree[path];
  for (const auto* sub : command.get_subcommands({})) {
    entry.words.push_back({sub->get_name(), sub->get_description(), "", false});
    completion_tree(*sub, path + " " + sub->get_name(), tree);
  }
  for (const auto* option : command.get_options({})) {
    const auto& longs = option->get_lnames();
    const auto& shorts = option->get_snames();
    for (size_t i = 0; i < longs.size(); ++i)
      entry.flags.push_back({longs[i], option->get_description(), i == 0 && !shorts.empty() ? shorts[0] : "",
                             option->get_expected_min() > 0});
  }
}

void add_completion_command(CLI::App& app, std::function<int()>& action) {
  auto* completion = app.add_subcommand("completion", "Output shell completion code for the specified shell (bash, zsh or fish)");
  static std::string shell;
  completion->add_option("SHELL", shell, "bash, zsh or fish")->required()->check(CLI::IsMember(completion_shells()));
  completion->callback([&app, &action] {
    action = [&app] {
      CompletionTree tree;
      completion_tree(app, "arca", tree);
      for (const auto& name : completion_shells()) tree["arca completion"].words.push_back({name, name + " completion", "", false});
      std::cout << completion_script(tree, shell);
      return 0;
    };
  });
}

}  // namespace

void add_day2_commands(CLI::App& app, const Globals& globals, std::function<int()>& action) {
  static Day2State state;  // one command line per process
  add_schedule_commands(app, globals, action, state);
  add_install_commands(app, globals, action, state);
  add_version_command(app, globals, action, state);
  add_location_commands(app, globals, action, state);
  add_client_commands(app, action, state);
  add_completion_command(app, action);
  app.get_subcommand("server")
      ->add_option_function<std::string>("--metrics-address", controller::set_metrics_address,
                                         "The address to expose prometheus metrics")
      ->default_str(controller::metrics_address());
}

}  // namespace arca::cli
