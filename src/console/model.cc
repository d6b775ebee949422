#include "console/model.h"

#include <regex>
#include <stdexcept>

#include "controller/gc_controller.h"
#include "persistence/protection.h"
#include "util/cron.h"
#include "util/duration.h"
#include "util/label_selector.h"
#include "util/names.h"

namespace arca::console {

using json = nlohmann::json;

namespace {

std::string text(const json& object, const char* pointer) {
  return object.value(json::json_pointer(pointer), std::string());
}
int number(const json& object, const char* pointer) {
  const json::json_pointer p(pointer);
  return object.contains(p) && object.at(p).is_number() ? object.at(p).get<int>() : 0;
}

std::vector<std::string> strings(const json& form, const char* field) {
  std::vector<std::string> out;
  if (!form.contains(field) || form[field].is_null()) return out;
  const json& value = form[field];
  if (value.is_string()) {  // "a, b" from a text box
    std::string s = value.get<std::string>(), item;
    for (size_t start = 0, comma; start <= s.size(); start = comma + 1) {
      comma = std::min(s.find(',', start), s.size());
      item = s.substr(start, comma - start);
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(' ') + 1);
      if (!item.empty()) out.push_back(item);
    }
    return out;
  }
  if (!value.is_array()) throw std::invalid_argument(std::string(field) + ": expected a list of names");
  for (const auto& item : value) {
    if (!item.is_string()) throw std::invalid_argument(std::string(field) + ": expected a list of names");
    if (!item.get<std::string>().empty()) out.push_back(item.get<std::string>());
  }
  return out;
}

std::string string_field(const json& form, const char* field) {
  if (!form.contains(field) || form[field].is_null()) return "";
  if (!form[field].is_string()) throw std::invalid_argument(std::string(field) + ": expected a string");
  return form[field].get<std::string>();
}

std::optional<bool> bool_field(const json& form, const char* field) {
  if (!form.contains(field) || form[field].is_null()) return std::nullopt;
  if (!form[field].is_boolean()) throw std::invalid_argument(std::string(field) + ": expected true or false");
  return form[field].get<bool>();
}

std::string required_name(const json& form, const char* what) {
  std::string name = string_field(form, "name");
  if (name.empty()) throw std::invalid_argument(std::string(what) + " name is required");
  if (!valid_name(name))
    throw std::invalid_argument("name \"" + name + "\": a lowercase RFC 1123 subdomain is required (a-z, 0-9, '-', '.')");
  return name;
}

// The spec `arca backup create` builds from the same filters (src/cli/commands.cc backup_create).
api::BackupSpec backup_spec(const json& form) {
  api::BackupSpec spec;
  spec.included_namespaces = strings(form, "includeNamespaces");
  if (spec.included_namespaces.empty()) spec.included_namespaces = {"*"};
  spec.excluded_namespaces = strings(form, "excludeNamespaces");
  spec.included_resources = strings(form, "includeResources");
  spec.excluded_resources = strings(form, "excludeResources");
  spec.include_cluster_resources = bool_field(form, "includeClusterResources");
  spec.storage_location = string_field(form, "storageLocation");
  if (std::string ttl = string_field(form, "ttl"); !ttl.empty()) {
    try {
      spec.ttl = parse_duration(ttl);
    } catch (const std::exception& e) {
      throw std::invalid_argument("ttl \"" + ttl + "\": " + e.what());
    }
  }
  if (std::string selector = string_field(form, "selector"); !selector.empty()) {
    try {
      spec.label_selector = parse_label_selector(selector);
    } catch (const std::exception& e) {
      throw std::invalid_argument("selector \"" + selector + "\": " + e.what());
    }
  }
  return spec;
}

}  // namespace

