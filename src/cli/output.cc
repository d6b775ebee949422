#include "cli/output.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <regex>
#include <sstream>

#include "api/validation.h"
#include "controller/restore_check.h"
#include "util/label_selector.h"

namespace arca::cli {
namespace {

// A string that a YAML reader would take for something else (a number, a boolean, null, a date) is written
// quoted, as Kubernetes' serializer (sigs.k8s.io/yaml) does: `prometheus.io/port: "8085"` must stay a string.
bool needs_quotes(const std::string& s) {
  static const std::regex other_type(
      "|~|[yYnN]|yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL"
      "|[-+]?(0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(:[0-5]?[0-9])*)"
      "|[-+]?([0-9][0-9_]*)?\\.?[0-9_]*([eE][-+]?[0-9]+)?"
      "|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)"
      "|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?");
  return std::regex_match(s, other_type);
}

void emit_string(YAML::Emitter& out, const std::string& s) {
  if (needs_quotes(s))
    out << YAML::DoubleQuoted << s;
  else
    out << s;
}

void emit(YAML::Emitter& out, const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [k, v] : j.items()) {
        out << YAML::Key;
        emit_string(out, k);
        out << YAML::Value;
        emit(out, v);
      }
      out << YAML::EndMap;
      break;
    case nlohmann::json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& v : j) emit(out, v);
      out << YAML::EndSeq;
      break;
    case nlohmann::json::value_t::string: emit_string(out, j.get<std::string>()); break;
    case nlohmann::json::value_t::null: out << YAML::Null; break;
    case nlohmann::json::value_t::boolean: out << j.get<bool>(); break;
    case nlohmann::json::value_t::number_integer: out << j.get<int64_t>(); break;
    case nlohmann::json::value_t::number_unsigned: out << j.get<uint64_t>(); break;
    default: out << YAML::Load(j.dump()); break;  // floats: JSON's shortest form
  }
}

std::string go_time(const std::optional<Timestamp>& t) {
  if (!t) return "<nil>";
  std::string s = format_rfc3339(*t);  // 2024-01-02T03:04:05Z
  return s.substr(0, 10) + " " + s.substr(11, 8) + " +0000 UTC";
}

std::string list_or(const std::vector<std::string>& list, const std::string& empty) {
  if (list.empty()) return empty;
  std::string out;
  for (const auto& s : list) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::string text_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], row[i].size());
    }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

void add_label_columns(std::vector<std::vector<std::string>>& rows,
                       const std::vector<std::map<std::string, std::string>>& labels, const OutputFlags& flags) {
  std::vector<std::string> keys;  // every -L counts, each a comma-separated list
  for (const auto& value : flags.label_columns)
    for (size_t start = 0, comma; start <= value.size(); start = comma + 1) {
      comma = std::min(value.find(',', start), value.size());
      if (comma > start) keys.push_back(value.substr(start, comma - start));
    }
  if (rows.empty()) return;
  for (const auto& key : keys) {
    std::string header = key.substr(key.rfind('/') + 1);
    std::transform(header.begin(), header.end(), header.begin(), ::toupper);
    rows[0].push_back(header);
  }
  if (flags.show_labels) rows[0].push_back("LABELS");
  for (size_t i = 0; i + 1 < rows.size() && i < labels.size(); ++i) {
    auto& row = rows[i + 1];
    for (const auto& key : keys) {
      auto value = labels[i].find(key);
      row.push_back(value == labels[i].end() ? "" : value->second);
    }
    if (flags.show_labels) {
      std::string text;
      for (const auto& [key, value] : labels[i]) text += (text.empty() ? "" : ",") + key + "=" + value;
      row.push_back(text.empty() ? "<none>" : text);
    }
  }
}

std::string to_yaml(const nlohmann::json& value) {
  YAML::Emitter out;
  emit(out, value);
  return std::string(out.c_str()) + "\n";
}

std::string format_objects(const std::vector<nlohmann::json>& objects, const std::string& format) {
  nlohmann::json value = objects.size() == 1 ? objects.front()
                                             : nlohmann::json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", objects}};
  if (format == "json") return value.dump(4) + "\n";
  if (format == "yaml") return to_yaml(value);
  throw std::invalid_argument("invalid output format \"" + format + "\"; valid values are 'table', 'json', and 'yaml'");
}

