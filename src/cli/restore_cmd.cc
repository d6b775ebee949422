// `arca restore create|get|describe|logs|delete` (Velero's pkg/cmd/cli/restore/create.go; Velero's pkg/cmd/cli/restore) and `restore create --dry-run`,
// which runs the restore engine locally in dry-run mode and prints per object what a restore would do.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <thread>

#include "api/types.h"
#include "cli/app.h"
#include "controller/resource_policy.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/trust_cmd.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "kube/transport.h"
#include "persistence/backup_store.h"
#include "restore/engine.h"
#include "restore/modifiers.h"
#include "util/duration.h"
#include "util/label_selector.h"
#include "util/names.h"

namespace arca::cli {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// describe shows the counts alone when the details cannot be fetched in this time.
constexpr std::chrono::seconds kDescribeDownloadTimeout{5};

struct RestoreFlags {
  std::string name, from_backup, from_schedule, existing_resource_policy, resource_modifier_configmap, selector,
      or_selector, output, item_operation_timeout, decryption_key_secret, decryption_key_file,
      resource_policies_configmap;
  std::vector<std::string> inc_ns, exc_ns, inc_res, exc_res, status_inc, status_exc, mappings, labels, annotations,
      icr, restore_volumes, preserve_nodeports, allow_partially_failed;
  bool wait = false, dry_run = false, skip_verify = false, skip_default_resource_modifier = false;
  // get / describe / logs / delete
  std::vector<std::string> names;
  std::string list_selector, get_output = "table";
  std::vector<std::string> label_columns, write_sparse_files;
  bool details = false, all = false, confirm = false, show_labels = false;
  int parallel_files_download = 0;
  std::string timeout = "1m";
  DownloadOptions tls;  // --cacert, --insecure-skip-tls-verify
  // The TLS flags with another timeout.
  DownloadOptions download_options(std::chrono::seconds timeout) const {
    DownloadOptions options = tls;
    options.timeout = timeout;
    return options;
  }
};

std::string phase_of(const api::Restore& r) {
  std::string phase = r.status.phase == api::RestorePhase::unset ? "New" : std::string(api::to_string(r.status.phase));
  return r.metadata.deletion_timestamp ? phase + " (Deleting)" : phase;
}

bool finished(api::RestorePhase phase) {
  using P = api::RestorePhase;
  return phase == P::FailedValidation || phase == P::Completed || phase == P::PartiallyFailed || phase == P::Failed;
}

std::vector<std::string> or_selectors(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t pos; (pos = text.find(" or ", start)) != std::string::npos; start = pos + 4)
    out.push_back(text.substr(start, pos - start));
  out.push_back(text.substr(start));
  return out;
}

api::Restore build_restore(Session& s, const RestoreFlags& f) {
  if (f.from_backup.empty() == f.from_schedule.empty())
    throw std::invalid_argument("either a backup or schedule must be specified, but not both");
  api::Restore r;
  r.metadata.name = f.name.empty() ? timestamped_name(f.from_backup.empty() ? f.from_schedule : f.from_backup,
                                                      now_seconds())
                                   : f.name;
  r.metadata.namespace_ = s.ns();
  r.metadata.labels = parse_map_flag(f.labels, "--labels");
  r.metadata.annotations = parse_map_flag(f.annotations, "--annotations");
  add_protection_flags(r, f.decryption_key_secret, f.decryption_key_file, f.skip_verify);
  auto& spec = r.spec;
  spec.backup_name = f.from_backup;
  spec.schedule_name = f.from_schedule;
  spec.included_namespaces = f.inc_ns.empty() ? std::vector<std::string>{"*"} : last_csv(f.inc_ns);
  spec.excluded_namespaces = last_csv(f.exc_ns);
  spec.included_resources = last_csv(f.inc_res);
  spec.excluded_resources = last_csv(f.exc_res);
  spec.namespace_mapping = parse_map_flag(f.mappings, "--namespace-mappings", ':');  // accumulates (flag.Map)
  if (!f.existing_resource_policy.empty() && f.existing_resource_policy != "none" &&
      f.existing_resource_policy != "update")
    throw std::invalid_argument("invalid argument \"" + f.existing_resource_policy +
                                "\" for \"--existing-resource-policy\": must be none or update");
  spec.existing_resource_policy = f.existing_resource_policy;
  if (!f.status_inc.empty()) spec.restore_status = api::RestoreStatusSpec{last_csv(f.status_inc), last_csv(f.status_exc), {}};
  if (!f.selector.empty() && !f.or_selector.empty())
    throw std::invalid_argument("either a 'selector' or an 'or-selector' can be specified, but not both");
  if (!f.selector.empty()) spec.label_selector = parse_label_selector(f.selector);
  if (!f.or_selector.empty())
    for (const auto& one : or_selectors(f.or_selector)) spec.or_label_selectors.push_back(parse_label_selector(one));
  spec.include_cluster_resources = parse_optional_bool(f.icr, "--include-cluster-resources");
  spec.restore_pvs = parse_optional_bool(f.restore_volumes, "--restore-volumes");
  spec.preserve_node_ports = parse_optional_bool(f.preserve_nodeports, "--preserve-nodeports");
  if (!f.item_operation_timeout.empty()) spec.item_operation_timeout = parse_duration(f.item_operation_timeout);
  if (!f.resource_modifier_configmap.empty())
    spec.resource_modifier = api::TypedLocalObjectReference{"", "configmap", f.resource_modifier_configmap, {}};
  // Set only when given, as Velero's create.go does (boolptr.True()), so an older server's CRD never sees it.
  if (f.skip_default_resource_modifier) spec.skip_default_resource_modifier = true;
  if (!f.resource_policies_configmap.empty())
    spec.resource_policy = api::TypedLocalObjectReference{"", "configmap", f.resource_policies_configmap, {}};
  spec.uploader_config.emplace();
  if (f.parallel_files_download < 0) throw std::invalid_argument("parallel-files-download cannot be negative");
  return r;
}

