// `arca install` and `arca uninstall` (Velero's pkg/cmd/cli/install/install.go): the resources come from install/resources.h.
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "api/crds.h"
#include "cli/app.h"
#include "cli/day2_commands.h"
#include "cli/output.h"
#include "install/resources.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "util/duration.h"
#include "store/crypto.h"

namespace arca::cli {
namespace {

using namespace std::chrono_literals;

kube::ApiResource resource_of(Session& s, const nlohmann::json& object) {
  std::string api_version = object["apiVersion"], kind = object["kind"];
  auto slash = api_version.find('/');
  std::string group = slash == std::string::npos ? "" : api_version.substr(0, slash);
  std::string version = slash == std::string::npos ? api_version : api_version.substr(slash + 1);
  static const std::map<std::string, std::string> plural = {
      {"Namespace", "namespaces"}, {"CustomResourceDefinition", "customresourcedefinitions"},
      {"ServiceAccount", "serviceaccounts"}, {"ClusterRoleBinding", "clusterrolebindings"},
      {"Secret", "secrets"}, {"BackupStorageLocation", "backupstoragelocations"},
      {"VolumeSnapshotLocation", "volumesnapshotlocations"}, {"Deployment", "deployments"},
      {"DaemonSet", "daemonsets"}};
  return s.discovery().lookup(group, version, plural.at(kind));
}

// Creates, or leaves what exists alone (as Velero's install does: "already exists, proceeding"); with --apply
// what exists is updated to the generated object.
void create_or_keep(Session& s, const nlohmann::json& object, bool apply, std::ostream& out) {
  std::string kind = object["kind"], name = object["metadata"]["name"];
  std::string ns = object["metadata"].value("namespace", "");
  kube::DynamicClient client(s.transport());
  auto resource = resource_of(s, object);
  try {
    client.create(resource, ns, object);
    out << kind << "/" << name << ": created\n";
  } catch (const kube::KubeError& e) {
    if (!kube::is_already_exists(e)) throw;
    if (!apply) {
      out << kind << "/" << name << ": already exists, proceeding\n";
      return;
    }
    nlohmann::json updated = object;
    updated["metadata"]["resourceVersion"] = client.get(resource, ns, name)["metadata"]["resourceVersion"];
    client.update(resource, ns, updated);
    out << kind << "/" << name << ": configured\n";
  }
}

// Velero's install.DeploymentIsReady: the Deployment reports an available replica.
void wait_for_deployment(Session& s, std::ostream& out) {
  out << "Waiting for Velero deployment to be ready.\n" << std::flush;
  kube::DynamicClient client(s.transport());
  auto deployments = s.discovery().lookup("apps", "v1", "deployments");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto d = client.get(deployments, s.ns(), "velero");
    if (d.value("/status/availableReplicas"_json_pointer, 0) >= 1) return;
    std::this_thread::sleep_for(500ms);
  }
  throw std::runtime_error("the velero Deployment has no available replica after 10m; check `kubectl -n " + s.ns() +
                           " describe deployment velero`");
}

// Velero's install --wait also waits for the node agent on every node it schedules to.
void wait_for_daemonset(Session& s, std::ostream& out) {
  out << "Waiting for node-agent daemonset to be ready.\n" << std::flush;
  kube::DynamicClient client(s.transport());
  auto daemonsets = s.discovery().lookup("apps", "v1", "daemonsets");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto d = client.get(daemonsets, s.ns(), "node-agent");
    int desired = d.value("/status/desiredNumberScheduled"_json_pointer, -1);
    if (desired >= 0 && d.value("/status/numberAvailable"_json_pointer, 0) >= desired &&
        d.value("/status/observedGeneration"_json_pointer, 0) >= d.value("/metadata/generation"_json_pointer, 1))
      return;
    std::this_thread::sleep_for(500ms);
  }
  throw std::runtime_error("the node-agent DaemonSet is not available on every node after 10m; check `kubectl -n " +
                           s.ns() + " describe daemonset node-agent`");
}

}  // namespace