bool valid_name(const std::string& name) {
  static const std::regex pattern("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  return !name.empty() && name.size() <= 253 && std::regex_match(name, pattern);
}

// What backups and restores share: name, phase, counts, times and why they failed.
static json run_summary(const json& o) {
  return {{"name", text(o, "/metadata/name")},
          {"created", text(o, "/metadata/creationTimestamp")},
          {"phase", text(o, "/status/phase").empty() ? "New" : text(o, "/status/phase")},
          {"totalItems", number(o, "/status/progress/totalItems")},
          {"warnings", number(o, "/status/warnings")},
          {"errors", number(o, "/status/errors")},
          {"started", text(o, "/status/startTimestamp")},
          {"completed", text(o, "/status/completionTimestamp")},
          {"failureReason", text(o, "/status/failureReason")},
          {"validationErrors", o.value("/status/validationErrors"_json_pointer, json::array())}};
}

json backup_summary(const json& b) {
  json out = run_summary(b);
  out["uid"] = text(b, "/metadata/uid");
  out["schedule"] = text(b, "/metadata/labels/velero.io~1schedule-name");
  out["storageLocation"] = text(b, "/spec/storageLocation");
  out["includedNamespaces"] = b.value("/spec/includedNamespaces"_json_pointer, json::array());
  out["itemsBackedUp"] = number(b, "/status/progress/itemsBackedUp");
  out["expiration"] = text(b, "/status/expiration");
  // arca's protection (persistence/protection.h) and the last verification (controller/protection.h).
  out["encrypted"] = !text(b, "/metadata/annotations/arca.dev~1encrypted-to").empty();
  out["signed"] = !text(b, "/metadata/annotations/arca.dev~1signed-by").empty();
  auto verification = json::parse(text(b, "/metadata/annotations/arca.dev~1verification"), nullptr, false);
  if (!verification.is_object()) verification = json::object();
  out["verification"] = verification.value("result", "");
  out["verificationMessage"] = verification.value("message", "");
  out["verifiedAt"] = verification.value("time", "");
  // What the backup stored (controller/backup_controller.h): null when it predates the annotations.
  auto bytes = [&](const char* pointer) -> json {
    std::string value = text(b, pointer);
    if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) return nullptr;
    return std::stoll(value);
  };
  out["tarballBytes"] = bytes("/metadata/annotations/arca.dev~1tarball-bytes");
  out["volumeBytes"] = bytes("/metadata/annotations/arca.dev~1volume-bytes");
  return out;
}

json restore_summary(const json& r) {
  json out = run_summary(r);
  out["backup"] = text(r, "/spec/backupName");
  out["schedule"] = text(r, "/spec/scheduleName");
  out["namespaceMapping"] = r.value("/spec/namespaceMapping"_json_pointer, json::object());
  out["itemsRestored"] = number(r, "/status/progress/itemsRestored");
  // [[resource, done, total], ...] per priority tier (controller/restore_controller.h); [] when not recorded.
  auto tiers = json::parse(text(r, "/metadata/annotations/arca.dev~1restore-tiers"), nullptr, false);
  out["tiers"] = json::array();
  if (tiers.is_array())
    for (const auto& t : tiers)
      if (t.is_array() && t.size() == 3 && t[0].is_string() && t[1].is_number_integer() && t[2].is_number_integer())
        out["tiers"].push_back(t);
  return out;
}

json schedule_summary(const json& s, Timestamp now) {
  json out = {{"name", text(s, "/metadata/name")},
              {"created", text(s, "/metadata/creationTimestamp")},
              {"schedule", text(s, "/spec/schedule")},
              {"paused", s.value("/spec/paused"_json_pointer, false)},
              {"phase", text(s, "/status/phase")},
              {"lastBackup", text(s, "/status/lastBackup")},
              {"ttl", text(s, "/spec/template/ttl")},
              {"includedNamespaces", s.value("/spec/template/includedNamespaces"_json_pointer, json::array())},
              {"keepLast", text(s, "/metadata/annotations/arca.dev~1keep-last-backups")},
              {"nextRun", ""}};
  try {
    auto cron = parse_cron(text(s, "/spec/schedule"));
    std::optional<Timestamp> last;
    if (!text(s, "/status/lastBackup").empty()) last = parse_rfc3339(text(s, "/status/lastBackup"));
    Timestamp created = text(s, "/metadata/creationTimestamp").empty() ? now : parse_rfc3339(text(s, "/metadata/creationTimestamp"));
    auto due = schedule_due_time(cron, created, last, std::nullopt);
    if (due && !out["paused"].get<bool>()) out["nextRun"] = format_rfc3339(std::max(*due, now));
  } catch (const std::exception&) {
    // An invalid expression: the schedule's phase (FailedValidation) says why.
  }
  return out;
}

json location_summary(const json& l) {
  return {{"name", text(l, "/metadata/name")},
          {"provider", text(l, "/spec/provider")},
          {"bucket", text(l, "/spec/objectStorage/bucket")},
          {"prefix", text(l, "/spec/objectStorage/prefix")},
          {"default", l.value("/spec/default"_json_pointer, false)},
          {"accessMode", text(l, "/spec/accessMode")},
          {"phase", text(l, "/status/phase")},
          {"message", text(l, "/status/message")},
          {"lastValidated", text(l, "/status/lastValidationTime")}};
}