// ---- downloads through a DownloadRequest (Velero's pkg/cmd/util/downloadrequest/downloadrequest.go) ----
void download(Session& s, api::DownloadTargetKind kind, const std::string& name, const DownloadOptions& options,
              const std::function<void(const char*, size_t)>& sink) {
  fetch_url(download_url(s, kind, name, options.timeout), options, sink);
}

// ---- create ----
// The server's --default-resource-modifier-configmap, read from the arguments of the `velero` Deployment that
// `arca install` or `velero install` created; "" when there is none (a server run by hand keeps its flags).
std::string server_default_modifier_configmap(Session& s) {
  json deployment;
  try {
    deployment = kube::DynamicClient(s.transport()).get(s.discovery().lookup("apps", "v1", "deployments"), s.ns(), "velero");
  } catch (const std::exception&) {
    return "";
  }
  const std::string flag = "--default-resource-modifier-configmap";
  for (const auto& container : deployment.value("/spec/template/spec/containers"_json_pointer, json::array())) {
    const auto args = container.value("args", std::vector<std::string>());
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i].rfind(flag + "=", 0) == 0) return args[i].substr(flag.size() + 1);
      if (args[i] == flag && i + 1 < args.size()) return args[i + 1];
    }
  }
  return "";
}

int dry_run(Session& s, const api::Restore& restore, std::ostream& out) {
  api::Restore r = restore;
  if (r.spec.backup_name.empty())
    throw std::invalid_argument("--dry-run needs --from-backup (the schedule's backup is chosen by the server)");
  kube::DynamicClient client(s.transport());
  std::optional<restore::ResourceModifiers> modifiers;
  if (r.spec.resource_modifier) {
    modifiers = restore::parse_modifiers_configmap(
        client.get(s.core("configmaps"), s.ns(), r.spec.resource_modifier->name));
  } else if (!r.spec.skip_default_resource_modifier.value_or(false)) {
    // What the server would apply (Velero 1.19's default modifier), found where an install puts the setting.
    std::string name = server_default_modifier_configmap(s);
    try {
      if (!name.empty()) modifiers = restore::parse_modifiers_configmap(client.get(s.core("configmaps"), s.ns(), name));
    } catch (const std::exception& e) {
      std::cerr << "Warning: the server's default resource modifier configmap " << s.ns() << "/" << name
                << " is skipped, as the server skips it: " << e.what() << "\n";
    }
  }
  FineGrainedFilters fine_grained;
  if (r.spec.resource_policy) {
    json cm = client.get(s.core("configmaps"), s.ns(), r.spec.resource_policy->name);
    try {
      fine_grained = controller::parse_restore_resource_policy(cm.value("data", std::map<std::string, std::string>()));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("resource policies configmap " + r.spec.resource_policy->name + ": " + e.what());
    }
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> tar(std::tmpfile(), &std::fclose);
  if (!tar) throw std::runtime_error("cannot create a temporary file for the backup tarball");
  DownloadOptions options300;
  options300.timeout = 300s;
  download(s, api::DownloadTargetKind::BackupContents, r.spec.backup_name, options300,
           [&](const char* data, size_t size) { std::fwrite(data, 1, size, tar.get()); });
  std::rewind(tar.get());
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> log_file(std::tmpfile(), &std::fclose);
  std::string log_path = "/proc/self/fd/" + std::to_string(fileno(log_file.get()));
  restore::RestoreLog log(log_path, s.ns() + "/" + r.metadata.name);
  restore::EngineOptions options;
  options.dry_run = true;
  options.plugin_namespace = s.ns();
  options.modifiers = modifiers ? &*modifiers : nullptr;
  options.fine_grained = std::move(fine_grained);
  restore::RestoreOutcome outcome;
  restore::run_restore(r, [&](char* b, size_t n) { return std::fread(b, 1, n, tar.get()); }, s.transport(),
                       s.discovery(), log, options, outcome);
  std::map<restore::DryRunVerdict, int> counts;
  for (const auto& item : outcome.dry_run) {
    ++counts[item.verdict];
    out << restore::to_string(item.verdict) << ": " << item.resource_id << "\n" << item.diff;
  }
  out << "Dry run of restore from backup " << r.spec.backup_name << ": "
      << counts[restore::DryRunVerdict::would_create] << " would be created, "
      << counts[restore::DryRunVerdict::identical] << " skipped as identical, "
      << counts[restore::DryRunVerdict::differs] << " differ (left untouched"
      << (r.spec.existing_resource_policy == "update" ? ", updated with --existing-resource-policy=update" : "")
      << "); nothing was changed.\n";
  for (const auto& message : outcome.errors.velero) out << "error: " << message << "\n";
  for (const auto& [ns, messages] : outcome.errors.namespaces)
    for (const auto& message : messages) out << "error: " << message << "\n";
  return 0;
}

std::string cell(const std::optional<Timestamp>& t) { return t ? format_rfc3339(*t) : "<nil>"; }

// Velero's restore columns, then kubectl's printer extras: a column per -L label (headed by the key's last path
// segment, upper-cased), then LABELS with --show-labels.
std::string restore_table(const std::vector<api::Restore>& restores, const RestoreFlags& f) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "BACKUP", "STATUS", "STARTED", "COMPLETED", "ERRORS", "WARNINGS", "CREATED", "SELECTOR"}};
  std::vector<std::map<std::string, std::string>> labels;
  for (const auto& r : restores) {
    rows.push_back({r.metadata.name, r.spec.backup_name, phase_of(r), cell(r.status.start_timestamp),
                    cell(r.status.completion_timestamp), std::to_string(r.status.errors),
                    std::to_string(r.status.warnings), cell(r.metadata.creation_timestamp),
                    format_label_selector(r.spec.label_selector ? &*r.spec.label_selector : nullptr)});
    labels.push_back(r.metadata.labels);
  }
  add_label_columns(rows, labels, {"", f.label_columns, f.show_labels});
  return text_table(rows);
}