int install(Session& s, const InstallCommandOptions& o, std::ostream& out) {
  if (!o.output.empty() && o.output != "json" && o.output != "yaml")
    throw std::invalid_argument("invalid output format \"" + o.output + "\"; valid values are 'json' and 'yaml'");
  std::vector<nlohmann::json> objects;
  if (o.crds_only) {  // printed without a cluster, as Velero's
    for (auto crd : api::velero_crds()) {
      crd["metadata"]["labels"]["component"] = "velero";
      objects.push_back(std::move(crd));
    }
  } else {
    install::InstallOptions options = o.resources;
    options.namespace_name = s.ns();
    if (!o.secret_file.empty()) {
      options.secret_data = read_file(o.secret_file, "--secret-file");
      if (options.secret_data.empty()) throw std::invalid_argument("--secret-file " + o.secret_file + " is empty");
    }
    if (!o.cacert.empty()) options.ca_cert = store::base64_encode(read_file(o.cacert, "--cacert"));
    install::validate(options);
    objects = install::install_resources(options);
  }
  if (!o.output.empty()) out << format_objects(objects, o.output);
  if (o.dry_run) return 0;
  if (o.crds_only) return install_crds(s, out);

  // The namespace, then the CRDs (waiting until discovery serves them), then everything else.
  create_or_keep(s, objects.front(), o.apply, out);
  install_crds(s, out);
  for (const auto& object : objects)
    if (object["kind"] != "Namespace" && object["kind"] != "CustomResourceDefinition")
      create_or_keep(s, object, o.apply, out);
  if (o.wait) {
    wait_for_deployment(s, out);
    if (o.resources.use_node_agent) wait_for_daemonset(s, out);
  }
  if (o.secret_file.empty()) out << "\nNo secret file was specified, no Secret created.\n\n";
  // The Deployment keeps Velero's name (for compatibility); the message names the product the user ran.
  out << "arca is installed. Use 'kubectl logs deployment/velero -n " << s.ns() << "' to view the server's status.\n";
  return 0;
}

int uninstall(Session& s, bool force, std::ostream& out) {
  if (!force) {
    for (;;) {
      out << "You are about to uninstall arca.\nAre you sure you want to continue (Y/N)? ";
      out.flush();
      std::string answer;
      if (!std::getline(std::cin, answer) || answer == "n" || answer == "N") {
        out << "Uninstall cancelled\n";
        return 0;
      }
      if (answer == "y" || answer == "Y") break;
    }
  }
  kube::DynamicClient client(s.transport());
  auto remove = [&](const kube::ApiResource& resource, const std::string& ns, const std::string& name) {
    try {
      client.remove(resource, ns, name);
      out << resource.kind << "/" << name << ": deleted\n";
    } catch (const kube::KubeError& e) {
      if (!kube::is_not_found(e)) throw;
    }
  };
  auto namespaces = s.core("namespaces");
  remove(namespaces, "", s.ns());
  remove(s.discovery().lookup("rbac.authorization.k8s.io", "v1", "clusterrolebindings"), "",
         install::cluster_role_binding_name(s.ns()));
  auto crds = s.discovery().lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions");
  kube::ListOptions velero_crds;
  velero_crds.label_selector = "component=velero";
  std::vector<std::string> names;
  client.list(crds, "", velero_crds, [&](const kube::ListItem& item) { names.emplace_back(item.name); });
  for (const auto& name : names) remove(crds, "", name);
  for (int i = 0; i < 600; ++i) {  // the namespace goes once its contents are deleted
    try {
      client.get(namespaces, "", s.ns());
    } catch (const kube::KubeError& e) {
      if (!kube::is_not_found(e)) throw;
      out << "arca uninstalled.\n";
      return 0;
    }
    std::this_thread::sleep_for(100ms);
  }
  throw std::runtime_error("namespace " + s.ns() + " is still terminating after 60s");
}

namespace {

struct InstallFlags {
  InstallCommandOptions options;
  install::ServerArgOptions server;
  std::vector<std::string> bsl_config, vsl_config, pod_annotations, pod_labels, sa_annotations, plugins;
  bool use_volume_snapshots = true;
  OutputFlags output;
};

}  // namespace

