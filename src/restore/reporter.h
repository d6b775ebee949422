#pragma once
// Where one restore run's messages go: each to the restore log and to the outcome's errors, warnings or dry-run
// list. Thread-safe: the engine's workers report concurrently.
#include <mutex>
#include <string>

#include "restore/engine.h"
#include "restore/results.h"

namespace arca::restore {

class Reporter {
 public:
  Reporter(RestoreLog& log, RestoreOutcome& outcome) : log_(log), out_(outcome) {}

  RestoreLog& log() { return log_; }
  ResourceList& resources() { return out_.resources; }  // thread-safe itself

  // `ns` is the target namespace; "" files the message under the cluster.
  void error(const std::string& ns, const std::string& message) {
    log_.error(message);
    std::lock_guard lock(mutex_);
    out_.errors.add(ns, message);
  }
  void warning(const std::string& ns, const std::string& message) {
    log_.warning(message);
    std::lock_guard lock(mutex_);
    out_.warnings.add(ns, message);
  }
  void velero_error(const std::string& message) {
    log_.error(message);
    std::lock_guard lock(mutex_);
    out_.errors.velero.push_back(message);
  }
  void velero_warning(const std::string& message) {
    log_.warning(message);
    std::lock_guard lock(mutex_);
    out_.warnings.velero.push_back(message);
  }
  void dry_run(const std::string& id, DryRunVerdict verdict, std::string diff = {}) {
    std::lock_guard lock(mutex_);
    out_.dry_run.push_back({id, verdict, std::move(diff)});
  }

 private:
  RestoreLog& log_;
  RestoreOutcome& out_;
  std::mutex mutex_;
};

}  // namespace arca::restore