// --from-schedule checks that the schedule has backups; with --allow-partially-failed the CLI itself picks the
// newest Completed or PartiallyFailed one (by startTimestamp) and sends its name instead of the schedule's, since
// the server only takes Completed backups of a schedule (Velero's pkg/cmd/cli/restore/create.go).
void resolve_schedule(Session& s, const RestoreFlags& f, api::Restore& r) {
  std::vector<api::Backup> backups;
  kube::ListOptions options;
  options.label_selector = "velero.io/schedule-name=" + f.from_schedule;
  kube::DynamicClient(s.transport()).list(s.velero("backups"), s.ns(), options, [&](const kube::ListItem& item) {
    backups.push_back(item.parse().get<api::Backup>());
  });
  if (backups.empty()) throw std::invalid_argument("No backups found for the schedule " + f.from_schedule);
  if (parse_optional_bool(f.allow_partially_failed, "--allow-partially-failed") != true) return;
  const api::Backup* newest = nullptr;
  for (const auto& b : backups) {
    if (b.status.phase != api::BackupPhase::Completed && b.status.phase != api::BackupPhase::PartiallyFailed) continue;
    if (newest == nullptr ||
        b.status.start_timestamp.value_or(Timestamp{}) > newest->status.start_timestamp.value_or(Timestamp{}))
      newest = &b;
  }
  if (newest == nullptr) return;  // the server reports that the schedule has no completed backup
  r.spec.backup_name = newest->metadata.name;
  r.spec.schedule_name.clear();
}