void add_install_commands(CLI::App& root, Cli& cli) {
  auto& f = cli.make<InstallFlags>();
  auto& o = f.options;
  auto& r = o.resources;
  auto& a = f.server;
  auto* cmd = root.add_subcommand("install", "Install Velero (arca): namespace, CRDs, RBAC, credentials, locations, server");
  string_flag(cmd, "--provider", r.provider, "Provider name for backup and volume storage");
  string_flag(cmd, "--bucket", r.bucket, "Name of the object storage bucket where backups should be stored");
  string_flag(cmd, "--secret-file", o.secret_file,
              "File containing credentials for backup and volume provider. If not specified, --no-secret must be used "
              "for confirmation. Optional.");
  bool_flag(cmd, "--no-secret", r.no_secret,
            "Flag indicating if a secret should be created. Must be used as confirmation if --secret-file is not "
            "provided. Optional.");
  bool_flag(cmd, "--no-default-backup-location", r.no_default_backup_location,
            "Flag indicating if a default backup location should be created. Must be used as confirmation if --bucket "
            "or --provider are not provided. Optional.");
  r.image = install::default_image();
  string_flag(cmd, "--image", r.image, "Image to use for the Velero and node agent pods. Optional.");
  string_flag(cmd, "--prefix", r.prefix, "Prefix under which all Velero data should be stored within the bucket. Optional.");
  map_flag(cmd, "--pod-annotations", f.pod_annotations,
           "Annotations to add to the Velero and node agent pods. Optional. Format is key1=value1,key2=value2");
  map_flag(cmd, "--pod-labels", f.pod_labels,
           "Labels to add to the Velero and node agent pods. Optional. Format is key1=value1,key2=value2");
  map_flag(cmd, "--sa-annotations", f.sa_annotations,
           "Annotations to add to the Velero ServiceAccount. Optional. Format is key1=value1,key2=value2");
  string_flag(cmd, "--service-account-name", r.service_account_name,
              "ServiceAccountName to be set to the Velero and node agent pods, it should be created before the "
              "installation, and the user also needs to create the rolebinding for it.  Optional, if this attribute "
              "is set, the default service account 'velero' will not be created, and the flag --sa-annotations will "
              "be disregarded.");
  string_flag(cmd, "--velero-pod-cpu-request", r.cpu_request, "CPU request for Velero pod. A value of \"0\" is treated as unbounded. Optional.");
  string_flag(cmd, "--velero-pod-mem-request", r.memory_request, "Memory request for Velero pod. A value of \"0\" is treated as unbounded. Optional.");
  string_flag(cmd, "--velero-pod-cpu-limit", r.cpu_limit, "CPU limit for Velero pod. A value of \"0\" is treated as unbounded. Optional.");
  string_flag(cmd, "--velero-pod-mem-limit", r.memory_limit, "Memory limit for Velero pod. A value of \"0\" is treated as unbounded. Optional.");
  string_flag(cmd, "--node-agent-pod-cpu-request", r.node_agent_cpu_request, "CPU request for node-agent pod. A value of \"0\" is treated as unbounded. Optional.");
  string_flag(cmd, "--node-agent-pod-mem-request", r.node_agent_memory_request, "Memory request for node-agent pod. A value of \"0\" is treated as unbounded. Optional.");
  string_flag(cmd, "--node-agent-pod-cpu-limit", r.node_agent_cpu_limit, "CPU limit for node-agent pod. A value of \"0\" is treated as unbounded. Optional.");
  string_flag(cmd, "--node-agent-pod-mem-limit", r.node_agent_memory_limit, "Memory limit for node-agent pod. A value of \"0\" is treated as unbounded. Optional.");
  map_flag(cmd, "--backup-location-config", f.bsl_config,
           "Configuration to use for the backup storage location. Format is key1=value1,key2=value2");
  map_flag(cmd, "--snapshot-location-config", f.vsl_config,
           "Configuration to use for the volume snapshot location. Format is key1=value1,key2=value2");
  bool_flag(cmd, "--use-volume-snapshots", f.use_volume_snapshots,
            "Whether or not to create snapshot location automatically. Set to false if you do not plan to create "
            "volume snapshots via a storage provider.");
  bool_flag(cmd, "--restore-only", a.restore_only, "Run the server in restore-only mode. Optional.");
  bool_flag(cmd, "--dry-run", o.dry_run, "Generate resources, but don't send them to the cluster. Use with -o. Optional.");
  bool_flag(cmd, "--apply", o.apply,
            "Update the resources that already exist to the generated ones, instead of leaving them as they are. "
            "Optional.");
  bool_flag(cmd, "--use-node-agent", r.use_node_agent,
            "Create Velero node-agent daemonset. Optional. Velero node-agent hosts Velero modules that need to run in "
            "one or more nodes(i.e. Restic, Kopia). (arca: its pods run `arca node-agent server`, which writes "
            "restic-format repositories)");
  bool_flag(cmd, "--use-node-agent-windows", r.use_node_agent_windows,
            "Create Velero node-agent-windows daemonset. Optional. (arca: its pods run `arca node-agent server`; "
            "arca is built and tested on Linux nodes only)");
  bool_flag(cmd, "--privileged-node-agent", r.privileged_node_agent,
            "Use privileged mode for the node agent. Optional. Required to backup block devices.");
  bool_flag(cmd, "--wait", o.wait, "Wait for Velero deployment to be ready. Optional.");
  duration_flag(cmd, "--default-repo-maintain-frequency", a.default_repo_maintain_frequency,
                "How often 'maintain' is run for backup repositories by default. Optional.")->default_str("0s");
  duration_flag(cmd, "--garbage-collection-frequency", a.garbage_collection_frequency,
                "How often the garbage collection runs for expired backups.(default 1h)")->default_str("0s");
  duration_flag(cmd, "--pod-volume-operation-timeout", a.pod_volume_operation_timeout,
                "How long to wait for pod volume operations to complete before timing out(default 4h). Optional.")
      ->default_str("0s");
  string_array(cmd, "--plugins", f.plugins,
               "Plugin container images to install into the Velero Deployment (arca: velero-plugin-for-aws and "
               "velero-plugin-for-microsoft-azure map to its built-in providers; other images are refused)");
  bool_flag(cmd, "--crds-only", o.crds_only,
            "Only generate CustomResourceDefinition resources. Useful for updating CRDs for an existing Velero "
            "install.");
  string_flag(cmd, "--cacert", o.cacert,
              "File containing a certificate bundle to use when verifying TLS connections to the object store. "
              "Optional.");
  string_flag(cmd, "--features", r.features,
              "Comma separated list of Velero feature flags to be set on the Velero deployment and the node-agent "
              "daemonset, if node-agent is enabled");
  bool_flag(cmd, "--default-volumes-to-fs-backup", a.default_volumes_to_fs_backup,
            "Bool flag to configure Velero server to use pod volume file system backup by default for all volumes on "
            "all backups. Optional.");
  string_flag(cmd, "--uploader-type", a.uploader_type,
              "The type of uploader to transfer the data of pod volumes, the supported values are 'restic', 'kopia'");
  bool_flag(cmd, "--default-snapshot-move-data", a.default_snapshot_move_data,
            "Bool flag to configure Velero server to move data by default for all snapshots supporting data movement. "
            "Optional.");
  bool_flag(cmd, "--disable-informer-cache", a.disable_informer_cache,
            "Disable informer cache for Get calls on restore. With this enabled, it will speed up restore in cases "
            "where there are backup resources which already exist in the cluster, but for very large clusters this "
            "will increase velero memory usage. Default is false (don't disable). Optional.");
  bool_flag(cmd, "--schedule-skip-immediately", a.schedule_skip_immediately,
            "Skip the first scheduled backup immediately after creating a schedule. Default is false (don't skip).");
  bool_flag(cmd, "--node-agent-disable-host-path", r.node_agent_disable_host_path,
            "Don't mount the pod volume host path to node-agent. Optional. Pod volume host path mount is required by "
            "fs-backup but could be disabled for other backup methods.");
  string_flag(cmd, "--kubelet-root-dir", r.kubelet_root_dir, "Kubelet root directory for the node agent. Optional.");
  int_flag(cmd, "--keep-latest-maintenance-jobs", a.keep_latest_maintenance_jobs,
           "Number of latest maintenance jobs to keep each repository. Optional.");
  string_flag(cmd, "--maintenance-job-cpu-request", a.maintenance_cpu_request, "CPU request for maintenance jobs. Default is no limit.");
  string_flag(cmd, "--maintenance-job-mem-request", a.maintenance_mem_request, "Memory request for maintenance jobs. Default is no limit.");
  string_flag(cmd, "--maintenance-job-cpu-limit", a.maintenance_cpu_limit, "CPU limit for maintenance jobs. Default is no limit.");
  string_flag(cmd, "--maintenance-job-mem-limit", a.maintenance_mem_limit, "Memory limit for maintenance jobs. Default is no limit.");
  string_flag(cmd, "--backup-repository-configmap", a.backup_repository_configmap,
              "The name of ConfigMap containing backup repository configurations.");
  string_flag(cmd, "--repo-maintenance-job-configmap", a.repo_maintenance_job_configmap,
              "The name of ConfigMap containing repository maintenance Job configurations.");
  string_flag(cmd, "--default-resource-modifier-configmap", a.default_resource_modifier_configmap,
              "The name of a ConfigMap in the Velero namespace containing default resource modifier rules applied to "
              "all restores (Velero 1.19).");
  string_flag(cmd, "--node-agent-configmap", r.node_agent_configmap,
              "The name of ConfigMap containing node-agent configurations.");
  int_flag(cmd, "--item-block-worker-count", a.item_block_worker_count,
           "Number of worker threads to process ItemBlocks. Default is one. Optional.");
  int_flag(cmd, "--concurrent-backups", a.concurrent_backups,
           "Number of backups to process concurrently. Default is one. Optional.");
  string_flag(cmd, "--server-priority-class-name", r.server_priority_class_name,
              "Priority class name for the Velero server deployment. Optional.");
  string_flag(cmd, "--node-agent-priority-class-name", r.node_agent_priority_class_name,
              "Priority class name for the node agent daemonset. Optional.");
  add_output_flags(cmd, f.output, "");
  cmd->callback([&f, &cli, cmd] {
    auto& o = f.options;
    auto& r = o.resources;
    r.backup_location_config = parse_map_flag(f.bsl_config, "--backup-location-config");
    r.snapshot_location_config = parse_map_flag(f.vsl_config, "--snapshot-location-config");
    r.pod_annotations = parse_map_flag(f.pod_annotations, "--pod-annotations");
    r.pod_labels = parse_map_flag(f.pod_labels, "--pod-labels");
    r.service_account_annotations = parse_map_flag(f.sa_annotations, "--sa-annotations");
    r.use_volume_snapshots = f.use_volume_snapshots;
    o.output = f.output.output;
    if (o.output == "table") throw std::invalid_argument("'table' is not valid for the install command");
    auto plugins = last_csv(f.plugins);
    install::providers_of_plugins(plugins);  // Velero's provider images map to built-in providers; others fail here
    if (f.server.uploader_type != "restic" && f.server.uploader_type != "kopia")
      throw std::invalid_argument("invalid uploader type '" + f.server.uploader_type +
                                  "', valid upload types are: 'restic', 'kopia'");
    if (f.server.default_volumes_to_fs_backup && !r.use_node_agent)
      throw std::invalid_argument("--use-node-agent is required when using --default-volumes-to-fs-backup");
    for (const auto* d : {&f.server.default_repo_maintain_frequency, &f.server.garbage_collection_frequency,
                          &f.server.pod_volume_operation_timeout})
      if (!d->empty() && parse_duration(*d) < Duration::zero())
        throw std::invalid_argument("--default-repo-maintain-frequency, --garbage-collection-frequency and "
                                    "--pod-volume-operation-timeout must be non-negative");
    if (cmd->get_option("--uploader-type")->count() > 0 && f.server.uploader_type == "kopia" && !o.crds_only)
      std::cerr << "Warning: --uploader-type=kopia: arca writes restic-format repositories; pod volume backups are made "
                   "with uploaderType restic, and kopia repositories are neither read nor written\n";
    r.server_args = install::server_args(f.server);
    cli.run([&f](Session& s) { return install(s, f.options, std::cout); });
  });

  struct UninstallFlags {
    bool force = false, wait = false;
  };
  auto& u = cli.make<UninstallFlags>();
  auto* uninstall_cmd = root.add_subcommand("uninstall", "Uninstall Velero (arca)");
  bool_flag(uninstall_cmd, "--force", u.force, "Forces the Velero uninstall.");
  bool_flag(uninstall_cmd, "--wait", u.wait, "Wait for Velero uninstall to be ready. Optional. (deprecated)");
  uninstall_cmd->callback([&u, &cli] {
    if (u.wait) std::cerr << "Warning: --wait is deprecated: uninstall always waits for the namespace to go\n";
    cli.run([&u](Session& s) { return uninstall(s, u.force, std::cout); });
  });

  auto* plugin = root.add_subcommand("plugin", "Work with plugins");
  define_plugin_get(plugin->add_subcommand("get"), cli);
  struct PluginAddFlags {
    std::string image, pull_policy = "IfNotPresent";
    bool confirm = false;
  };
  auto& p = cli.make<PluginAddFlags>();
  auto* add = plugin->add_subcommand("add", "Add a plugin");
  add->add_option("IMAGE", p.image, "Plugin image")->required();
  string_flag(add, "--image-pull-policy", p.pull_policy,
              "The imagePullPolicy for the plugin container. Valid values are Always, IfNotPresent, Never.");
  bool_flag(add, "--confirm", p.confirm, "Confirm action");
  add->callback([&p, &cli] {
    cli.action = [&p]() -> int {
      auto providers = install::providers_of_plugins({p.image});  // refuses anything but a built-in provider's image
      throw std::invalid_argument("plugin add " + p.image + ": the " + providers.front() +
                                  " provider is built into arca; there is nothing to add");
    };
  });
  auto& removed = cli.make<std::string>();
  auto* remove_cmd = plugin->add_subcommand("remove", "Remove a plugin");
  remove_cmd->add_option("NAME|IMAGE", removed, "Plugin name or image")->required();
  remove_cmd->callback([&removed, &cli] {
    cli.action = [&removed]() -> int {
      throw std::invalid_argument("plugin remove " + removed + ": arca runs no plugin images; its providers are built in");
    };
  });
}

