#pragma once
// The `arca` command tree (CLI11). As Velero's pkg/cmd/cli/<noun>/, each command group lives in its own file
// (backup_cmd.cc, restore_cmd.cc, schedule_cmd.cc, location_cmd.cc, install_cmd.cc, server_cmd.cc, misc_cmd.cc)
// and defines its commands with the flag helpers below; verbs_cmd.cc mounts the same commands again under
// Velero's kubectl-style paths (`get backups`, `create schedule`, ...); main.cc only calls run_cli().
//
// Flags carry pflag's type names (`string`, `stringArray`, `duration`, `optionalBool[=true]`, ...) so that
// `--help` reads like Velero's and the parity test can compare every flag's type and default with Velero's.
#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/output.h"

namespace arca::cli {

// What the command files share while a command line is parsed: the global flags, and the one action the
// chosen command leaves to run after parsing.
struct Cli {
  Globals globals;
  std::vector<std::string> features;  // every --features value, each a comma list
  std::function<int()> action;

  // Storage for one command's flags, alive until the action has run (a command may be mounted twice).
  template <class T>
  T& make() {
    auto p = std::make_shared<T>();
    storage_.push_back(p);
    return *p;
  }
  // The action: `work` with a Session on the global flags.
  void run(std::function<int(Session&)> work);

 private:
  std::vector<std::shared_ptr<void>> storage_;
};

// ---- flags of Velero's types ----
CLI::Option* string_flag(CLI::App* cmd, const std::string& names, std::string& into, const std::string& help);
CLI::Option* int_flag(CLI::App* cmd, const std::string& names, int& into, const std::string& help);
CLI::Option* bool_flag(CLI::App* cmd, const std::string& names, bool& into, const std::string& help);
// Go durations ("1h30m"); the value is checked while parsing, so "5x" fails naming the flag.
CLI::Option* duration_flag(CLI::App* cmd, const std::string& names, std::string& into, const std::string& help);
// stringArray: one value per occurrence (a comma list), the last occurrence wins (last_csv).
CLI::Option* string_array(CLI::App* cmd, const std::string& names, std::vector<std::string>& into,
                          const std::string& help);
// strings (pflag StringSlice): comma lists, occurrences accumulate.
CLI::Option* string_slice(CLI::App* cmd, const std::string& names, std::vector<std::string>& into,
                          const std::string& help);
// mapStringString: k=v,k2=v2, occurrences accumulate (parse_map_flag).
CLI::Option* map_flag(CLI::App* cmd, const std::string& names, std::vector<std::string>& into, const std::string& help);
// optionalBool[=true]: bare means true, absent unset (parse_optional_bool).
CLI::Option* optional_bool(CLI::App* cmd, const std::string& names, std::vector<std::string>& into,
                           const std::string& help);

// -l/--selector (a labelSelector).
CLI::Option* selector_flag(CLI::App* cmd, std::string& into, const std::string& help);
// --insecure-skip-tls-verify and --cacert of the commands that download from the object store.
void add_tls_flags(CLI::App* cmd, DownloadOptions& options);
// --decryption-key-file, for the commands that show a backup's or restore's stored files.
void add_decryption_flag(CLI::App* cmd, DownloadOptions& options);
// -o/--output, -L/--label-columns, --show-labels (OutputFlags in output.h).
void add_output_flags(CLI::App* cmd, OutputFlags& flags, const std::string& default_format);
// -o alone (BindFlagsSimple).
void add_output_flag(CLI::App* cmd, std::string& output, const std::string& default_format);
// pkg/cmd/cli/delete_options.go: NAMES, --all, -l/--selector and --confirm.
struct DeleteFlags {
  std::vector<std::string> names;
  bool all = false, confirm = false;
  std::string selector;
};
void add_delete_flags(CLI::App* cmd, DeleteFlags& flags, const std::string& kind_plural);
// Exactly one of names, --all, --selector (pkg/cmd/cli/select_option.go).
void check_selection(const DeleteFlags& flags);

// The flags of `backup create` that are also `schedule create`'s backup template (pkg/cmd/cli/backup/create.go
// BindFlags, bound by pkg/cmd/cli/schedule/create.go too). finish() turns them into options after parsing.
struct BackupTemplateFlags {
  BackupCreateOptions options;
  std::vector<std::string> inc_ns, exc_ns, inc_res, exc_res, inc_cs, exc_cs, inc_nss, exc_nss, labels, annotations,
      icr, snap, fsb, smd;
  OutputFlags output;
  void bind(CLI::App* cmd);
  void finish();
};
// One line on stderr for a flag whose feature arca has not built yet (volume data): accepted, never silent.
void warn_not_built(const std::string& flag, const std::string& feature);
// The volume-data flags of a backup template that ask for something arca cannot do yet, each warned about.
void warn_volume_flags(const BackupCreateOptions& options);

// ---- the command groups ----
// Each define_* fills `cmd` (already created under its parent) with its flags and action; add_*_commands
// creates the noun and its verbs.
void define_backup_create(CLI::App* cmd, Cli& cli);
void define_backup_get(CLI::App* cmd, Cli& cli);
void define_backup_describe(CLI::App* cmd, Cli& cli);
void define_backup_delete(CLI::App* cmd, Cli& cli);
void add_backup_commands(CLI::App& root, Cli& cli);

void define_restore_create(CLI::App* cmd, Cli& cli);
void define_restore_get(CLI::App* cmd, Cli& cli);
void define_restore_describe(CLI::App* cmd, Cli& cli);
void define_restore_delete(CLI::App* cmd, Cli& cli);
void add_restore_commands(CLI::App& root, Cli& cli);

void define_schedule_create(CLI::App* cmd, Cli& cli);
void define_schedule_get(CLI::App* cmd, Cli& cli);
void define_schedule_describe(CLI::App* cmd, Cli& cli);
void define_schedule_delete(CLI::App* cmd, Cli& cli);
void add_schedule_commands(CLI::App& root, Cli& cli);

void define_location_create(CLI::App* cmd, Cli& cli);
void define_location_get(CLI::App* cmd, Cli& cli);
void define_location_delete(CLI::App* cmd, Cli& cli);
void define_snapshot_location_create(CLI::App* cmd, Cli& cli);
void define_snapshot_location_get(CLI::App* cmd, Cli& cli);
void add_location_commands(CLI::App& root, Cli& cli);

void define_plugin_get(CLI::App* cmd, Cli& cli);
void add_install_commands(CLI::App& root, Cli& cli);  // install, uninstall, plugin
void add_server_command(CLI::App& root, Cli& cli);
void add_node_agent_command(CLI::App& root, Cli& cli);  // nodeagent_cmd.cc: arca node-agent server
void add_misc_commands(CLI::App& root, Cli& cli);     // version, client config, completion, bug, debug
void add_repo_commands(CLI::App& root, Cli& cli);  // repo_cmd.cc: arca repo ...
void add_kubectl_verbs(CLI::App& root, Cli& cli);     // get, describe, create, delete

// The whole tree on `root` (root flags included).
void build_cli(CLI::App& root, Cli& cli);

// Parses `args` (without the program name) against `root`: routes the words to a command first, so that a bare
// noun prints its help (exit 0), `help PATH` prints PATH's help, and an unknown command or flag is named in one
// error line. Returns the exit code; when it returns -1 the command's action is ready in cli.action.
int parse_cli(CLI::App& root, Cli& cli, std::vector<std::string> args, std::ostream& out, std::ostream& err);

// main(): build, parse, run the action; errors print "An error occurred: ..." and exit 1.
int run_cli(int argc, char** argv);

}  // namespace arca::cli