int create(Session& s, const RestoreFlags& f, std::ostream& out) {
  api::Restore r = build_restore(s, f);
  if (!f.from_schedule.empty()) resolve_schedule(s, f, r);
  if (f.dry_run) return dry_run(s, r, out);
  if (f.output == "table") {  // printed, not submitted, as any -o on create
    out << restore_table({r}, f);
    return 0;
  }
  if (!f.output.empty()) {
    if (f.output != "json" && f.output != "yaml") throw std::invalid_argument("invalid output format '" + f.output + "'");
    json object = r;
    object["apiVersion"] = "velero.io/v1";
    object["kind"] = "Restore";
    out << format_objects({object}, f.output);
    return 0;
  }
  kube::DynamicClient client(s.transport());
  if (!f.from_backup.empty()) client.get(s.velero("backups"), s.ns(), f.from_backup);  // must exist
  json object = r;
  object["apiVersion"] = "velero.io/v1";
  object["kind"] = "Restore";
  if (!f.decryption_key_file.empty()) create_transient_key_secret(s, r, f.decryption_key_file);
  client.create(s.velero("restores"), s.ns(), object);
  out << "Restore request \"" << r.metadata.name << "\" submitted successfully.\n";
  if (!f.wait) {
    out << "Run `arca restore describe " << r.metadata.name << "` or `arca restore logs " << r.metadata.name
        << "` for more details.\n";
    return 0;
  }
  out << "Waiting for restore to complete. You may safely press ctrl-c to stop waiting - your restore will continue "
         "in the background.\n";
  for (;;) {
    auto current = client.get(s.velero("restores"), s.ns(), r.metadata.name).get<api::Restore>();
    if (finished(current.status.phase)) {
      out << "\nRestore completed with status: " << phase_of(current) << ". You may check for more information using "
          << "the commands `arca restore describe " << r.metadata.name << "` and `arca restore logs "
          << r.metadata.name << "`.\n";
      return 0;
    }
    out << "." << std::flush;
    std::this_thread::sleep_for(1s);
  }
}

// ---- get / describe / logs / delete ----
std::vector<api::Restore> select(Session& s, const std::vector<std::string>& names, const std::string& selector) {
  kube::DynamicClient client(s.transport());
  std::vector<api::Restore> restores;
  if (!names.empty()) {
    for (const auto& n : names) restores.push_back(client.get(s.velero("restores"), s.ns(), n).get<api::Restore>());
    return restores;
  }
  kube::ListOptions options;
  options.label_selector = selector;
  client.list(s.velero("restores"), s.ns(), options,
              [&](const kube::ListItem& item) { restores.push_back(item.parse().get<api::Restore>()); });
  return restores;
}

int get(Session& s, const RestoreFlags& f, std::ostream& out) {
  auto restores = select(s, f.names, f.list_selector);
  if (f.get_output == "json" || f.get_output == "yaml") {
    std::vector<json> objects;
    for (const auto& r : restores) {
      json o = r;
      o["apiVersion"] = "velero.io/v1";
      o["kind"] = "Restore";
      objects.push_back(o);
    }
    out << format_objects(objects, f.get_output);
    return 0;
  }
  if (f.get_output != "table") throw std::invalid_argument("invalid output format '" + f.get_output + "'");
  out << restore_table(restores, f);
  return 0;
}

std::string list_or(const std::vector<std::string>& items, const std::string& none) {
  if (items.empty()) return none;
  std::string joined;
  for (const auto& i : items) joined += (joined.empty() ? "" : ", ") + i;
  return joined;
}

std::string tri_state(const std::optional<bool>& value) { return value ? (*value ? "true" : "false") : "auto"; }

