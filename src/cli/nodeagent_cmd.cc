// `arca node-agent server`: what Velero's node-agent DaemonSet runs on every node (Velero's
// pkg/cmd/cli/nodeagent/server.go flags), here running arca's node agent (src/nodeagent). Also run locally against
// kubelite, one process per node, with --node-name and the pods directory found from the node.
#include <cstdlib>
#include <iostream>

#include "cli/app.h"
#include "cli/day2_commands.h"
#include "nodeagent/node_agent.h"
#include "util/duration.h"
#include "util/logging.h"

namespace arca::cli {

void add_node_agent_command(CLI::App& root, Cli& cli) {
  struct Flags {
    nodeagent::Options options;
    std::string log_level = "info", log_format = "text", resource_timeout = "10m0s", prepare_timeout = "30m0s",
                metrics_address = ":8085", backup_repository_configmap, features;
  };
  auto& f = cli.make<Flags>();
  if (const char* node = std::getenv("NODE_NAME")) f.options.node_name = node;
  auto* node_agent = root.add_subcommand("node-agent", "Work with node-agent");
  auto* server = node_agent->add_subcommand("server", "Run the node-agent server");
  string_flag(server, "--log-level", f.log_level,
              "The level at which to log. Valid values are trace, debug, info, warning, error, fatal, panic.");
  string_flag(server, "--log-format", f.log_format, "The format for log output. Valid values are text, json.");
  string_flag(server, "--node-name", f.options.node_name,
              "The node this agent serves (default: the NODE_NAME environment variable, as the DaemonSet sets it)");
  auto* pods_dir = string_flag(server, "--host-pods-dir", f.options.host_pods_dir,
                               "Where the kubelet's pods directory is mounted (the DaemonSet mounts it at /host_pods); "
                               "when absent, a kubelite node's kubelet root is used");
  duration_flag(server, "--resource-timeout", f.resource_timeout,
                "How long to wait for resource processes which are not covered by other specific timeout parameters.");
  duration_flag(server, "--data-mover-prepare-timeout", f.prepare_timeout,
                "How long to wait for preparing a DataUpload/DataDownload (arca: the exposer pod and volume, bounded by --resource-timeout).");
  string_flag(server, "--metrics-address", f.metrics_address,
              "The address to expose prometheus metrics (arca: also /healthz, 200 while the agent runs)");
  string_flag(server, "--node-agent-configmap", f.options.node_agent_configmap,
              "The name of ConfigMap containing node-agent configurations.");
  string_flag(server, "--backup-repository-configmap", f.backup_repository_configmap,
              "The name of ConfigMap containing backup repository configurations.");
  string_flag(server, "--features", f.features, "Comma-separated list of features to enable for this node-agent");
  server->callback([&f, &cli, pods_dir] {
    static const std::vector<std::string> levels = {"trace", "debug", "info", "warning", "error", "fatal", "panic"};
    if (std::find(levels.begin(), levels.end(), f.log_level) == levels.end())
      throw std::invalid_argument("invalid log level \"" + f.log_level +
                                  "\" (valid: trace, debug, info, warning, error, fatal, panic)");
    f.options.resource_timeout = parse_duration(f.resource_timeout);
    f.options.host_pods_dir_given = pods_dir->count() > 0;
    cli.action = [&f, &cli] {
      setup_logging({f.log_level, parse_log_format(f.log_format)});
      f.options.kube.kubeconfig = cli.globals.kubeconfig;
      f.options.kube.context = cli.globals.kubecontext;
      f.options.namespace_name = cli.globals.namespace_name;
      f.options.metrics_address = f.metrics_address;
      nodeagent::run_node_agent(f.options);
      return 0;
    };
  });
}

}  // namespace arca::cli
