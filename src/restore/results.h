#pragma once
// What a restore reports (Velero's pkg/restore/restore.go): warnings and errors grouped as Velero groups them (velero,
// cluster, per target namespace), the restored-resource list, and the restore log. All are thread-safe: the
// engine's workers add to them concurrently.
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace arca::restore {

// Velero's results.Result.
struct Result {
  std::vector<std::string> velero;
  std::vector<std::string> cluster;
  std::map<std::string, std::vector<std::string>> namespaces;

  void add(const std::string& ns, const std::string& message);  // ns "" → cluster
  size_t count() const;
};

// restore-R-results.gz content before gzip: {"errors":{...},"warnings":{...}} + "\n", keys sorted, empty lists
// omitted, as Go encodes it.
std::string results_json(const Result& errors, const Result& warnings);

enum class ItemAction { created, updated, failed, skipped };

// restore-R-resource-list.json.gz content: {"<apiVersion>/<Kind>":["<ns>/<name>(<action>)", ...sorted]}.
class ResourceList {
 public:
  void record(const std::string& api_version_kind, const std::string& ns, const std::string& name, ItemAction action);
  size_t size() const;
  std::string json() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<std::string>> entries_;
  size_t size_ = 0;
};

// The restore log as logrus writes text lines (`time=... level=info msg="..." restore=ns/name`), spooled to a
// file so that a 300,000-item restore does not keep its log in memory.
class RestoreLog {
 public:
  RestoreLog(const std::string& path, std::string restore_key);
  ~RestoreLog();
  RestoreLog(const RestoreLog&) = delete;
  RestoreLog& operator=(const RestoreLog&) = delete;

  void info(const std::string& message);
  void warning(const std::string& message);
  void error(const std::string& message);
  std::string text() const;  // everything written so far

 private:
  void write(const char* level, const std::string& message);
  mutable std::mutex mutex_;
  std::string path_;
  std::string restore_key_;
  std::FILE* file_;
};

}  // namespace arca::restore