std::string human_duration(std::chrono::seconds d) {
  long s = d.count();
  if (s < 0) s = -s;
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  if (s < 48 * 3600) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

void sort_backups(std::vector<api::Backup>& backups) {
  static const std::regex timestamped("^(.*)-([0-9]{14})$");
  auto key = [](const api::Backup& b) {
    std::smatch m;
    if (std::regex_match(b.metadata.name, m, timestamped)) return std::make_pair(m[1].str(), m[2].str());
    return std::make_pair(b.metadata.name, std::string());
  };
  std::stable_sort(backups.begin(), backups.end(), [&](const api::Backup& a, const api::Backup& b) {
    auto ka = key(a), kb = key(b);
    if (ka.first != kb.first) return ka.first < kb.first;
    return ka.second > kb.second;  // newest first within a schedule's group
  });
}

std::string backup_table(const std::vector<api::Backup>& backups, Timestamp now, const OutputFlags& flags) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "STATUS", "ERRORS", "WARNINGS", "CREATED", "EXPIRES", "STORAGE LOCATION", "QUEUE POSITION",
       "SELECTOR"}};
  for (const auto& b : backups) {
    std::string status = b.metadata.deletion_timestamp ? "Deleting"
                         : b.status.phase == api::BackupPhase::unset
                             ? "New"
                             : std::string(api::to_string(b.status.phase));
    std::optional<Timestamp> expires = b.status.expiration;
    if (!expires && b.spec.ttl && b.spec.ttl->count() > 0 && b.metadata.creation_timestamp)
      expires = *b.metadata.creation_timestamp + std::chrono::duration_cast<std::chrono::seconds>(*b.spec.ttl);
    std::string expires_cell = !expires ? "n/a"
                               : *expires >= now ? human_duration(*expires - now)
                                                 : human_duration(now - *expires) + " ago";
    const LabelSelector* selector = b.spec.label_selector ? &*b.spec.label_selector : nullptr;
    rows.push_back({b.metadata.name, status, std::to_string(b.status.errors), std::to_string(b.status.warnings),
                    go_time(b.status.start_timestamp), expires_cell, b.spec.storage_location,
                    b.status.queue_position == 0 ? "" : std::to_string(b.status.queue_position),
                    format_label_selector(selector)});
  }
  std::vector<std::map<std::string, std::string>> labels;
  for (const auto& b : backups) labels.push_back(b.metadata.labels);
  add_label_columns(rows, labels, flags);
  return text_table(rows);
}

std::string location_table(const std::vector<api::BackupStorageLocation>& locations, const OutputFlags& flags) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "PROVIDER", "BUCKET/PREFIX", "PHASE", "LAST VALIDATED", "ACCESS MODE", "DEFAULT"}};
  for (const auto& l : locations) {
    const auto& os = l.spec.object_storage;
    rows.push_back({l.metadata.name, l.spec.provider, os.prefix.empty() ? os.bucket : os.bucket + "/" + os.prefix,
                    l.status.phase == api::LocationPhase::unset ? "Unknown" : std::string(api::to_string(l.status.phase)),
                    l.status.last_validation_time ? go_time(l.status.last_validation_time) : "Unknown",
                    l.spec.access_mode == api::AccessMode::unset ? "ReadWrite"
                                                                  : std::string(api::to_string(l.spec.access_mode)),
                    l.spec.is_default ? "true" : ""});
  }
  std::vector<std::map<std::string, std::string>> labels;
  for (const auto& l : locations) labels.push_back(l.metadata.labels);
  add_label_columns(rows, labels, flags);
  return text_table(rows);
}

