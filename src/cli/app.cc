// The root of `arca`: global flags (Velero's pkg/cmd/velero/velero.go and pkg/client/factory.go), the flag
// helpers every command group uses, and the word routing that gives cobra's behaviour for bare nouns, `help`
// and unknown words.
#include "cli/app.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "cli/day2_commands.h"
#include "cli/trust_cmd.h"
#include "util/duration.h"

namespace arca::cli {

void Cli::run(std::function<int(Session&)> work) {
  action = [this, work = std::move(work)] {
    Session session(globals);
    return work(session);
  };
}

// ---- flags ----------------------------------------------------------------------------------------------------

CLI::Option* string_flag(CLI::App* cmd, const std::string& names, std::string& into, const std::string& help) {
  // pflag: a repeated flag keeps its last value.
  auto* o = cmd->add_option(names, into, help)->type_name("string")->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  if (!into.empty()) o->default_str(into);
  return o;
}

CLI::Option* int_flag(CLI::App* cmd, const std::string& names, int& into, const std::string& help) {
  return cmd->add_option(names, into, help)
      ->type_name("int")
      ->default_str(std::to_string(into))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

CLI::Option* bool_flag(CLI::App* cmd, const std::string& names, bool& into, const std::string& help) {
  return cmd->add_flag(names, into, help)
      ->type_name("bool")
      ->default_str(into ? "true" : "false")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

CLI::Option* duration_flag(CLI::App* cmd, const std::string& names, std::string& into, const std::string& help) {
  auto* o = cmd->add_option(names, into, help)->type_name("duration")->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  o->check(CLI::Validator(
      [](std::string& value) -> std::string {
        try {
          parse_duration(value);
          return {};
        } catch (const std::exception& e) {
          return e.what();
        }
      },
      ""));
  o->default_str(into.empty() ? "0s" : into);  // unset: pflag shows a zero duration as 0s
  return o;
}

CLI::Option* string_array(CLI::App* cmd, const std::string& names, std::vector<std::string>& into,
                          const std::string& help) {
  return cmd->add_option(names, into, help)
      ->type_name("stringArray")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

CLI::Option* string_slice(CLI::App* cmd, const std::string& names, std::vector<std::string>& into,
                          const std::string& help) {
  return cmd->add_option(names, into, help)
      ->type_name("strings")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

CLI::Option* map_flag(CLI::App* cmd, const std::string& names, std::vector<std::string>& into, const std::string& help) {
  return cmd->add_option(names, into, help)
      ->type_name("mapStringString")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

CLI::Option* optional_bool(CLI::App* cmd, const std::string& names, std::vector<std::string>& into,
                           const std::string& help) {
  return cmd->add_flag(names + "{true}", into, help)
      ->type_name("optionalBool[=true]")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

CLI::Option* selector_flag(CLI::App* cmd, std::string& into, const std::string& help) {
  return string_flag(cmd, "-l,--selector", into, help)->type_name("labelSelector");
}

void add_tls_flags(CLI::App* cmd, DownloadOptions& options) {
  bool_flag(cmd, "--insecure-skip-tls-verify", options.insecure_skip_tls_verify,
            "If true, the object store's TLS certificate will not be checked for validity. This is insecure and "
            "susceptible to man-in-the-middle attacks. Not recommended for production.");
  string_flag(cmd, "--cacert", options.cacert, "Path to a certificate bundle to use when verifying TLS connections.");
}

void add_decryption_flag(CLI::App* cmd, DownloadOptions& options) {
  string_flag(cmd, "--decryption-key-file", options.decryption_key_file,
              "arca: age identity file (age-keygen's output) to read the files of a backup whose storage location "
              "encrypts backups");
}

void add_output_flag(CLI::App* cmd, std::string& output, const std::string& default_format) {
  output = default_format;
  string_flag(cmd, "-o,--output", output,
              "Output display format. For create commands, display the object but do not send it to the server. "
              "Valid formats are 'table', 'json', and 'yaml'. 'table' is not valid for the install command.");
}

void add_output_flags(CLI::App* cmd, OutputFlags& flags, const std::string& default_format) {
  add_output_flag(cmd, flags.output, default_format);
  string_array(cmd, "-L,--label-columns", flags.label_columns,
               "Accepts a comma separated list of labels that are going to be presented as columns. Names are "
               "case-sensitive. You can also use multiple flag options like -L label1 -L label2...");
  bool_flag(cmd, "--show-labels", flags.show_labels, "Show labels in the last column");
}

void add_delete_flags(CLI::App* cmd, DeleteFlags& flags, const std::string& kind_plural) {
  cmd->add_option("NAMES", flags.names, "Names of the " + kind_plural);
  bool_flag(cmd, "--all", flags.all, "Delete all " + kind_plural + ".");
  string_flag(cmd, "-l,--selector", flags.selector, "Delete all " + kind_plural + " matching this label selector.")
      ->type_name("labelSelector");
  bool_flag(cmd, "--confirm", flags.confirm, "Confirm deletion");
}

void check_selection(const DeleteFlags& flags) {
  if (int(!flags.names.empty()) + int(flags.all) + int(!flags.selector.empty()) != 1)
    throw std::invalid_argument(
        "you must specify exactly one of: specific name(s), the --all flag, or the --selector flag");
}

// ---- the tree ---------------------------------------------------------------------------------------------------

namespace {

// klog's flags, which Velero adds to its root (klog.InitFlags + AddGoFlagSet in pkg/cmd/velero/velero.go). arca's
// client writes no klog output, so they are accepted and have no effect.
struct KlogFlags {
  int v = 0;
  std::string vmodule, log_dir, log_file, stderrthreshold = "2";
  int log_file_max_size = 1800;
  bool logtostderr = true, alsologtostderr = false, add_dir_header = false, one_output = false, skip_headers = false,
       skip_log_headers = false, legacy_stderr_threshold_behavior = true;
};

void add_root_flags(CLI::App& root, Cli& cli) {
  const char* env_ns = std::getenv("VELERO_NAMESPACE");
  cli.globals.namespace_name = env_ns && *env_ns ? env_ns : "velero";
  // Namespace precedence: -n > config file > $VELERO_NAMESPACE > velero (pkg/client/factory.go).
  auto config = read_client_config(std::cerr);
  if (auto ns = config.find("namespace"); ns != config.end() && !ns->second.empty())
    cli.globals.namespace_name = ns->second;
  string_flag(&root, "--kubeconfig", cli.globals.kubeconfig,
              "Path to the kubeconfig file to use to talk to the Kubernetes apiserver. If unset, try the environment "
              "variable KUBECONFIG, as well as in-cluster configuration");
  string_flag(&root, "--kubecontext", cli.globals.kubecontext,
              "The context to use to talk to the Kubernetes apiserver. If unset defaults to whatever your current-context "
              "is (kubectl config current-context)");
  string_flag(&root, "-n,--namespace", cli.globals.namespace_name, "The namespace in which Velero should operate");
  string_array(&root, "--features", cli.features,
               "Comma-separated list of features to enable for this Velero process. Combines with values from "
               "$HOME/.config/velero/config.json if present");
  auto& colorized = cli.make<std::string>();
  root.add_option("--colorized", colorized,
                  "Show colored output in TTY. Overrides 'colorized' value from $HOME/.config/velero/config.json if "
                  "present. Enabled by default (arca's output has no colors either way)")
      ->type_name("optionalBool")
      ->check(CLI::IsMember({"true", "false", "1", "0", "t", "f", "TRUE", "FALSE", "True", "False"}));
  auto& k = cli.make<KlogFlags>();
  // Listed apart in --help: accepted so that Velero command lines parse, without effect.
  const std::string group = "Klog flags (accepted for Velero compatibility; arca's client writes no klog output)";
  int_flag(&root, "-v,--v", k.v, "number for the log level verbosity")->type_name("Level")->group(group);
  string_flag(&root, "--vmodule", k.vmodule, "comma-separated list of pattern=N settings for file-filtered logging")
      ->type_name("moduleSpec")
      ->group(group);
  string_flag(&root, "--log_dir", k.log_dir, "If non-empty, write log files in this directory")->group(group);
  string_flag(&root, "--log_file", k.log_file, "If non-empty, use this log file")->group(group);
  int_flag(&root, "--log_file_max_size", k.log_file_max_size, "Defines the maximum size a log file can grow to")
      ->type_name("uint")
      ->group(group);
  bool_flag(&root, "--logtostderr", k.logtostderr, "log to standard error instead of files")->group(group);
  bool_flag(&root, "--alsologtostderr", k.alsologtostderr, "log to standard error as well as files")->group(group);
  string_flag(&root, "--stderrthreshold", k.stderrthreshold, "logs at or above this threshold go to stderr")
      ->type_name("severity")
      ->group(group);
  bool_flag(&root, "--add_dir_header", k.add_dir_header, "If true, adds the file directory to the header")->group(group);
  bool_flag(&root, "--one_output", k.one_output, "If true, only write logs to their native severity level")->group(group);
  bool_flag(&root, "--skip_headers", k.skip_headers, "If true, avoid header prefixes in the log messages")->group(group);
  bool_flag(&root, "--skip_log_headers", k.skip_log_headers, "If true, avoid headers when opening log files")
      ->group(group);
  bool_flag(&root, "--legacy_stderr_threshold_behavior", k.legacy_stderr_threshold_behavior,
            "If true, stderrthreshold is ignored when logtostderr=true")
      ->group(group);
}

std::vector<const CLI::App*> subcommands(const CLI::App* cmd) {
  std::vector<const CLI::App*> out;
  for (auto* sub : cmd->get_subcommands({}))
    if (!sub->get_name().empty()) out.push_back(sub);
  return out;
}

CLI::App* find_subcommand(CLI::App* cmd, const std::string& word) {
  for (auto* sub : cmd->get_subcommands({}))
    if (!sub->get_name().empty() && sub->check_name(word)) return sub;
  return nullptr;
}

const CLI::Option* find_flag(CLI::App* cmd, const std::string& name) {
  for (auto* c = cmd; c != nullptr; c = c->get_parent())
    if (const auto* option = c->get_option_no_throw(name)) return option;
  return nullptr;
}

std::string path_of(const CLI::App* cmd) {
  std::string path;
  for (auto* c = cmd; c != nullptr; c = c->get_parent()) path = c->get_name() + (path.empty() ? "" : " " + path);
  return path;
}

// Help with the whole command path in its usage line ("Usage: arca backup create ..."), as cobra prints it.
std::string help_of(const CLI::App* cmd) {
  return cmd->get_parent() == nullptr ? cmd->help() : cmd->help(path_of(cmd->get_parent()));
}

}  // namespace

void build_cli(CLI::App& root, Cli& cli) {
  root.name("arca");
  root.description(
      "Velero-compatible backup and restore of Kubernetes cluster resources.\n"
      "arca follows velero's commands: `arca backup create`, or kubectl-style `arca create backup`, `arca get backups`.");
  root.fallthrough();  // global flags may follow the subcommand, as cobra's persistent flags may
  add_root_flags(root, cli);
  add_backup_commands(root, cli);
  add_restore_commands(root, cli);
  add_schedule_commands(root, cli);
  add_location_commands(root, cli);
  add_install_commands(root, cli);
  add_server_command(root, cli);
  add_node_agent_command(root, cli);
  add_misc_commands(root, cli);
  add_trust_commands(root, *root.get_subcommand("backup"), cli.globals, cli.action);
  add_repo_commands(root, cli);
  add_kubectl_verbs(root, cli);
  root.add_subcommand("help", "Help about any command")->allow_extras();
}

int parse_cli(CLI::App& root, Cli& cli, std::vector<std::string> args, std::ostream& out, std::ostream& err) {
  // Route the words to a command before CLI11 parses: CLI11 alone answers a bare noun, `help` and a misspelt
  // command all with "A subcommand is required". Flags' values are skipped so that they are never taken for words.
  CLI::App* cmd = &root;
  std::vector<std::string> routed;
  bool help = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      routed.insert(routed.end(), args.begin() + long(i), args.end());
      break;
    }
    if (arg.size() > 1 && arg[0] == '-') {
      bool long_flag = arg.rfind("--", 0) == 0;
      auto eq = long_flag ? arg.find('=') : std::string::npos;
      std::string name = long_flag ? arg.substr(0, eq) : arg.substr(0, 2);
      const CLI::Option* option = find_flag(cmd, name);
      if (option == nullptr) {
        err << "An error occurred: "
            << (long_flag ? "unknown flag: " + name : "unknown shorthand flag: '" + arg.substr(1, 1) + "' in " + arg)
            << "\n";
        return 1;
      }
      bool takes_value = option->get_expected_min() > 0;
      if (takes_value && eq != std::string::npos) {
        // `--flag=` is an empty value (cobra), not "take the next word": CLI11 needs it as a separate argument.
        routed.push_back(name);
        routed.push_back(arg.substr(eq + 1));
      } else if (takes_value && (long_flag || arg.size() == 2) && i + 1 < args.size()) {
        // `--flag value`: joined, so a value that starts with '-' stays the flag's value.
        if (long_flag && !args[i + 1].empty())
          routed.push_back(name + "=" + args[++i]);
        else {
          routed.push_back(arg);
          routed.push_back(args[++i]);
        }
      } else {
        routed.push_back(arg);
      }
      continue;
    }
    if (!subcommands(cmd).empty()) {
      if (cmd == &root && arg == "help" && !help) {
        help = true;
        continue;
      }
      CLI::App* sub = find_subcommand(cmd, arg);
      if (sub == nullptr || sub->get_name() == "help") {
        err << "An error occurred: " << (help ? "unknown help topic" : "unknown command") << " \"" << arg
            << "\" for \"" << path_of(cmd) << "\"\nRun '" << path_of(cmd) << " --help' for usage.\n";
        return 1;
      }
      cmd = sub;
      routed.push_back(arg);
      continue;
    }
    routed.push_back(arg);
  }
  if (help || !subcommands(cmd).empty()) {  // `help PATH`, or a command that only groups others: its help
    out << help_of(cmd);
    return 0;
  }
  std::reverse(routed.begin(), routed.end());  // CLI11 takes the arguments last first
  try {
    root.parse(routed);
  } catch (const CLI::CallForHelp&) {
    const CLI::App* shown = &root;
    for (auto* c = &root; c != nullptr;) {
      shown = c;
      auto parsed = c->get_subcommands();
      c = parsed.empty() ? nullptr : parsed.front();
    }
    out << help_of(shown);
    return 0;
  } catch (const CLI::ValidationError& e) {
    // A validator's message, e.g. `--ttl: time: unknown unit "x" in duration "5x"`: Velero's pflag wording.
    std::string what = e.what();
    auto colon = what.find(": ");
    if (colon != std::string::npos && what.rfind("--", 0) == 0)
      what = "invalid argument for \"" + what.substr(0, colon) + "\" flag: " + what.substr(colon + 2);
    err << "An error occurred: " << what << "\n";
    return 1;
  } catch (const std::exception& e) {
    err << "An error occurred: " << e.what() << "\n";
    return 1;
  }
  if (!cli.action) {
    out << help_of(cmd);
    return 0;
  }
  return -1;
}

int run_cli(int argc, char** argv) {
  CLI::App root;
  Cli cli;
  try {
    build_cli(root, cli);
  } catch (const std::exception& e) {
    std::cerr << "An error occurred: " << e.what() << "\n";
    return 1;
  }
  int code = parse_cli(root, cli, std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
  if (code >= 0) return code;
  try {
    return cli.action();
  } catch (const std::exception& e) {
    std::cerr << "An error occurred: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace arca::cli