void describe_result(const json& result, std::ostream& out) {
  if (result.contains("velero")) out << "    Velero:     " << list_or(result["velero"].get<std::vector<std::string>>(), "") << "\n";
  if (result.contains("cluster")) out << "    Cluster:    " << list_or(result["cluster"].get<std::vector<std::string>>(), "") << "\n";
  if (result.contains("namespaces")) {
    out << "    Namespaces:\n";
    for (const auto& [ns, messages] : result["namespaces"].items())
      for (const auto& message : messages) out << "      " << ns << ":  " << message.get<std::string>() << "\n";
  }
}

int describe(Session& s, const RestoreFlags& f, std::ostream& out) {
  bool first = true;
  for (const auto& r : select(s, f.names, f.list_selector)) {
    if (!first) out << "\n\n";
    first = false;
    out << "Name:         " << r.metadata.name << "\nNamespace:    " << r.metadata.namespace_ << "\n";
    std::string labels;
    for (const auto& [k, v] : r.metadata.labels) labels += (labels.empty() ? "" : "\n              ") + k + "=" + v;
    out << "Labels:       " << (labels.empty() ? "<none>" : labels) << "\n\n";
    out << "Phase:                       " << phase_of(r);
    if (r.status.phase == api::RestorePhase::Failed || r.status.phase == api::RestorePhase::PartiallyFailed)
      out << " (run 'arca restore logs " << r.metadata.name << "' for more information)";
    out << "\n";
    if (!r.status.failure_reason.empty()) out << "Failure reason:              " << r.status.failure_reason << "\n";
    if (r.status.progress) {
      bool running = r.status.phase == api::RestorePhase::InProgress;
      out << (running ? "Estimated total items to be restored:  " : "Total items to be restored:  ")
          << r.status.progress->total_items << "\n"
          << (running ? "Items restored so far:                 " : "Items restored:              ")
          << r.status.progress->items_restored << "\n";
    }
    out << "\nStarted:    " << (r.status.start_timestamp ? format_rfc3339(*r.status.start_timestamp) : "<n/a>") << "\n";
    out << "Completed:  " << (r.status.completion_timestamp ? format_rfc3339(*r.status.completion_timestamp) : "<n/a>")
        << "\n";
    if (!r.status.validation_errors.empty()) {
      out << "\nValidation errors:";
      for (const auto& e : r.status.validation_errors) out << "  " << e << "\n";
    }
    if (r.status.warnings > 0 || r.status.errors > 0) {
      json results;
      // As Velero's restore describer: a failure to fetch the results is printed, not dropped, so counts without
      // details say why.
      try {
        results = json::parse(download_document(s, api::DownloadTargetKind::RestoreResults, r.metadata.name, f.download_options(kDescribeDownloadTimeout), "the results"));
      } catch (const std::exception& e) {
        out << "\n<error getting restore results: " << e.what() << ">\n";
      }
      out << "\nWarnings:  " << r.status.warnings << "\n";
      if (results.contains("warnings")) describe_result(results["warnings"], out);
      out << "\nErrors:  " << r.status.errors << "\n";
      if (results.contains("errors")) describe_result(results["errors"], out);
    }
    const auto& spec = r.spec;
    out << "\nBackup:  " << spec.backup_name << "\n";
    bool all_ns = spec.included_namespaces.empty() ||
                  (spec.included_namespaces.size() == 1 && spec.included_namespaces[0] == "*");
    out << "\nNamespaces:\n  Included:  " << (all_ns ? "all namespaces found in the backup" : list_or(spec.included_namespaces, ""))
        << "\n  Excluded:  " << list_or(spec.excluded_namespaces, "<none>") << "\n";
    out << "\nResources:\n  Included:        " << list_or(spec.included_resources, "*")
        << "\n  Excluded:        " << list_or(spec.excluded_resources, "<none>") << "\n  Cluster-scoped:  "
        << (spec.include_cluster_resources ? (*spec.include_cluster_resources ? "included" : "excluded") : "auto") << "\n";
    std::vector<std::string> mappings;
    for (const auto& [from, to] : spec.namespace_mapping) mappings.push_back(from + "=" + to);
    out << "\nNamespace mappings:  " << list_or(mappings, "<none>") << "\n";
    out << "\nLabel selector:  " << format_label_selector(spec.label_selector ? &*spec.label_selector : nullptr) << "\n";
    std::vector<std::string> ors;
    for (const auto& sel : spec.or_label_selectors) ors.push_back(format_label_selector(&sel));
    out << "\nOr label selector:  " << list_or(ors, "<none>") << "\n";
    out << "\nRestore PVs:  " << tri_state(spec.restore_pvs) << "\n";
    out << "\nExisting Resource Policy:   " << (spec.existing_resource_policy.empty() ? "<none>" : spec.existing_resource_policy)
        << "\nItemOperationTimeout:       " << (spec.item_operation_timeout ? format_duration(*spec.item_operation_timeout) : "")
        << "\n\nPreserve Service NodePorts:  " << tri_state(spec.preserve_node_ports) << "\n";
    if (spec.resource_modifier)
      out << "\nResource modifier:\n  Type:  " << spec.resource_modifier->kind << "\n  Name:  " << spec.resource_modifier->name << "\n";
    else if (spec.skip_default_resource_modifier.value_or(false))
      out << "\nDefault Resource Modifier:  skipped (SkipDefaultResourceModifier=true)\n";
    if (spec.resource_policy)
      out << "\nResource policies:\n  Type:  " << spec.resource_policy->kind << "\n  Name:  " << spec.resource_policy->name
          << "\n";
    if (r.status.hook_status)
      out << "\nHooksAttempted:   " << r.status.hook_status->hooks_attempted
          << "\nHooksFailed:      " << r.status.hook_status->hooks_failed << "\n";
    if (f.details) {
      out << "\nResource List:\n";
      try {
        json list = json::parse(download_document(s, api::DownloadTargetKind::RestoreResourceList, r.metadata.name, f.download_options(kDescribeDownloadTimeout), "the resource list"));
        for (const auto& [kind, entries] : list.items()) {
          out << "  " << kind << ":\n";
          for (const auto& entry : entries) out << "    - " << entry.get<std::string>() << "\n";
        }
      } catch (const std::exception& e) {
        out << "  <error getting restore resource list: " << e.what() << ">\n";
      }
    }
  }
  return 0;
}