void define_plugin_get(CLI::App* cmd, Cli& cli) {
  struct Flags {
    std::string timeout = "5s", output = "table";
  };
  auto& f = cli.make<Flags>();
  cmd->description("Get information for all plugins on the velero server");
  duration_flag(cmd, "--timeout", f.timeout, "Maximum time to wait for plugin information to be reported.");
  add_output_flag(cmd, f.output, "table");
  cmd->callback([&f, &cli] {
    auto timeout = std::chrono::duration_cast<std::chrono::seconds>(parse_duration(f.timeout));
    cli.run([&f, timeout](Session& s) {
      // The plugins the server reports in a ServerStatusRequest (arca's are its built-in providers), sorted by
      // kind then name as Velero's printer does.
      auto status = server_status(s, timeout);
      auto plugins = status.status.plugins;
      std::sort(plugins.begin(), plugins.end(), [](const api::PluginInfo& a, const api::PluginInfo& b) {
        return std::tie(a.kind, a.name) < std::tie(b.kind, b.name);
      });
      if (f.output != "table") {
        std::cout << format_objects({nlohmann::json(status)}, f.output);
        return 0;
      }
      std::vector<std::vector<std::string>> rows = {{"NAME", "KIND"}};
      for (const auto& p : plugins) rows.push_back({p.name, p.kind});
      std::cout << text_table(rows);
      return 0;
    });
  });
}

}  // namespace arca::cli