std::string describe_pod_volume_backups(const std::vector<api::PodVolumeBackup>& backups, bool details) {
  std::ostringstream out;
  if (backups.empty()) return "  Pod Volume Backups: <none included>\n";
  // The uploader comes from one source in a backup: the first one says it.
  const std::string uploader(api::to_string(backups.front().spec.uploader_type));
  out << "  Pod Volume Backups - " << uploader << (details ? ":" : " (specify --details for more information):")
      << "\n";
  using Phase = api::VolumeOperationPhase;
  auto group_of = [](Phase p) -> std::string {
    switch (p) {
      case Phase::Completed: return "Completed";
      case Phase::Failed: return "Failed";
      case Phase::InProgress: return "In Progress";
      case Phase::New:
      case Phase::unset: return "New";
      default: return "";  // Velero's describer has no group for the others
    }
  };
  for (const char* phase : {"Completed", "Failed", "In Progress", "New"}) {
    std::map<std::string, std::vector<std::string>> by_pod;
    size_t count = 0;
    for (const auto& b : backups) {
      if (group_of(b.status.phase) != phase) continue;
      ++count;
      std::string volume = b.spec.volume;
      if (b.status.phase == Phase::InProgress && b.status.progress.total_bytes != 0) {
        char percent[32];
        std::snprintf(percent, sizeof percent, " (%.2f%%)",
                      100.0 * static_cast<double>(b.status.progress.bytes_done) /
                          static_cast<double>(b.status.progress.total_bytes));
        volume += percent;
      }
      by_pod[b.spec.pod.namespace_ + "/" + b.spec.pod.name].push_back(volume);
    }
    if (count == 0) continue;
    if (!details) {
      out << "    " << phase << ":  " << count << "\n";
      continue;
    }
    out << "    " << phase << ":\n";
    for (auto& [pod, volumes] : by_pod) {
      std::sort(volumes.begin(), volumes.end());
      out << "      " << pod << ": ";
      for (size_t i = 0; i < volumes.size(); ++i) out << (i ? ", " : "") << volumes[i];
      out << "\n";
    }
  }
  return out.str();
}

namespace {
// Velero's pkg/cmd/util/output/backup_describer.go describeBackupSpec: each resource hook spec with its filters
// and its pre/post exec hooks.
void describe_backup_hooks(std::ostringstream& out, const api::BackupHooks& hooks) {
  if (hooks.resources.empty()) {
    out << "Hooks:  <none>\n\n";
    return;
  }
  out << "Hooks:\n  Resources:\n";
  for (const auto& spec : hooks.resources) {
    out << "    " << spec.name << ":\n";
    out << "      Namespaces:\n        Included:  " << list_or(spec.included_namespaces, "*")
        << "\n        Excluded:  " << list_or(spec.excluded_namespaces, "<none>") << "\n\n";
    out << "      Resources:\n        Included:  " << list_or(spec.included_resources, "*")
        << "\n        Excluded:  " << list_or(spec.excluded_resources, "<none>") << "\n\n";
    out << "      Label selector:  " << format_label_selector(spec.label_selector ? &*spec.label_selector : nullptr) << "\n";
    for (const auto* list : {&spec.pre, &spec.post})
      for (const auto& hook : *list) {
        if (!hook.exec) continue;
        std::string command;
        for (const auto& arg : hook.exec->command) command += (command.empty() ? "" : " ") + arg;
        out << "\n      " << (list == &spec.pre ? "Pre" : "Post") << " Exec Hook:\n";
        out << "        Container:  " << hook.exec->container << "\n";
        out << "        Command:    " << command << "\n";
        out << "        On Error:   " << api::to_string(hook.exec->on_error) << "\n";
        out << "        Timeout:    " << format_duration(hook.exec->timeout.value_or(Duration{0})) << "\n";
      }
  }
  out << "\n";
}
}  // namespace

