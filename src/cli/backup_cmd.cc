// `arca backup create|get|describe|logs|download|delete`: the flags of Velero's pkg/cmd/cli/backup/*.go; the
// work is in commands.cc.
#include <iostream>

#include "cli/app.h"
#include "util/duration.h"

namespace arca::cli {

void warn_not_built(const std::string& flag, const std::string& feature) {
  std::cerr << "Warning: " << flag << ": " << feature << " is not built in arca yet; the flag has no effect\n";
}

void warn_volume_flags(const BackupCreateOptions& o) {
  if (!o.data_mover.empty() && o.data_mover != "velero") warn_not_built("--data-mover", "a data mover other than the built-in one");
  // CSI snapshots are built (src/csi/); snapshots through a VolumeSnapshotLocation's provider plugin are not.
  if (!o.volume_snapshot_locations.empty())
    warn_not_built("--volume-snapshot-locations", "taking volume snapshots through snapshot location plugins");
  if (o.parallel_files_upload > 0) warn_not_built("--parallel-files-upload", "a per-backup upload parallelism (the node agent's concurrency applies)");
}

void BackupTemplateFlags::bind(CLI::App* cmd) {
  auto& o = options;
  const std::string new_filters =
      " Cannot work with include-resources, exclude-resources and include-cluster-resources.";
  const std::string old_filters =
      " Cannot work with include-cluster-scoped-resources, exclude-cluster-scoped-resources, "
      "include-namespace-scoped-resources and exclude-namespace-scoped-resources.";
  duration_flag(cmd, "--ttl", o.ttl, "How long before the backup can be garbage collected.");
  string_array(cmd, "--include-namespaces", inc_ns, "Namespaces to include in the backup (use '*' for all namespaces).")
      ->default_str("*");
  string_array(cmd, "--exclude-namespaces", exc_ns, "Namespaces to exclude from the backup.");
  string_array(cmd, "--include-resources", inc_res,
               "Resources to include in the backup, formatted as resource.group, such as storageclasses.storage.k8s.io "
               "(use '*' for all resources)." + old_filters);
  string_array(cmd, "--exclude-resources", exc_res,
               "Resources to exclude from the backup, formatted as resource.group, such as "
               "storageclasses.storage.k8s.io." + old_filters);
  string_array(cmd, "--include-cluster-scoped-resources", inc_cs,
               "Cluster-scoped resources to include in the backup, formatted as resource.group, such as "
               "storageclasses.storage.k8s.io(use '*' for all resources)." + new_filters);
  string_array(cmd, "--exclude-cluster-scoped-resources", exc_cs,
               "Cluster-scoped resources to exclude from the backup, formatted as resource.group, such as "
               "storageclasses.storage.k8s.io(use '*' for all resources)." + new_filters);
  string_array(cmd, "--include-namespace-scoped-resources", inc_nss,
               "Namespaced resources to include in the backup, formatted as resource.group, such as "
               "deployments.apps(use '*' for all resources)." + new_filters);
  string_array(cmd, "--exclude-namespace-scoped-resources", exc_nss,
               "Namespaced resources to exclude from the backup, formatted as resource.group, such as "
               "deployments.apps(use '*' for all resources)." + new_filters);
  map_flag(cmd, "--labels", labels, "Labels to apply to the backup.");
  map_flag(cmd, "--annotations", annotations, "Annotations to apply to the backup.");
  string_flag(cmd, "--storage-location", o.storage_location, "Location in which to store the backup.");
  string_slice(cmd, "--volume-snapshot-locations", o.volume_snapshot_locations,
               "List of locations (at most one per provider) where volume snapshots should be stored.");
  selector_flag(cmd, o.selector, "Only back up resources matching this label selector.");
  string_flag(cmd, "--or-selector", o.or_selector,
              "Backup resources matching at least one of the label selector from the list. Label selectors should be "
              "separated by ' or '. For example, foo=bar or app=nginx")
      ->type_name("orLabelSelector");
  string_flag(cmd, "--ordered-resources", o.ordered_resources,
              "Mapping Kinds to an ordered list of specific resources of that Kind.  Resource names are separated by "
              "commas and their names are in format 'namespace/resourcename'. For cluster scope resource, simply use "
              "resource name. Key-value pairs in the mapping are separated by semi-colon.  Example: "
              "'pods=ns1/pod1,ns1/pod2;persistentvolumeclaims=ns1/pvc4,ns1/pvc8'.  Optional.");
  duration_flag(cmd, "--csi-snapshot-timeout", o.csi_snapshot_timeout,
                "How long to wait for CSI snapshot creation before timeout.");
  duration_flag(cmd, "--item-operation-timeout", o.item_operation_timeout,
                "How long to wait for async plugin operations before timeout.");
  optional_bool(cmd, "--snapshot-volumes", snap,
                "Take snapshots of PersistentVolumes as part of the backup. If the parameter is not set, it is treated "
                "as setting to 'true'.");
  optional_bool(cmd, "--snapshot-move-data", smd, "Specify whether snapshot data should be moved");
  optional_bool(cmd, "--include-cluster-resources", icr,
                "Include cluster-scoped resources in the backup." + old_filters);
  optional_bool(cmd, "--default-volumes-to-fs-backup", fsb, "Use pod volume file system backup by default for volumes");
  string_flag(cmd, "--resource-policies-configmap", o.resource_policies_configmap,
              "Reference to the resource policies configmap that backup should use");
  string_flag(cmd, "--data-mover", o.data_mover,
              "Specify the data mover to be used by the backup. If the parameter is not set or set as 'velero', the "
              "built-in data mover will be used");
  int_flag(cmd, "--parallel-files-upload", o.parallel_files_upload,
           "Number of files uploads simultaneously when running a backup. This is only applicable for the kopia "
           "uploader");
  string_flag(cmd, "--backup-type", o.backup_type,
              "Specify how volume data is backed up, with possible values including Full and Incremental.");
  add_output_flags(cmd, output, "");
}

void BackupTemplateFlags::finish() {
  auto& o = options;
  // Velero 1.19 checks the value in the CLI rather than leaving it to the API server's enum.
  if (!o.backup_type.empty() && o.backup_type != "Full" && o.backup_type != "Incremental")
    throw std::invalid_argument("invalid argument \"" + o.backup_type +
                                "\" for \"--backup-type\" flag: must be Full or Incremental");
  o.include_namespaces = last_csv(inc_ns);
  o.exclude_namespaces = last_csv(exc_ns);
  o.include_resources = last_csv(inc_res);
  o.exclude_resources = last_csv(exc_res);
  o.include_cluster_scoped = last_csv(inc_cs);
  o.exclude_cluster_scoped = last_csv(exc_cs);
  o.include_namespace_scoped = last_csv(inc_nss);
  o.exclude_namespace_scoped = last_csv(exc_nss);
  o.include_cluster_resources = parse_optional_bool(icr, "--include-cluster-resources");
  o.snapshot_volumes = parse_optional_bool(snap, "--snapshot-volumes");
  o.default_volumes_to_fs_backup = parse_optional_bool(fsb, "--default-volumes-to-fs-backup");
  o.snapshot_move_data = parse_optional_bool(smd, "--snapshot-move-data");
  o.labels = parse_map_flag(labels, "--labels");
  o.annotations = parse_map_flag(annotations, "--annotations");
  o.output = output.output;
  o.output_flags = output;
}

void define_backup_create(CLI::App* cmd, Cli& cli) {
  auto& f = cli.make<BackupTemplateFlags>();
  cmd->description("Create a backup");
  cmd->add_option("NAME", f.options.name, "Backup name");
  f.bind(cmd);
  bool_flag(cmd, "-w,--wait", f.options.wait, "Wait for the operation to complete.");
  string_flag(cmd, "--from-schedule", f.options.from_schedule,
              "Create a backup from the template of an existing schedule. Cannot be used with any other filters. "
              "Backup name is optional if used.");
  cmd->callback([&f, &cli] {
    f.finish();
    cli.run([&f](Session& s) {
      int code = backup_create(s, f.options, std::cout);
      // Once the request is in (a bad flag stays the one error line): what it asked for that arca lacks.
      if (code == 0 && f.options.output.empty() && f.options.from_schedule.empty()) warn_volume_flags(f.options);
      return code;
    });
  });
}

namespace {

struct TransferFlags {
  std::string name, path, timeout = "1m";
  bool force = false;
  DownloadOptions download;
  void bind_timeout(CLI::App* cmd, const std::string& help) {
    duration_flag(cmd, "--timeout", timeout, help);
    add_tls_flags(cmd, download);
  }
  void finish() {
    download.timeout = std::chrono::duration_cast<std::chrono::seconds>(parse_duration(timeout));
    // The client config's `cacert` is the default --cacert (Velero's pkg/client/config.go).
    if (download.cacert.empty()) download.cacert = read_client_config(std::cerr)["cacert"];
  }
};

}  // namespace

void define_backup_get(CLI::App* cmd, Cli& cli) {
  struct Flags {
    std::vector<std::string> names;
    std::string selector;
    OutputFlags output;
  };
  auto& f = cli.make<Flags>();
  cmd->description("Get backups");
  cmd->add_option("NAMES", f.names, "Backup names");
  selector_flag(cmd, f.selector, "Only show items matching this label selector.");
  add_output_flags(cmd, f.output, "table");
  cmd->callback([&f, &cli] {
    cli.run([&f](Session& s) {
      return backup_get(s, f.names, f.selector, f.output, std::cout);
    });
  });
}

void define_backup_describe(CLI::App* cmd, Cli& cli) {
  struct Flags {
    std::vector<std::string> names;
    std::string selector, output = "plaintext";
    bool details = false;
    DownloadOptions download;
  };
  auto& f = cli.make<Flags>();
  cmd->description("Describe backups");
  cmd->add_option("NAMES", f.names, "Backup names");
  selector_flag(cmd, f.selector, "Only show items matching this label selector.");
  bool_flag(cmd, "--details", f.details, "Display additional detail in the command output.");
  add_tls_flags(cmd, f.download);
  add_decryption_flag(cmd, f.download);
  string_flag(cmd, "-o,--output", f.output,
              "Output display format. Valid formats are 'plaintext, json'. 'json' only applies to a single backup")
      ->check(CLI::IsMember({"plaintext", "json"}));
  cmd->callback([&f, &cli] {
    if (f.download.cacert.empty()) f.download.cacert = read_client_config(std::cerr)["cacert"];
    cli.run([&f](Session& s) {
      return backup_describe(s, f.names, f.selector, f.details, f.output, f.download, std::cout);
    });
  });
}

void define_backup_delete(CLI::App* cmd, Cli& cli) {
  auto& f = cli.make<DeleteFlags>();
  cmd->description("Delete backups");
  add_delete_flags(cmd, f, "backups");
  cmd->callback([&f, &cli] {
    cli.run([&f](Session& s) {
      check_selection(f);
      return backup_delete(s, f.names, f.all, f.selector, f.confirm, std::cout);
    });
  });
}

void add_backup_commands(CLI::App& root, Cli& cli) {
  auto* backup = root.add_subcommand("backup", "Work with backups");
  define_backup_create(backup->add_subcommand("create"), cli);
  define_backup_get(backup->add_subcommand("get"), cli);
  define_backup_describe(backup->add_subcommand("describe"), cli);

  auto& logs = cli.make<TransferFlags>();
  auto* logs_cmd = backup->add_subcommand("logs", "Get backup logs");
  logs_cmd->add_option("BACKUP", logs.name, "Backup name")->required();
  logs.bind_timeout(logs_cmd, "How long to wait to receive logs.");
  add_decryption_flag(logs_cmd, logs.download);
  logs_cmd->callback([&logs, &cli] {
    logs.finish();
    cli.run([&logs](Session& s) { return backup_logs(s, logs.name, logs.download, std::cout); });
  });

  auto& dl = cli.make<TransferFlags>();
  auto* download = backup->add_subcommand("download", "Download all Kubernetes manifests for a backup");
  download->add_option("NAME", dl.name, "Backup name")->required();
  string_flag(download, "-o,--output", dl.path,
              "Path to output file. Defaults to <NAME>-data.tar.gz in the current directory.");
  bool_flag(download, "--force", dl.force, "Forces the download and will overwrite file if it exists already.");
  dl.bind_timeout(download, "Maximum time to wait to process download request.");
  download->callback([&dl, &cli] {
    dl.finish();
    cli.run([&dl](Session& s) { return backup_download(s, dl.name, dl.path, dl.force, dl.download, std::cout); });
  });

  define_backup_delete(backup->add_subcommand("delete"), cli);
}

}  // namespace arca::cli