int logs(Session& s, const RestoreFlags& f, std::ostream& out) {
  if (f.names.size() != 1) throw std::invalid_argument("restore logs needs exactly one restore name");
  auto r = kube::DynamicClient(s.transport()).get(s.velero("restores"), s.ns(), f.names[0]).get<api::Restore>();
  using P = api::RestorePhase;
  if (r.status.phase != P::Completed && r.status.phase != P::PartiallyFailed && r.status.phase != P::Failed &&
      r.status.phase != P::WaitingForPluginOperations && r.status.phase != P::WaitingForPluginOperationsPartiallyFailed)
    throw std::runtime_error("logs for restore \"" + f.names[0] + "\" are not available until it's finished processing, "
                             "please wait until the restore has a phase of Completed or Failed and try again");
  auto timeout = std::chrono::duration_cast<std::chrono::seconds>(parse_duration(f.timeout));
  out << download_document(s, api::DownloadTargetKind::RestoreLog, f.names[0], f.download_options(timeout), "the log");
  return 0;
}

int remove(Session& s, const RestoreFlags& f, std::ostream& out) {
  int given = (!f.names.empty()) + f.all + (!f.list_selector.empty());
  if (given != 1) throw std::invalid_argument("at least one of restore names, --all or --selector must be specified, "
                                              "and only one of them");
  auto restores = select(s, f.names, f.list_selector);
  if (restores.empty()) {
    out << "No restores found\n";
    return 0;
  }
  while (!f.confirm) {
    out << "Are you sure you want to continue (Y/N)? " << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer) || answer == "n" || answer == "N") return 0;
    if (answer == "y" || answer == "Y") break;
  }
  kube::DynamicClient client(s.transport());
  for (const auto& r : restores) {
    client.remove(s.velero("restores"), s.ns(), r.metadata.name);
    out << "Request to delete restore \"" << r.metadata.name << "\" submitted successfully.\n"
        << "The restore will be fully deleted after all associated data (restore files in object storage) are removed.\n";
  }
  return 0;
}

// One RestoreFlags per mounted command (a command is mounted under `restore` and again under a kubectl verb).
auto run(Cli& cli, RestoreFlags& f, int (*work)(Session&, const RestoreFlags&, std::ostream&)) {
  return [&cli, &f, work] { cli.run([&f, work](Session& s) { return work(s, f, std::cout); }); };
}

}  // namespace