std::string describe_csi_snapshots(const std::string& volume_info_json, bool details) {
  auto doc = nlohmann::json::parse(volume_info_json.empty() ? "[]" : volume_info_json, nullptr, false);
  std::vector<nlohmann::json> csi;
  if (doc.is_array())
    for (const auto& v : doc)
      if (v.value("backupMethod", "") == "CSISnapshot") csi.push_back(v);
  if (csi.empty()) return "  CSI Snapshots: <none included>\n";
  std::ostringstream out;
  if (!details) {
    out << "  CSI Snapshots: " << csi.size() << " included (specify --details for more information)\n";
    return out.str();
  }
  out << "  CSI Snapshots:\n";
  for (const auto& v : csi) {
    out << "    " << v.value("pvcNamespace", "") << "/" << v.value("pvcName", "") << ":\n";
    const auto& snap = v.value("csiSnapshotInfo", nlohmann::json::object());
    if (v.value("snapshotDataMoved", false)) {
      const auto& moved = v.value("snapshotDataMovementInfo", nlohmann::json::object());
      out << "      Data Movement:\n";
      out << "        Operation ID: " << moved.value("operationID", "") << "\n";
      out << "        Data Mover: " << moved.value("dataMover", "velero") << "\n";
      out << "        Uploader Type: " << moved.value("uploaderType", "") << "\n";
      out << "        Moved data Size (bytes): " << moved.value("size", int64_t{0}) << "\n";
      out << "        Snapshot ID: " << moved.value("snapshotHandle", "") << "\n";
      out << "        Result: " << v.value("result", "") << "\n";
    } else {
      out << "      Snapshot:\n";
      out << "        Operation ID: " << snap.value("operationID", "") << "\n";
      out << "        Snapshot Content Name: " << snap.value("vscName", "") << "\n";
      out << "        Storage Snapshot ID: " << snap.value("snapshotHandle", "") << "\n";
      out << "        Snapshot Size (bytes): " << snap.value("size", int64_t{0}) << "\n";
      out << "        CSI Driver: " << snap.value("driver", "") << "\n";
      out << "        Result: " << v.value("result", "") << "\n";
    }
  }
  return out.str();
}

