#pragma once
// Prometheus metrics of `arca server` with Velero's names (pkg/metrics/metrics.go), served as plain text
// exposition on http://<address>/metrics (Velero's default address :8085).
//
// The numbers come from watching Backups, Restores, DeleteBackupRequests and Schedules: a phase transition
// seen on the API server is what Velero's controllers count at the same moment (attempt when a run starts,
// success/failure when it ends), so the controllers themselves need no metrics code. Objects that are already
// finished when the server starts (or that backup sync imports) are not counted as attempts, as in Velero.
// velero_backup_tarball_size_bytes is the size of the stored tarball (Velero stats its local copy before the
// upload; arca streams it, so it asks the store once per finished backup).
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/context.h"

namespace arca::controller {

// Counters, gauges and histograms keyed by metric name and one label set, rendered in Prometheus text format.
class MetricsRegistry {
 public:
  void add(const std::string& name, const std::string& labels, double value = 1);
  void set(const std::string& name, const std::string& labels, double value);
  void observe(const std::string& name, const std::string& labels, double value, const std::vector<double>& buckets);
  // Velero's InitSchedule: the per-schedule counters (and a few gauges) appear at 0 before anything happens,
  // so that rate() and alerts work from the first scrape. "" is the label of backups no schedule made.
  void init_schedule(const std::string& schedule);
  // HELP and TYPE come from the table of Velero's metrics.
  std::string exposition() const;

 private:
  struct Histogram {
    std::vector<double> buckets;
    std::vector<uint64_t> counts;
    double sum = 0;
    uint64_t count = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, double>> values_;
  std::map<std::string, std::map<std::string, Histogram>> histograms_;
};

// What the watchers feed into the registry: one Backup or Restore moved from `old_object` to `new_object`.
void record_backup_transition(MetricsRegistry& registry, const nlohmann::json& old_object, const nlohmann::json& new_object);
// arca_backup_verification_total{schedule,result}: a new verification result on a Backup (annotation
// arca.dev/verification, written by `arca backup verify` and scheduled verification).
void record_verification_transition(MetricsRegistry& registry, const nlohmann::json& old_object,
                                    const nlohmann::json& new_object);
void record_restore_transition(MetricsRegistry& registry, const nlohmann::json& old_object, const nlohmann::json& new_object);
// A DeleteBackupRequest moved: InProgress is Velero's deletion attempt (the backup is then Deleting), Processed
// after it a success or, with errors, a failure. `schedule` is the schedule of the backup being deleted (the
// request does not carry it, and the Backup is gone by the time the request is Processed).
void record_deletion_transition(MetricsRegistry& registry, const nlohmann::json& old_request,
                                const nlohmann::json& new_request, const std::string& schedule);

class MetricsServer;
// Starts watching Backups and Restores and serving /metrics on `address` (Velero's --metrics-address: ":8085",
// "127.0.0.1:9090", "host:0" for any free port); a port that cannot be bound
// is logged, not fatal (the backups matter more than their numbers). Stops when the result is destroyed.
std::shared_ptr<MetricsServer> serve_metrics(ServerContext& context, const std::string& address);

}  // namespace arca::controller