void define_restore_create(CLI::App* cmd, Cli& cli) {
  auto& f = cli.make<RestoreFlags>();
  cmd->description("Create a restore");
  cmd->add_option("NAME", f.name, "Restore name (default: <backup>-<timestamp>)");
  string_flag(cmd, "--from-backup", f.from_backup, "Backup to restore from");
  string_flag(cmd, "--from-schedule", f.from_schedule, "Schedule to restore from");
  optional_bool(cmd, "--allow-partially-failed", f.allow_partially_failed,
                "If using --from-schedule, whether to consider PartiallyFailed backups when looking for the most "
                "recent one. This flag has no effect if not using --from-schedule.");
  string_array(cmd, "--include-namespaces", f.inc_ns, "Namespaces to include in the restore (use '*' for all namespaces).")
      ->default_str("*");
  string_array(cmd, "--exclude-namespaces", f.exc_ns, "Namespaces to exclude from the restore.");
  map_flag(cmd, "--namespace-mappings", f.mappings,
           "Namespace mappings from name in the backup to desired restored name in the form src1:dst1,src2:dst2,...");
  map_flag(cmd, "--labels", f.labels, "Labels to apply to the restore.");
  map_flag(cmd, "--annotations", f.annotations, "Annotations to apply to the restore.");
  string_array(cmd, "--include-resources", f.inc_res,
               "Resources to include in the restore, formatted as resource.group, such as storageclasses.storage.k8s.io "
               "(use '*' for all resources).");
  string_array(cmd, "--exclude-resources", f.exc_res,
               "Resources to exclude from the restore, formatted as resource.group, such as "
               "storageclasses.storage.k8s.io.");
  string_flag(cmd, "--existing-resource-policy", f.existing_resource_policy,
              "Restore Policy to be used during the restore workflow, can be - none or update");
  string_array(cmd, "--status-include-resources", f.status_inc,
               "Resources to include in the restore status, formatted as resource.group, such as "
               "storageclasses.storage.k8s.io.");
  string_array(cmd, "--status-exclude-resources", f.status_exc,
               "Resources to exclude from the restore status, formatted as resource.group, such as "
               "storageclasses.storage.k8s.io.");
  selector_flag(cmd, f.selector, "Only restore resources matching this label selector.");
  string_flag(cmd, "--or-selector", f.or_selector,
              "Restore resources matching at least one of the label selector from the list. Label selectors should "
              "be separated by ' or '. For example, foo=bar or app=nginx")
      ->type_name("orLabelSelector");
  optional_bool(cmd, "--restore-volumes", f.restore_volumes,
                "Whether to restore volumes from snapshots.");
  optional_bool(cmd, "--preserve-nodeports", f.preserve_nodeports,
                "Whether to preserve nodeports of Services when restoring.");
  optional_bool(cmd, "--include-cluster-resources", f.icr, "Include cluster-scoped resources in the restore.");
  duration_flag(cmd, "--item-operation-timeout", f.item_operation_timeout,
                "How long to wait for async plugin operations before timeout.");
  string_flag(cmd, "--resource-modifier-configmap", f.resource_modifier_configmap,
              "Reference to the resource modifier configmap that restore will use");
  bool_flag(cmd, "--skip-default-resource-modifier", f.skip_default_resource_modifier,
            "Skip applying the server-configured default resource modifier for this restore");
  string_flag(cmd, "--resource-policies-configmap", f.resource_policies_configmap,
              "Reference to the resource policies configmap (namespacedFilterPolicies, clusterScopedFilterPolicy) "
              "that restore should use");
  optional_bool(cmd, "--write-sparse-files", f.write_sparse_files,
                "Whether to write sparse files during restoring volumes");
  int_flag(cmd, "--parallel-files-download", f.parallel_files_download,
           "The number of restore operations to run in parallel. If set to 0, the default parallelism will be the "
           "number of CPUs for the node that node agent pod is running.");
  string_flag(cmd, "--decryption-key-secret", f.decryption_key_secret,
              "arca: Secret (in the server's namespace) holding the age identity (AGE-SECRET-KEY-1...) of an "
              "encrypted backup");
  string_flag(cmd, "--decryption-key-file", f.decryption_key_file,
              "arca: age identity file (age-keygen's output) for an encrypted backup; put in a Secret that is deleted "
              "when the restore is over");
  bool_flag(cmd, "--skip-verify", f.skip_verify,
            "arca: restore even if the backup fails its signed verification (logged)");
  bool_flag(cmd, "-w,--wait", f.wait, "Wait for the operation to complete.");
  bool_flag(cmd, "--dry-run", f.dry_run,
            "arca: show per object what the restore would do (create, skip as identical, or differs, with a diff) "
            "without changing anything");
  string_flag(cmd, "-o,--output", f.output,
              "Output display format. For create commands, display the object but do not send it to the server. "
              "Valid formats are 'table', 'json', and 'yaml'.");
  string_array(cmd, "-L,--label-columns", f.label_columns,
               "Accepts a comma separated list of labels that are going to be presented as columns. Names are "
               "case-sensitive. You can also use multiple flag options like -L label1 -L label2...");
  bool_flag(cmd, "--show-labels", f.show_labels, "Show labels in the last column");
  cmd->callback([&cli, &f] {
    cli.run([&f](Session& s) {
      int code = create(s, f, std::cout);
      if (code != 0 || !f.output.empty() || f.dry_run) return code;  // warned only once the restore is in
      if (parse_optional_bool(f.write_sparse_files, "--write-sparse-files").has_value())
        warn_not_built("--write-sparse-files", "restoring pod volume data");
      if (f.parallel_files_download > 0) warn_not_built("--parallel-files-download", "restoring pod volume data");
      return code;
    });
  });
}

