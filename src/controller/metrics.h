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
#include <functional>
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
  // Which of Velero's metric sets is rendered: the server's (velero_*), or the node agent's (podVolume_*, Velero's
  // NewPodVolumeMetrics).
  enum class Catalog { server, node_agent };
  explicit MetricsRegistry(Catalog catalog = Catalog::server) : catalog_(catalog) {}
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
  Catalog catalog_;
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

// The pod volume metrics of Velero's node agent (pkg/metrics/metrics.go NewPodVolumeMetrics) for one
// PodVolumeBackup: enqueued when this node's agent takes it, dequeued when its transfer ends, and on completion its
// start-to-completion seconds under operation "<pvb>-<location>-<pod namespace>-<uploader>-backup" (as Velero's
// pod_volume_backup_controller.go names it).
void init_pod_volume_metrics(MetricsRegistry& registry, const std::string& node);
void record_pod_volume_backup_enqueue(MetricsRegistry& registry, const std::string& node);
void record_pod_volume_backup_dequeue(MetricsRegistry& registry, const std::string& node);
void record_pod_volume_backup_latency(MetricsRegistry& registry, const std::string& node, const std::string& pvb,
                                      const std::string& operation, const std::string& backup, double seconds);

// Plain text over HTTP on `address` (Velero's --metrics-address: ":8085", "127.0.0.1:9090", "host:0" for any free
// port): GET <path> answers what its handler returns. A port that cannot be bound is logged, not fatal (the backups
// matter more than their numbers); an address that is no [host]:port throws.
class TextEndpoint {
 public:
  struct Answer {
    int status = 200;
    std::string body;
  };
  using Handler = std::function<Answer()>;
  TextEndpoint(const std::string& address, std::map<std::string, Handler> handlers);
  ~TextEndpoint();
  int port() const { return port_; }  // -1 when not bound

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = -1;
};

class MetricsServer;
// Starts watching Backups and Restores and serving /metrics on `address` (Velero's --metrics-address: ":8085",
// "127.0.0.1:9090", "host:0" for any free port); a port that cannot be bound
// is logged, not fatal (the backups matter more than their numbers). Stops when the result is destroyed.
std::shared_ptr<MetricsServer> serve_metrics(ServerContext& context, const std::string& address);

}  // namespace arca::controller
