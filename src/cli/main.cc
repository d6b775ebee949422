// `arca`: the command tree (CLI11, kept in this one translation unit). Parsing only; the work is in
// commands.cc and controller/server.cc. Errors print one line, "An error occurred: ...", and exit 1.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "cli/day2_commands.h"
#include "console/console.h"
#include "controller/server.h"
#include "util/duration.h"
#include "util/logging.h"

namespace arca::cli {  // restore_cmd.cc
void add_restore_commands(CLI::App& app, const Globals& globals, std::function<int()>& action);
}  // namespace arca::cli

namespace {

using namespace arca;

// Velero's tri-state flags: bare means true, `--flag=false` false, absent unset.
CLI::Option* optional_bool(CLI::App* app, const std::string& name, std::vector<std::string>& into, const std::string& help) {
  return app->add_flag(name + "{true}", into, help)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"arca: back up and restore Kubernetes cluster resources (Velero-compatible)", "arca"};
  app.require_subcommand(1);
  // Global flags may follow the subcommand, as cobra's persistent flags may.
  app.fallthrough();
  cli::Globals globals;
  const char* env_ns = std::getenv("VELERO_NAMESPACE");
  globals.namespace_name = env_ns && *env_ns ? env_ns : "velero";
  app.add_option("--kubeconfig", globals.kubeconfig, "Path to the kubeconfig file to use to talk to the Kubernetes apiserver");
  app.add_option("--kubecontext", globals.kubecontext, "The context to use to talk to the Kubernetes apiserver");
  app.add_option("-n,--namespace", globals.namespace_name, "The namespace in which Velero should operate");
  std::vector<std::string> features;
  app.add_option("--features", features,
                 "Comma-separated list of features to enable for this Velero process. Combines with values from "
                 "$HOME/.config/velero/config.json if present");
  std::function<int()> action;
  auto session = [&] { return cli::Session(globals); };

  // ---- backup ----------------------------------------------------------------------------------------------
  auto* backup = app.add_subcommand("backup", "Work with backups")->require_subcommand(1);

  auto* create = backup->add_subcommand("create", "Create a backup");
  cli::BackupCreateOptions co;
  std::vector<std::string> inc_ns, exc_ns, inc_res, exc_res, inc_cs, exc_cs, inc_nss, exc_nss, labels, annotations,
      icr, snap, fsb, smd;
  create->add_option("NAME", co.name, "Backup name");
  create->add_option("--ttl", co.ttl, "How long before the backup can be garbage collected");
  create->add_option("--include-namespaces", inc_ns, "Namespaces to include in the backup (use '*' for all namespaces)");
  create->add_option("--exclude-namespaces", exc_ns, "Namespaces to exclude from the backup");
  create->add_option("--include-resources", inc_res, "Resources to include in the backup, formatted as resource.group");
  create->add_option("--exclude-resources", exc_res, "Resources to exclude from the backup, formatted as resource.group");
  create->add_option("--include-cluster-scoped-resources", inc_cs, "Cluster-scoped resources to include");
  create->add_option("--exclude-cluster-scoped-resources", exc_cs, "Cluster-scoped resources to exclude");
  create->add_option("--include-namespace-scoped-resources", inc_nss, "Namespaced resources to include");
  create->add_option("--exclude-namespace-scoped-resources", exc_nss, "Namespaced resources to exclude");
  optional_bool(create, "--include-cluster-resources", icr, "Include cluster-scoped resources in the backup");
  optional_bool(create, "--snapshot-volumes", snap, "Take snapshots of PersistentVolumes as part of the backup");
  optional_bool(create, "--default-volumes-to-fs-backup", fsb, "Use pod volume file system backup by default");
  optional_bool(create, "--snapshot-move-data", smd, "Move snapshot data to the backup storage");
  create->add_option("--labels", labels, "Labels to apply to the backup");
  create->add_option("--annotations", annotations, "Annotations to apply to the backup");
  create->add_option("-l,--selector", co.selector, "Only back up resources matching this label selector");
  create->add_option("--or-selector", co.or_selector, "Back up resources matching at least one of these selectors ('a=b or c=d')");
  create->add_option("--storage-location", co.storage_location, "Location in which to store the backup");
  create->add_option("--volume-snapshot-locations", co.volume_snapshot_locations, "Locations for volume snapshots")
      ->delimiter(',');
  create->add_option("--ordered-resources", co.ordered_resources, "Mapping Kinds to an ordered list of specific resources");
  create->add_option("--from-schedule", co.from_schedule, "Create a backup from the template of an existing schedule");
  create->add_option("--data-mover", co.data_mover, "Data mover for the backup");
  create->add_option("--csi-snapshot-timeout", co.csi_snapshot_timeout, "How long to wait for CSI snapshots");
  create->add_option("--item-operation-timeout", co.item_operation_timeout, "How long to wait for async plugin operations");
  create->add_option("--resource-policies-configmap", co.resource_policies_configmap,
                     "ConfigMap in the server's namespace holding the backup's resource policies");
  create->add_option("--parallel-files-upload", co.parallel_files_upload,
                     "Number of files uploaded simultaneously by file system backups");
  create->add_flag("-w,--wait", co.wait, "Wait for the operation to complete");
  create->add_option("-o,--output", co.output, "Print the backup as json or yaml instead of creating it");
  create->callback([&] {
    co.include_namespaces = cli::last_csv(inc_ns);
    co.exclude_namespaces = cli::last_csv(exc_ns);
    co.include_resources = cli::last_csv(inc_res);
    co.exclude_resources = cli::last_csv(exc_res);
    co.include_cluster_scoped = cli::last_csv(inc_cs);
    co.exclude_cluster_scoped = cli::last_csv(exc_cs);
    co.include_namespace_scoped = cli::last_csv(inc_nss);
    co.exclude_namespace_scoped = cli::last_csv(exc_nss);
    co.include_cluster_resources = cli::parse_optional_bool(icr, "--include-cluster-resources");
    co.snapshot_volumes = cli::parse_optional_bool(snap, "--snapshot-volumes");
    co.default_volumes_to_fs_backup = cli::parse_optional_bool(fsb, "--default-volumes-to-fs-backup");
    co.snapshot_move_data = cli::parse_optional_bool(smd, "--snapshot-move-data");
    co.labels = cli::parse_map_flag(labels, "--labels");
    co.annotations = cli::parse_map_flag(annotations, "--annotations");
    action = [&] {
      auto s = session();
      return cli::backup_create(s, co, std::cout);
    };
  });

