#pragma once
// The day-two commands of `arca` (schedules; more as they land), registered on the command tree by main.cc
// with one call. Each command sets `action`, which main runs after parsing, as for the other commands.
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "install/resources.h"

namespace CLI {
class App;
}

namespace arca::cli {

// Schedules (Velero's pkg/cmd/cli/schedule/create.go). `template_options` carries the backup-create filters of the template.
struct ScheduleCreateOptions {
  std::string name, schedule, output;
  BackupCreateOptions template_options;
  bool use_owner_references = false, paused = false;
  std::optional<bool> skip_immediately;
  int keep_last = 0;  // arca extension: see kKeepLastAnnotation in controller/gc_controller.h
  // arca extension: grandfather-father-son retention, see controller/retention.h
  int keep_hourly = 0, keep_daily = 0, keep_weekly = 0, keep_monthly = 0, keep_yearly = 0;
  bool verify = false;  // arca extension: see kAnnotationScheduleVerify in controller/protection.h
  int restore_test_every = 0;  // arca extension: see controller/restore_check.h
  std::string decryption_key_secret;  // for the restore tests of an encrypted location's backups
};
int schedule_create(Session& session, const ScheduleCreateOptions& options, std::ostream& out);
int schedule_get(Session& session, const std::vector<std::string>& names, const std::string& selector,
                 const OutputFlags& output, std::ostream& out);
int schedule_describe(Session& session, const std::vector<std::string>& names, const std::string& selector,
                      std::ostream& out);
int schedule_delete(Session& session, const std::vector<std::string>& names, bool all, const std::string& selector,
                    bool confirm, std::ostream& out);
// pause/unpause: exactly one of names, --all, selector.
int schedule_set_paused(Session& session, const std::vector<std::string>& names, bool all, const std::string& selector,
                        bool paused, std::optional<bool> skip_immediately, std::ostream& out);

// `arca install` (Velero's pkg/cmd/cli/install/install.go). With -o the resources are printed; with --dry-run nothing is applied.
struct InstallCommandOptions {
  install::InstallOptions resources;
  std::string secret_file, cacert, output;
  bool dry_run = false, crds_only = false;
  bool wait = false;   // until the Deployment has an available replica
  bool apply = false;  // objects that exist are updated to the generated ones instead of left alone
};
int install(Session& session, const InstallCommandOptions& options, std::ostream& out);
// `backup-location set NAME` (--default unsets the others; --credential SECRET=KEY; --cacert FILE) and
// `backup-location delete` (the location's Backups are deleted from the cluster, not from storage).
struct LocationSetOptions {
  std::string name, credential, cacert;
  bool is_default = false;
};
int location_set(Session& session, const LocationSetOptions& options, std::ostream& out);
int location_delete(Session& session, const std::vector<std::string>& names, bool all, const std::string& selector,
                    bool confirm, std::ostream& out);

struct SnapshotLocationCreateOptions {
  std::string name, provider, credential, output;
  std::map<std::string, std::string> config, labels;
};
int snapshot_location_create(Session& session, const SnapshotLocationCreateOptions& options, std::ostream& out);
int snapshot_location_get(Session& session, const std::vector<std::string>& names, const std::string& selector,
                          const OutputFlags& output, std::ostream& out);
int snapshot_location_set(Session& session, const std::string& name, const std::string& credential, std::ostream& out);

// A ServerStatusRequest, once the server has processed it (the server's version and plugins).
api::ServerStatusRequest server_status(Session& session, std::chrono::seconds timeout);
// Client version, and the server's through a ServerStatusRequest (an error line instead when it cannot answer).
int version(Session& session, bool client_only, std::chrono::seconds timeout, std::ostream& out);

// The client config file (Velero's pkg/client/config.go): $HOME/.config/velero/config.json, a JSON object of strings.
// Its `namespace` beats $VELERO_NAMESPACE and loses to -n. Read errors are a warning, not fatal.
std::string client_config_path();
std::map<std::string, std::string> read_client_config(std::ostream& warnings);
// KEY=VALUE pairs; an empty VALUE removes the key; malformed pairs are skipped with a warning.
int client_config_set(const std::vector<std::string>& assignments, std::ostream& out, std::ostream& err);
int client_config_get(const std::vector<std::string>& keys, std::ostream& out, std::ostream& err);

// `arca completion SHELL`: for each command path ("arca", "arca backup", ...) the words that may follow it.
struct CompletionWord {
  std::string name, description;
  // Flags only: the one-letter alias ("n" for namespace), and whether the next word is the flag's value.
  std::string short_name;
  bool takes_value = false;
};
struct CompletionEntry {
  std::vector<CompletionWord> words;  // subcommands (and fixed arguments)
  std::vector<CompletionWord> flags;  // long flags, without the leading "--"
};
using CompletionTree = std::map<std::string, CompletionEntry>;
const std::vector<std::string>& completion_shells();  // bash, zsh, fish
// A script for `shell` that completes from `tree`; source it (bash, zsh after compinit) or pipe it to `source`
// (fish). Throws std::invalid_argument for another shell.
std::string completion_script(const CompletionTree& tree, const std::string& shell);

// `arca debug` (Velero's pkg/cmd/cli/debug/debug.go): a support bundle, a .tar.gz of the server's Deployment and
// pod logs, every velero.io object of the namespace (locations with their status) and the logs of --backup and
// --restore. Secrets are never read; credentials in logs and location config are masked.
struct DebugOptions {
  std::string output, backup, restore;
  bool verbose = false;
};
int debug_bundle(Session& session, const DebugOptions& options, std::ostream& out);
// `arca bug`: the body of a bug report (version, platform, kubectl version, features) and where to file it.
int bug_report(std::ostream& out);

// Deletes the namespace, the install's ClusterRoleBinding and the CRDs labelled component=velero.
int uninstall(Session& session, bool force, std::ostream& out);

}  // namespace arca::cli
