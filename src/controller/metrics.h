#pragma once
// Prometheus metrics of `arca server` with Velero's names (pkg/metrics/metrics.go), served as plain text
// exposition on http://<address>/metrics (Velero's default address :8085).
//
// The numbers come from watching Backups and Restores: a phase transition seen on the API server is what
// Velero's controllers count at the same moment (attempt when a run starts, success/failure when it ends),
// so the controllers themselves need no metrics code. Objects that are already finished when the server
// starts (or that backup sync imports) are not counted as attempts, as in Velero.
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
  // HELP and TYPE come from the table of Velero's metrics; every known counter is shown even when zero.
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
void record_restore_transition(MetricsRegistry& registry, const nlohmann::json& old_object, const nlohmann::json& new_object);

// `address` as Velero's --metrics-address: ":8085", "127.0.0.1:9090", "host:0" (any free port).
void set_metrics_address(std::string address);
const std::string& metrics_address();

class MetricsServer;
// Starts watching Backups and Restores and serving /metrics on metrics_address(); a port that cannot be bound
// is logged, not fatal (the backups matter more than their numbers). Stops when the result is destroyed.
std::shared_ptr<MetricsServer> serve_metrics(ServerContext& context);

}  // namespace arca::controller