  std::vector<std::string> names;
  std::string selector, output = "table";
  auto* get = backup->add_subcommand("get", "Get backups");
  get->add_option("NAMES", names, "Backup names");
  get->add_option("-l,--selector", selector, "Only show items matching this label selector");
  get->add_option("-o,--output", output, "Output display format: table, json or yaml");
  get->callback([&] {
    action = [&] {
      auto s = session();
      return cli::backup_get(s, names, selector, output, std::cout);
    };
  });

  bool details = false;
  auto* describe = backup->add_subcommand("describe", "Describe backups");
  describe->add_option("NAMES", names, "Backup names");
  describe->add_flag("--details", details, "Display additional detail in the command output");
  describe->callback([&] {
    action = [&] {
      auto s = session();
      return cli::backup_describe(s, names, details, std::cout);
    };
  });

  std::string name, timeout = "1m";
  cli::DownloadOptions dl;
  auto download_flags = [&](CLI::App* cmd) {
    cmd->add_option("--timeout", timeout, "How long to wait to receive the file");
    cmd->add_flag("--insecure-skip-tls-verify", dl.insecure_skip_tls_verify, "Do not verify the server's certificate");
    cmd->add_option("--cacert", dl.cacert, "Path to a certificate bundle to verify the storage server");
  };
  auto parse_timeout = [&] { dl.timeout = std::chrono::duration_cast<std::chrono::seconds>(parse_duration(timeout)); };
  auto* logs = backup->add_subcommand("logs", "Get backup logs");
  logs->add_option("BACKUP", name, "Backup name")->required();
  download_flags(logs);
  logs->callback([&] {
    parse_timeout();
    action = [&] {
      auto s = session();
      return cli::backup_logs(s, name, dl, std::cout);
    };
  });

  std::string path;
  bool force = false;
  auto* download = backup->add_subcommand("download", "Download all Kubernetes manifests for a backup");
  download->add_option("NAME", name, "Backup name")->required();
  download->add_option("-o,--output", path, "Path to output file (default <NAME>-data.tar.gz in the current directory)");
  download->add_flag("--force", force, "Forces the download and will overwrite file if it exists already");
  download_flags(download);
  download->callback([&] {
    parse_timeout();
    action = [&] {
      auto s = session();
      return cli::backup_download(s, name, path, force, dl, std::cout);
    };
  });

  bool all = false, confirm = false;
  auto* del = backup->add_subcommand("delete", "Delete backups");
  del->add_option("NAMES", names, "Backup names");
  del->add_flag("--all", all, "Delete all backups");
  del->add_flag("--confirm", confirm, "Confirm deletion");
  del->callback([&] {
    action = [&] {
      auto s = session();
      return cli::backup_delete(s, names, all, confirm, std::cout);
    };
  });

