#include "backup/backup_log.h"

#include "util/logging.h"
#include "util/timestamp.h"

namespace arca::backup {
namespace {

// logrus quotes a value when it contains anything but [A-Za-z0-9-._/@^+].
std::string logfmt_value(std::string_view value) {
  bool plain = !value.empty();
  for (char c : value)
    if (!(isalnum(static_cast<unsigned char>(c)) || std::string_view("-._/@^+").find(c) != std::string_view::npos))
      plain = false;
  if (plain) return std::string(value);
  return nlohmann::json(std::string(value)).dump();
}

// Velero's LogHook stringifies every warning/error entry like this (pkg/util/logging/log_counter_hook.go).
std::string result_entry(std::string_view message, const LogFields& f, std::string_view error) {
  std::string out;
  if (!f.resource.empty()) out += " resource: /" + f.resource;
  if (!f.name.empty()) out += " name: /" + f.name;
  out += " message: /" + std::string(message);
  if (!error.empty()) out += " error: /" + std::string(error);
  return out;
}

void add_result(nlohmann::json& result, const LogFields& f, std::string entry) {
  if (!f.has_namespace)
    result["velero"].push_back(std::move(entry));
  else if (f.namespace_name.empty())
    result["cluster"].push_back(std::move(entry));
  else
    result["namespaces"][f.namespace_name].push_back(std::move(entry));
}

}  // namespace

void BackupLog::add(std::string_view level, std::string_view message, const LogFields& f, std::string_view error) {
  std::string line = "time=\"" + format_rfc3339(now_seconds()) + "\" level=" + std::string(level) +
                     " msg=" + logfmt_value(redact(message)) + " backup=" + backup_key_;
  if (!error.empty()) line += " error=" + logfmt_value(redact(error));
  if (f.has_namespace) line += " namespace=" + logfmt_value(f.namespace_name);
  if (!f.name.empty()) line += " name=" + logfmt_value(f.name);
  if (!f.resource.empty()) line += " resource=" + logfmt_value(f.resource);
  line += '\n';
  std::lock_guard lock(mutex_);
  text_ += line;
  if (level == "warning") {
    ++warnings_;
    add_result(warnings_result_, f, result_entry(redact(message), f, redact(error)));
  } else if (level == "error") {
    ++errors_;
    add_result(errors_result_, f, result_entry(redact(message), f, redact(error)));
  }
}

void BackupLog::info(std::string_view message, const LogFields& fields) { add("info", message, fields, ""); }
void BackupLog::warning(std::string_view message, const LogFields& fields, std::string_view error) {
  add("warning", message, fields, error);
}
void BackupLog::error(std::string_view message, const LogFields& fields, std::string_view error) {
  add("error", message, fields, error);
}

int BackupLog::warnings() const {
  std::lock_guard lock(mutex_);
  return warnings_;
}
int BackupLog::errors() const {
  std::lock_guard lock(mutex_);
  return errors_;
}
std::string BackupLog::text() const {
  std::lock_guard lock(mutex_);
  return text_;
}
nlohmann::json BackupLog::results() const {
  std::lock_guard lock(mutex_);
  return {{"errors", errors_result_}, {"warnings", warnings_result_}};
}

}  // namespace arca::backup