std::string describe_backup(const api::Backup& b, bool details, const std::string& resource_list_json,
                            const std::string& retention, const std::vector<api::PodVolumeBackup>& pod_volume_backups,
                            const std::string& volume_info_json) {
  std::ostringstream out;
  auto map_text = [](const std::map<std::string, std::string>& m) {
    if (m.empty()) return std::string("<none>");
    std::string s;
    for (const auto& [k, v] : m) s += (s.empty() ? "" : "\n             ") + k + "=" + v;
    return s;
  };
  const auto& spec = b.spec;
  const auto& st = b.status;
  out << "Name:         " << b.metadata.name << "\n";
  out << "Namespace:    " << b.metadata.namespace_ << "\n";
  out << "Labels:       " << map_text(b.metadata.labels) << "\n";
  out << "Annotations:  " << map_text(b.metadata.annotations) << "\n\n";
  std::string phase = st.phase == api::BackupPhase::unset ? "New" : std::string(api::to_string(st.phase));
  out << "Phase:  " << phase;
  if (st.phase == api::BackupPhase::Failed || st.phase == api::BackupPhase::PartiallyFailed)
    out << " (run `arca backup logs " << b.metadata.name << "` for more information)";
  out << "\n";
  if (st.phase == api::BackupPhase::Queued) out << "Queue position:  " << st.queue_position << "\n";
  out << "\n";
  if (!st.failure_reason.empty()) out << "Failure reason:  " << st.failure_reason << "\n\n";
  if (!st.validation_errors.empty()) {
    out << "Validation errors:";
    for (const auto& e : st.validation_errors) out << "  " << e << "\n";
    out << "\n";
  }
  if (st.errors > 0) out << "Errors:    " << st.errors << "\n";
  if (st.warnings > 0) out << "Warnings:  " << st.warnings << "\n";
  if (st.errors > 0 || st.warnings > 0) out << "\n";
  out << "Namespaces:\n  Included:  " << list_or(spec.included_namespaces, "*")
      << "\n  Excluded:  " << list_or(spec.excluded_namespaces, "<none>") << "\n\n";
  out << "Resources:\n";
  if (api::uses_old_resource_filters(spec)) {
    out << "  Included:        " << list_or(spec.included_resources, "*") << "\n";
    out << "  Excluded:        " << list_or(spec.excluded_resources, "<none>") << "\n";
    out << "  Cluster-scoped:  "
        << (!spec.include_cluster_resources ? "auto" : *spec.include_cluster_resources ? "included" : "excluded")
        << "\n\n";
  } else {
    out << "  Included cluster-scoped:    " << list_or(spec.included_cluster_scoped_resources, "<none>") << "\n";
    out << "  Excluded cluster-scoped:    " << list_or(spec.excluded_cluster_scoped_resources, "<none>") << "\n";
    out << "  Included namespace-scoped:  " << list_or(spec.included_namespace_scoped_resources, "*") << "\n";
    out << "  Excluded namespace-scoped:  " << list_or(spec.excluded_namespace_scoped_resources, "<none>") << "\n\n";
  }
  const LabelSelector* selector = spec.label_selector ? &*spec.label_selector : nullptr;
  out << "Label selector:  " << format_label_selector(selector) << "\n\n";
  std::string ors;
  for (const auto& s : spec.or_label_selectors) ors += (ors.empty() ? "" : " or ") + to_selector_string(s);
  out << "Or label selector:  " << (ors.empty() ? "<none>" : ors) << "\n\n";
  out << "Storage Location:  " << spec.storage_location << "\n\n";
  out << "Velero-Native Snapshot PVs:  "
      << (!spec.snapshot_volumes ? "auto" : *spec.snapshot_volumes ? "true" : "false") << "\n";
  out << "File System Backup (Default):  " << (spec.default_volumes_to_fs_backup.value_or(false) ? "true" : "false")
      << "\n";
  out << "Snapshot Move Data:          " << (spec.snapshot_move_data.value_or(false) ? "true" : "false") << "\n";
  out << "Data Mover:                  " << (spec.datamover.empty() ? "velero" : spec.datamover) << "\n";
  // Velero 1.19 (block data mover design, "Backup Describe"): empty means incremental.
  out << "Backup Type:                 " << (spec.backup_type.empty() ? "Incremental" : spec.backup_type) << "\n\n";
  if (spec.resource_policy)  // Velero's DescribeResourcePolicies
    out << "Resource policies:\n  Type:  " << spec.resource_policy->kind << "\n  Name:  " << spec.resource_policy->name
        << "\n\n";
  out << "TTL:  " << (spec.ttl ? format_duration(*spec.ttl) : "0s") << "\n\n";
  out << "CSISnapshotTimeout:    " << (spec.csi_snapshot_timeout ? format_duration(*spec.csi_snapshot_timeout) : "0s")
      << "\n";
  out << "ItemOperationTimeout:  "
      << (spec.item_operation_timeout ? format_duration(*spec.item_operation_timeout) : "0s") << "\n\n";
  describe_backup_hooks(out, spec.hooks);
  out << "Backup Format Version:  " << (st.format_version.empty() ? "<n/a>" : st.format_version) << "\n\n";
  auto opt_time = [](const std::optional<Timestamp>& t) { return t ? format_rfc3339(*t) : std::string("<n/a>"); };
  out << "Started:    " << opt_time(st.start_timestamp) << "\n";
  out << "Completed:  " << opt_time(st.completion_timestamp) << "\n\n";
  out << "Expiration:  " << opt_time(st.expiration) << "\n\n";
  if (!retention.empty()) out << "Retention:  " << retention << "\n\n";
  if (auto t = b.metadata.annotations.find(controller::kAnnotationRestoreTest); t != b.metadata.annotations.end())
    if (auto line = controller::describe_restore_test(t->second); !line.empty())
      out << "Restore test:  " << line << "\n\n";
  if (st.progress) {
    bool running = st.phase == api::BackupPhase::InProgress;
    out << (running ? "Estimated total items to be backed up:  " : "Total items to be backed up:  ")
        << st.progress->total_items << "\n";
    out << (running ? "Items backed up so far:                 " : "Items backed up:              ")
        << st.progress->items_backed_up << "\n\n";
  }
  if (details) {
    out << "Resource List:\n";
    if (resource_list_json.empty()) {
      out << "  <backup resource list not found>\n";
    } else {
      auto list = nlohmann::json::parse(resource_list_json);
      for (auto& [type, names] : list.items()) {
        out << "  " << type << ":\n";
        for (const auto& n : names) out << "    - " << n.get<std::string>() << "\n";
      }
    }
    out << "\n";
  }
  // Velero's describeBackupVolumes. arca takes no snapshots through snapshot location plugins.
  out << "Backup Volumes:\n";
  out << "  Velero-Native Snapshots: <none included>\n\n";
  out << describe_csi_snapshots(volume_info_json, details) << "\n";
  out << describe_pod_volume_backups(pod_volume_backups, details) << "\n";
  if (st.hook_status) {
    out << "HooksAttempted:  " << st.hook_status->hooks_attempted << "\n";
    out << "HooksFailed:     " << st.hook_status->hooks_failed << "\n";
  }
  return out.str();
}

}  // namespace arca::cli