  // ---- backup-location -------------------------------------------------------------------------------------
  auto* bsl = app.add_subcommand("backup-location", "Work with backup storage locations")->require_subcommand(1);
  cli::LocationCreateOptions lo;
  std::vector<std::string> bsl_config, bsl_labels;
  auto* bsl_create = bsl->add_subcommand("create", "Create a backup storage location");
  bsl_create->add_option("NAME", lo.name, "Location name")->required();
  bsl_create->add_option("--provider", lo.provider, "Name of the backup storage provider (e.g. aws, azure, local)")->required();
  bsl_create->add_option("--bucket", lo.bucket, "Name of the object storage bucket where backups should be stored")->required();
  bsl_create->add_option("--prefix", lo.prefix, "Prefix under which all Velero data should be stored");
  bsl_create->add_option("--config", bsl_config, "Configuration key-value pairs");
  bsl_create->add_option("--labels", bsl_labels, "Labels to apply to the backup storage location");
  bsl_create->add_option("--credential", lo.credential, "The credential to use: SECRET_NAME=KEY");
  bsl_create->add_flag("--default", lo.is_default, "Sets this new location to be the new default backup storage location");
  bsl_create->add_option("--access-mode", lo.access_mode, "Access mode: ReadWrite or ReadOnly");
  bsl_create->add_option("--validation-frequency", lo.validation_frequency, "How often to verify the location is valid");
  bsl_create->add_option("--backup-sync-period", lo.backup_sync_period, "How often to sync backups from object storage");
  bsl_create->add_option("-o,--output", lo.output, "Print the location as json or yaml instead of creating it");
  bsl_create->callback([&] {
    lo.config = cli::parse_map_flag(bsl_config, "--config");
    lo.labels = cli::parse_map_flag(bsl_labels, "--labels");
    action = [&] {
      auto s = session();
      return cli::location_create(s, lo, std::cout);
    };
  });
  auto* bsl_get = bsl->add_subcommand("get", "Get backup storage locations");
  bsl_get->add_option("NAMES", names, "Location names");
  bsl_get->add_option("-o,--output", output, "Output display format: table, json or yaml");
  bsl_get->callback([&] {
    action = [&] {
      auto s = session();
      return cli::location_get(s, names, output, std::cout);
    };
  });

  // ---- install ---------------------------------------------------------------------------------------------
  bool crds_only = false;
  auto* install = app.add_subcommand("install", "Install the velero.io CRDs");
  install->add_flag("--crds-only", crds_only, "Only install the CRDs (the full install is not available yet)");
  install->callback([&] {
    if (!crds_only) throw CLI::ValidationError("install", "only `arca install --crds-only` is available");
    action = [&] {
      auto s = session();
      return cli::install_crds(s, std::cout);
    };
  });

  // ---- server ----------------------------------------------------------------------------------------------
  controller::ServerOptions so;
  std::string log_level = "info", log_format = "text", ttl = "720h", validation = "1m";
  std::vector<std::string> disabled, default_vsls;
  auto* server = app.add_subcommand("server", "Run the arca server");
  server->add_option("--log-level", log_level, "The level at which to log: trace, debug, info, warning, error, fatal, panic");
  server->add_option("--log-format", log_format, "The format for log output: text, json");
  server->add_option("--default-backup-ttl", ttl, "How long to wait by default before backups can be garbage collected");
  server->add_option("--default-backup-storage-location", so.settings.default_backup_storage_location,
                     "Name of the default backup storage location");
  server->add_option("--store-validation-frequency", validation, "How often to verify if the storage is valid (0 disables)");
  server->add_option("--client-qps", so.client_qps,
                     "Maximum number of requests per second to the Kubernetes API (default 10000, not Velero's 100, "
                     "which caps a restore at ~100 objects/s: the API server is protected by bounded concurrency "
                     "instead, at most 16 requests of a restore in flight, so a slow server slows arca down)");
  server->add_option("--client-burst", so.client_burst, "Maximum number of requests in a burst (default 1000)");
  server->add_option("--client-page-size", so.settings.client_page_size, "Page size of LIST requests (0: no paging)");
  server->add_option("--disable-controllers", disabled, "Controllers to disable")->delimiter(',');
  console::add_console_flags(*server, so);
  server->add_option("--default-volume-snapshot-locations", default_vsls,
                     "Volume snapshot location per provider for backups that name none (provider1:name1,provider2:name2)");
  server->callback([&] {
    action = [&] {
      setup_logging({log_level, parse_log_format(log_format)});
      so.kube.kubeconfig = globals.kubeconfig;
      so.kube.context = globals.kubecontext;
      so.settings.namespace_name = globals.namespace_name;
      so.settings.default_backup_ttl = parse_duration(ttl);
      so.settings.store_validation_frequency = parse_duration(validation);
      so.disabled_controllers = disabled;
      so.settings.features = cli::feature_flags(cli::read_client_config(std::cerr)["features"], features);
      so.settings.default_volume_snapshot_locations =
          cli::parse_map_flag(default_vsls, "--default-volume-snapshot-locations", ':');
      controller::SystemClock clock;
      controller::run_server(so, clock);
      return 0;
    };
  });

  cli::add_day2_commands(app, globals, action);
  cli::add_restore_commands(app, globals, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "An error occurred: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "An error occurred: " << e.what() << "\n";
    return 1;
  }
  try {
    return action();
  } catch (const std::exception& e) {
    std::cerr << "An error occurred: " << e.what() << "\n";
    return 1;
  }
}
