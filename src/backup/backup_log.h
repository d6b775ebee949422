#pragma once
// The log of one backup run, shaped like Velero's per-backup logrus log: text lines uploaded as
// `<B>-logs.gz`, warning/error lines counted into status.warnings/errors and bucketed into
// `<B>-results.gz` (Velero's pkg/persistence/object_store_layout.go; Velero's pkg/backup/backup.go). Thread-safe.
#include <nlohmann/json.hpp>

#include <mutex>
#include <string>
#include <string_view>

namespace arca::backup {

// Structured fields of a line. `has_namespace` distinguishes a cluster-scoped item ("" → cluster bucket)
// from a line about no item at all (→ velero bucket).
struct LogFields {
  std::string resource;
  std::string namespace_name;
  std::string name;
  bool has_namespace = false;
};

class BackupLog {
 public:
  explicit BackupLog(std::string backup_key) : backup_key_(std::move(backup_key)) {}

  void info(std::string_view message, const LogFields& fields = {});
  void warning(std::string_view message, const LogFields& fields = {}, std::string_view error = "");
  void error(std::string_view message, const LogFields& fields = {}, std::string_view error = "");

  int warnings() const;
  int errors() const;
  std::string text() const;
  // {"errors": Result, "warnings": Result}, Result = {velero?:[...], cluster?:[...], namespaces?:{ns:[...]}}.
  nlohmann::json results() const;

 private:
  void add(std::string_view level, std::string_view message, const LogFields& fields, std::string_view error);
  std::string backup_key_;
  mutable std::mutex mutex_;
  std::string text_;
  int warnings_ = 0, errors_ = 0;
  nlohmann::json errors_result_ = nlohmann::json::object(), warnings_result_ = nlohmann::json::object();
};

}  // namespace arca::backup