json backup_detail(const json& backup) {
  json metadata = backup.value("metadata", json::object());
  metadata.erase("managedFields");
  return {{"metadata", metadata},
          {"spec", backup.value("spec", json::object())},
          {"status", backup.value("status", json::object())}};
}

api::Backup backup_from_form(const json& form, const std::string& ns) {
  if (!form.is_object()) throw std::invalid_argument("expected a JSON object");
  api::Backup b;
  b.metadata.name = required_name(form, "a backup");
  b.metadata.namespace_ = ns;
  b.spec = backup_spec(form);
  return b;
}

api::Restore restore_from_form(const json& form, const std::string& ns, Timestamp now) {
  if (!form.is_object()) throw std::invalid_argument("expected a JSON object");
  api::Restore r;
  r.spec.backup_name = string_field(form, "backup");
  if (r.spec.backup_name.empty()) throw std::invalid_argument("a backup to restore from is required");
  r.metadata.name = string_field(form, "name").empty() ? timestamped_name(r.spec.backup_name, now)
                                                       : required_name(form, "a restore");
  r.metadata.namespace_ = ns;
  auto& spec = r.spec;
  spec.included_namespaces = strings(form, "includeNamespaces");
  if (spec.included_namespaces.empty()) spec.included_namespaces = {"*"};
  spec.excluded_namespaces = strings(form, "excludeNamespaces");
  spec.included_resources = strings(form, "includeResources");
  spec.excluded_resources = strings(form, "excludeResources");
  if (form.contains("namespaceMappings") && !form["namespaceMappings"].is_null()) {
    const json& mappings = form["namespaceMappings"];
    if (mappings.is_string()) {  // "a:b, c:d" as `--namespace-mappings`
      for (const auto& entry : strings(form, "namespaceMappings")) {
        auto colon = entry.find(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == entry.size())
          throw std::invalid_argument("namespaceMappings: \"" + entry + "\" is not of the form src:dst");
        spec.namespace_mapping[entry.substr(0, colon)] = entry.substr(colon + 1);
      }
    } else if (mappings.is_object()) {
      for (const auto& [from, to] : mappings.items()) {
        if (!to.is_string() || to.get<std::string>().empty())
          throw std::invalid_argument("namespaceMappings: the target of \"" + from + "\" must be a namespace name");
        spec.namespace_mapping[from] = to.get<std::string>();
      }
    } else {
      throw std::invalid_argument("namespaceMappings: expected src:dst pairs");
    }
  }
  spec.existing_resource_policy = string_field(form, "existingResourcePolicy");
  if (!spec.existing_resource_policy.empty() && spec.existing_resource_policy != "none" &&
      spec.existing_resource_policy != "update")
    throw std::invalid_argument("existingResourcePolicy must be none or update");
  spec.restore_pvs = bool_field(form, "restorePVs");
  spec.uploader_config.emplace();  // as `arca restore create` sends it
  // `arca restore create --decryption-key-secret`: the Secret holding the age key of an encrypted backup.
  std::string key_secret = string_field(form, "decryptionKeySecret");
  if (!key_secret.empty()) {
    if (!valid_name(key_secret))
      throw std::invalid_argument("decryptionKeySecret: \"" + key_secret + "\" is not a Secret name");
    r.metadata.annotations[persistence::kAnnotationDecryptionKeySecret] = key_secret;
  }
  return r;
}

api::Schedule schedule_from_form(const json& form, const std::string& ns) {
  if (!form.is_object()) throw std::invalid_argument("expected a JSON object");
  api::Schedule s;
  s.metadata.name = required_name(form, "a schedule");
  s.metadata.namespace_ = ns;
  s.spec.schedule = string_field(form, "schedule");
  if (s.spec.schedule.empty()) throw std::invalid_argument("schedule: a cron expression is required");
  try {
    parse_cron(s.spec.schedule);
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("schedule: ") + e.what());
  }
  s.spec.backup_template = backup_spec(form);
  s.spec.paused = bool_field(form, "paused").value_or(false);
  if (form.contains("keepLast") && !form["keepLast"].is_null()) {
    if (!form["keepLast"].is_number_integer() || form["keepLast"].get<int>() < 0)
      throw std::invalid_argument("keepLast must be a non-negative whole number");
    if (int keep = form["keepLast"].get<int>(); keep > 0)
      s.metadata.annotations[controller::kKeepLastAnnotation] = std::to_string(keep);
  }
  return s;
}

}  // namespace arca::console