void define_restore_get(CLI::App* cmd, Cli& cli) {
  auto& f = cli.make<RestoreFlags>();
  cmd->description("Get restores");
  cmd->add_option("NAMES", f.names, "Restore names");
  selector_flag(cmd, f.list_selector, "Only show items matching this label selector.");
  string_flag(cmd, "-o,--output", f.get_output, "Output display format. Valid formats are 'table', 'json', and 'yaml'.");
  string_array(cmd, "-L,--label-columns", f.label_columns,
               "Accepts a comma separated list of labels that are going to be presented as columns. Names are "
               "case-sensitive. You can also use multiple flag options like -L label1 -L label2...");
  bool_flag(cmd, "--show-labels", f.show_labels, "Show labels in the last column");
  cmd->callback(run(cli, f, get));
}

void define_restore_describe(CLI::App* cmd, Cli& cli) {
  auto& f = cli.make<RestoreFlags>();
  cmd->description("Describe restores");
  cmd->add_option("NAMES", f.names, "Restore names");
  selector_flag(cmd, f.list_selector, "Only show items matching this label selector.");
  bool_flag(cmd, "--details", f.details, "Display additional detail in the command output.");
  add_tls_flags(cmd, f.tls);
  add_decryption_flag(cmd, f.tls);
  cmd->callback([&cli, &f] {
    if (f.tls.cacert.empty()) f.tls.cacert = read_client_config(std::cerr)["cacert"];
    run(cli, f, describe)();
  });
}

void define_restore_delete(CLI::App* cmd, Cli& cli) {
  auto& f = cli.make<RestoreFlags>();
  cmd->description("Delete restores");
  cmd->add_option("NAMES", f.names, "Restore names");
  bool_flag(cmd, "--all", f.all, "Delete all restores.");
  selector_flag(cmd, f.list_selector, "Delete all restores matching this label selector.");
  bool_flag(cmd, "--confirm", f.confirm, "Confirm deletion");
  cmd->callback(run(cli, f, remove));
}

void add_restore_commands(CLI::App& root, Cli& cli) {
  auto* restore = root.add_subcommand("restore", "Work with restores");
  define_restore_create(restore->add_subcommand("create"), cli);
  define_restore_get(restore->add_subcommand("get"), cli);
  define_restore_describe(restore->add_subcommand("describe"), cli);
  auto& f = cli.make<RestoreFlags>();
  auto* logs_cmd = restore->add_subcommand("logs", "Get restore logs");
  logs_cmd->add_option("RESTORE", f.names, "Restore name")->required()->expected(1);
  duration_flag(logs_cmd, "--timeout", f.timeout, "How long to wait to receive logs.");
  add_tls_flags(logs_cmd, f.tls);
  add_decryption_flag(logs_cmd, f.tls);
  logs_cmd->callback([&cli, &f] {
    if (f.tls.cacert.empty()) f.tls.cacert = read_client_config(std::cerr)["cacert"];
    run(cli, f, logs)();
  });
  define_restore_delete(restore->add_subcommand("delete"), cli);
}

}  // namespace arca::cli
