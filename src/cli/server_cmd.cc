// `arca server` with every flag of `velero server` (Velero's pkg/cmd/server/config/config.go BindFlags), Velero's
// defaults, so that a Deployment written by `velero install` runs arca after only its image is changed. Flags of
// features arca has not built (plugins, volume data, async item operations, repositories) are accepted and each
// logs one line at start when given. `arca node-agent server` is in nodeagent_cmd.cc.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/app.h"
#include "cli/day2_commands.h"
#include "console/console.h"
#include "controller/server.h"
#include "install/resources.h"
#include "util/duration.h"
#include "util/logging.h"

namespace arca::cli {
namespace {

struct ServerFlags {
  controller::ServerOptions options;
  std::string log_level = "info", log_format = "text", plugin_dir = "/plugins", backup_sync_period = "1m",
              fs_backup_timeout = "4h0m0s", restore_priorities, store_validation = "1m", profiler_address = "localhost:6060",
              terminating_timeout = "10m0s", default_ttl = "720h0m0s", vgs_label_key = "velero.io/volume-group",
              repo_maintain_frequency = "0s", gc_frequency = "0s", item_operation_sync = "0s", uploader_type = "kopia",
              item_operation_timeout = "4h0m0s", resource_timeout = "10m0s", backup_repository_configmap,
              repo_maintenance_job_configmap, default_resource_modifier_configmap;
  std::vector<std::string> disabled, default_vsls;
  bool restore_only = false, default_volumes_to_fs_backup = false, default_snapshot_move_data = false,
       disable_informer_cache = false, schedule_skip_immediately = false;
  int max_k8s_connections = 30, item_block_workers = 1, concurrent_backups = 1;
  // Flags older `velero install` versions (1.14–1.16) wrote on the server; Velero 1.18 reads them from the
  // repository-maintenance ConfigMap instead.
  int keep_latest_maintenance_jobs = 0;
  std::string maintenance_cpu_request, maintenance_mem_request, maintenance_cpu_limit, maintenance_mem_limit;
};

// One line per given flag whose feature arca has not built.
void report_unbuilt(CLI::App* cmd, const ServerFlags& f) {
  auto given = [cmd](const char* name) { return cmd->get_option(name)->count() > 0; };
  const std::pair<const char*, const char*> volume_flags[] = {
      {"--volume-group-snapshot-label-key", "CSI volume group snapshots"},
      {"--item-operation-sync-frequency", "asynchronous plugin item operations"},
      {"--default-item-operation-timeout", "asynchronous plugin item operations"},
      {"--backup-repository-configmap", "per-repository settings from a ConfigMap"},
      {"--repo-maintenance-job-configmap", "backup repository maintenance"},
      {"--keep-latest-maintenance-jobs", "backup repository maintenance"},
      {"--maintenance-job-cpu-request", "backup repository maintenance"},
      {"--maintenance-job-mem-request", "backup repository maintenance"},
      {"--maintenance-job-cpu-limit", "backup repository maintenance"},
      {"--maintenance-job-mem-limit", "backup repository maintenance"},
  };
  for (const auto& [flag, feature] : volume_flags)
    if (given(flag)) spdlog::warn("{}: {} is not built in arca yet; the flag has no effect", flag, feature);
  if (given("--uploader-type") && f.uploader_type == "kopia")
    spdlog::warn("--uploader-type=kopia: arca writes restic-format repositories; pod volume backups are made with "
                 "uploaderType restic, and kopia repositories are neither read nor written");
  if (given("--plugin-dir"))
    spdlog::info("--plugin-dir {}: arca runs no plugin binaries; its object-store providers are built in", f.plugin_dir);
  if (given("--profiler-address"))
    spdlog::info("--profiler-address {}: arca serves no pprof profiler", f.profiler_address);
  if (f.disable_informer_cache)
    spdlog::info("--disable-informer-cache: arca's restore reads existing objects with GET already; nothing to disable");
  if (given("--max-concurrent-k8s-connections"))
    spdlog::info("--max-concurrent-k8s-connections {}: arca bounds a restore at 16 requests in flight instead",
                 f.max_k8s_connections);
  if (given("--item-block-worker-count") && f.item_block_workers != 1)
    spdlog::info("--item-block-worker-count {}: arca's backup engine sizes its own workers", f.item_block_workers);
  if (f.concurrent_backups > 1)
    spdlog::warn("--concurrent-backups {}: arca runs one backup at a time", f.concurrent_backups);
}

}  // namespace

void add_server_command(CLI::App& root, Cli& cli) {
  auto& f = cli.make<ServerFlags>();
  auto& so = f.options;
  auto* cmd = root.add_subcommand("server", "Run the arca server");
  string_flag(cmd, "--log-level", f.log_level,
              "The level at which to log. Valid values are trace, debug, info, warning, error, fatal, panic.")
      ->type_name("");
  string_flag(cmd, "--log-format", f.log_format, "The format for log output. Valid values are text, json.")->type_name("");
  string_flag(cmd, "--plugin-dir", f.plugin_dir,
              "Directory containing Velero plugins (arca: accepted; its object-store providers are built in)");
  string_flag(cmd, "--metrics-address", so.metrics_address, "The address to expose prometheus metrics");
  console::add_console_flags(*cmd, so);
  duration_flag(cmd, "--backup-sync-period", f.backup_sync_period,
                "How often to ensure all Velero backups in object storage exist as Backup API objects in the cluster. "
                "This is the default sync period if none is explicitly specified for a backup storage location.");
  duration_flag(cmd, "--fs-backup-timeout", f.fs_backup_timeout,
                "How long pod volume file system backups/restores should be allowed to run before timing out.");
  bool_flag(cmd, "--restore-only", f.restore_only,
            "Run in a mode where only restores are allowed; backups, schedules, and garbage-collection are all "
            "disabled. DEPRECATED: this flag will be removed in v2.0. Use read-only backup storage locations instead.");
  string_slice(cmd, "--disable-controllers", f.disabled,
               "List of controllers to disable on startup. Valid values are backup-queue,backup,backup-operations,"
               "backup-deletion,backup-finalizer,backup-sync,download-request,gc,backup-repo,restore,"
               "restore-operations,schedule,server-status-request,restore-finalizer (arca also: "
               "backup-storage-location)");
  string_flag(cmd, "--restore-resource-priorities", f.restore_priorities,
              "Desired order of resource restores, the priority list contains two parts which are split by \"-\" "
              "element. The resources before \"-\" element are restored first as high priorities, the resources after "
              "\"-\" element are restored last as low priorities, and any resource not in the list will be restored "
              "alphabetically between the high and low priorities.")
      ->type_name("priorities");
  string_flag(cmd, "--default-backup-storage-location", so.settings.default_backup_storage_location,
              "Name of the default backup storage location. DEPRECATED: this flag will be removed in v2.0. Use "
              "\"velero backup-location set --default\" instead.");
  duration_flag(cmd, "--store-validation-frequency", f.store_validation,
                "How often to verify if the storage is valid. Optional. Set this to `0s` to disable sync. Default 1 "
                "minute.");
  cmd->add_option("--client-qps", so.client_qps,
                  "Maximum number of requests per second by the server to the Kubernetes API once the burst limit has "
                  "been reached. arca's default is 10000, not Velero's 100, which caps a restore at ~100 objects/s: "
                  "the API server is protected by bounded concurrency instead, at most 16 requests of a restore in "
                  "flight, so a slow server slows arca down")
      ->type_name("float32")
      ->default_str("10000");
  int_flag(cmd, "--client-burst", so.client_burst,
           "Maximum number of requests by the server to the Kubernetes API in a short period of time (arca's default "
           "1000, not Velero's 100; see --client-qps).");
  int_flag(cmd, "--client-page-size", so.settings.client_page_size,
           "Page size of requests by the server to the Kubernetes API when listing objects during a backup. Set to 0 "
           "to disable paging.");
  string_flag(cmd, "--profiler-address", f.profiler_address,
              "The address to expose the pprof profiler (arca: accepted; it serves no profiler).");
  duration_flag(cmd, "--terminating-resource-timeout", f.terminating_timeout,
                "How long to wait on persistent volumes and namespaces to terminate during a restore before timing "
                "out.");
  duration_flag(cmd, "--default-backup-ttl", f.default_ttl,
                "How long to wait by default before backups can be garbage collected.");
  string_flag(cmd, "--volume-group-snapshot-label-key", f.vgs_label_key,
              "Label key for grouping PVCs into VolumeGroupSnapshot. Default value is 'velero.io/volume-group'");
  duration_flag(cmd, "--default-repo-maintain-frequency", f.repo_maintain_frequency,
                "How often 'maintain' is run for backup repositories by default.");
  duration_flag(cmd, "--garbage-collection-frequency", f.gc_frequency,
                "How often garbage collection is run for expired backups (0s: 1h).");
  duration_flag(cmd, "--item-operation-sync-frequency", f.item_operation_sync,
                "How often to check status on backup/restore operations after backup/restore processing. Default is "
                "10 seconds");
  bool_flag(cmd, "--default-volumes-to-fs-backup", f.default_volumes_to_fs_backup,
            "Backup all volumes with pod volume file system backup by default.");
  string_flag(cmd, "--uploader-type", f.uploader_type,
              "Type of uploader to handle the transfer of data of pod volumes (restic or kopia; arca writes "
              "restic-format repositories)");
  duration_flag(cmd, "--default-item-operation-timeout", f.item_operation_timeout,
                "How long to wait on asynchronous BackupItemActions and RestoreItemActions to complete before timing "
                "out. Default is 4 hours");
  duration_flag(cmd, "--resource-timeout", f.resource_timeout,
                "How long to wait for resource processes which are not covered by other specific timeout parameters. "
                "Default is 10 minutes.");
  int_flag(cmd, "--max-concurrent-k8s-connections", f.max_k8s_connections,
           "Max concurrent connections number that Velero can create with kube-apiserver. Default is 30.");
  bool_flag(cmd, "--default-snapshot-move-data", f.default_snapshot_move_data,
            "Move data by default for all snapshots supporting data movement.");
  bool_flag(cmd, "--disable-informer-cache", f.disable_informer_cache,
            "Disable informer cache for Get calls on restore. Default is false (don't disable).");
  bool_flag(cmd, "--schedule-skip-immediately", f.schedule_skip_immediately,
            "Skip the first scheduled backup immediately after creating a schedule. Default is false (don't skip).");
  map_flag(cmd, "--default-volume-snapshot-locations", f.default_vsls,
           "List of unique volume providers and default volume snapshot location "
           "(provider1:location-01,provider2:location-02,...)");
  string_flag(cmd, "--backup-repository-configmap", f.backup_repository_configmap,
              "The name of ConfigMap containing backup repository configurations.");
  string_flag(cmd, "--repo-maintenance-job-configmap", f.repo_maintenance_job_configmap,
              "The name of ConfigMap containing repository maintenance Job configurations.");
  // Velero 1.19 (pkg/cmd/server/config/config.go).
  string_flag(cmd, "--default-resource-modifier-configmap", f.default_resource_modifier_configmap,
              "The name of a ConfigMap in the Velero namespace containing default resource modifier rules applied to "
              "all restores. Ignored when a per-restore resource modifier is specified.");
  int_flag(cmd, "--item-block-worker-count", f.item_block_workers,
           "Number of worker threads to process ItemBlocks. Default is one. Optional.");
  int_flag(cmd, "--concurrent-backups", f.concurrent_backups,
           "Number of backups to process concurrently. Default is one. Optional.");
  const std::string older = " (written by velero install 1.14-1.16; accepted, repository maintenance is not built)";
  int_flag(cmd, "--keep-latest-maintenance-jobs", f.keep_latest_maintenance_jobs,
           "Number of latest maintenance jobs to keep each repository" + older);
  string_flag(cmd, "--maintenance-job-cpu-request", f.maintenance_cpu_request, "CPU request for maintenance jobs" + older);
  string_flag(cmd, "--maintenance-job-mem-request", f.maintenance_mem_request, "Memory request for maintenance jobs" + older);
  string_flag(cmd, "--maintenance-job-cpu-limit", f.maintenance_cpu_limit, "CPU limit for maintenance jobs" + older);
  string_flag(cmd, "--maintenance-job-mem-limit", f.maintenance_mem_limit, "Memory limit for maintenance jobs" + older);

  cmd->callback([&f, &cli, cmd] {
    auto& so = f.options;
    // Checked before anything starts, each in one line naming the flag.
    static const std::vector<std::string> levels = {"trace", "debug", "info", "warning", "error", "fatal", "panic"};
    if (std::find(levels.begin(), levels.end(), f.log_level) == levels.end())
      throw std::invalid_argument("invalid log level \"" + f.log_level +
                                  "\" (valid: trace, debug, info, warning, error, fatal, panic)");
    if (f.uploader_type != "kopia" && f.uploader_type != "restic")
      throw std::invalid_argument("invalid uploader type '" + f.uploader_type + "', valid upload types are: 'restic', 'kopia'");
    so.settings.default_backup_ttl = parse_duration(f.default_ttl);
    so.settings.store_validation_frequency = parse_duration(f.store_validation);
    so.settings.backup_sync_period = parse_duration(f.backup_sync_period);
    auto gc = parse_duration(f.gc_frequency);
    if (gc < Duration::zero()) throw std::invalid_argument("--garbage-collection-frequency must be non-negative");
    if (gc > Duration::zero()) so.settings.garbage_collection_frequency = gc;  // 0s: Velero's 1h
    so.settings.resource_timeout = parse_duration(f.resource_timeout);
    auto maintain = parse_duration(f.repo_maintain_frequency);
    if (maintain < Duration::zero()) throw std::invalid_argument("--default-repo-maintain-frequency must be non-negative");
    so.settings.default_repo_maintain_frequency = maintain;  // 0s: Velero's week for restic repositories
    so.settings.terminating_resource_timeout = parse_duration(f.terminating_timeout);
    if (!f.restore_priorities.empty()) so.settings.restore_priorities = restore::parse_priorities(f.restore_priorities);
    so.settings.schedule_skip_immediately = f.schedule_skip_immediately;
    so.settings.default_resource_modifier_configmap = f.default_resource_modifier_configmap;
    so.settings.default_volumes_to_fs_backup = f.default_volumes_to_fs_backup;
    so.settings.default_snapshot_move_data = f.default_snapshot_move_data;
    so.settings.restore_helper_image = install::default_image();
    so.settings.fs_backup_timeout = parse_duration(f.fs_backup_timeout);
    if (so.settings.fs_backup_timeout <= Duration::zero())
      throw std::invalid_argument("--fs-backup-timeout must be positive");
    so.settings.default_volume_snapshot_locations =
        parse_map_flag(f.default_vsls, "--default-volume-snapshot-locations", ':');
    so.disabled_controllers = f.disabled;
    so.restore_only = f.restore_only;
    cli.action = [&f, &cli, cmd] {
      auto& so = f.options;
      setup_logging({f.log_level, parse_log_format(f.log_format)});
      report_unbuilt(cmd, f);
      so.kube.kubeconfig = cli.globals.kubeconfig;
      so.kube.context = cli.globals.kubecontext;
      so.settings.namespace_name = cli.globals.namespace_name;
      so.settings.features = feature_flags(read_client_config(std::cerr)["features"], cli.features);
      controller::SystemClock clock;
      controller::run_server(so, clock);
      return 0;
    };
  });
}

}  // namespace arca::cli
