#include "controller/metrics.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <span>
#include <sstream>
#include <thread>

#include "api/types.h"
#include "controller/locations.h"
#include "controller/protection.h"
#include "controller/restore_check.h"
#include "kube/dynamic.h"
#include "kube/informer.h"
#include "persistence/backup_store.h"
#include "util/timestamp.h"

namespace arca::controller {
namespace {

struct MetricInfo {
  const char* name;
  const char* type;
  const char* help;
};

// Velero's metrics (pkg/metrics/metrics.go, ServerMetrics), in the name order its Prometheus client renders.
// The CSI snapshot counters stay at their initial 0: Velero records them only with the EnableCSI feature, and
// arca takes no CSI snapshots. The node agent's podVolume_* metrics are kPodVolumeMetrics.
constexpr MetricInfo kMetrics[] = {
    {"arca_backup_verification_total", "counter",
     "arca: verifications of backups (signature and stored digests) by result: Verified, Unsigned or Failed; "
     "scheduled dry-run restore tests: RestoreTestPassed or RestoreTestFailed"},
    {"velero_backup_attempt_total", "counter", "Total number of attempted backups"},
    {"velero_backup_deletion_attempt_total", "counter", "Total number of attempted backup deletions"},
    {"velero_backup_deletion_failure_total", "counter", "Total number of failed backup deletions"},
    {"velero_backup_deletion_success_total", "counter", "Total number of successful backup deletions"},
    {"velero_backup_duration_seconds", "histogram", "Time taken to complete backup, in seconds"},
    {"velero_backup_failure_total", "counter", "Total number of failed backups"},
    {"velero_backup_items_errors", "gauge", "Total number of errors encountered during backup"},
    {"velero_backup_items_total", "gauge", "Total number of items backed up"},
    {"velero_backup_last_status", "gauge", "Last status of the backup. A value of 1 is success, 0 is failure"},
    {"velero_backup_last_successful_timestamp", "gauge", "Last time a backup ran successfully, Unix timestamp in seconds"},
    {"velero_backup_partial_failure_total", "counter", "Total number of partially failed backups"},
    {"velero_backup_success_total", "counter", "Total number of successful backups"},
    {"velero_backup_tarball_size_bytes", "gauge", "Size, in bytes, of a backup"},
    {"velero_backup_total", "gauge", "Current number of existent backups"},
    {"velero_backup_validation_failure_total", "counter", "Total number of validation failed backups"},
    {"velero_backup_warning_total", "counter", "Total number of warned backups"},
    {"velero_csi_snapshot_attempt_total", "counter", "Total number of CSI attempted volume snapshots"},
    {"velero_csi_snapshot_failure_total", "counter", "Total number of CSI failed volume snapshots"},
    {"velero_csi_snapshot_success_total", "counter", "Total number of CSI successful volume snapshots"},
    {"velero_restore_attempt_total", "counter", "Total number of attempted restores"},
    {"velero_restore_failed_total", "counter", "Total number of failed restores"},
    {"velero_restore_partial_failure_total", "counter", "Total number of partially failed restores"},
    {"velero_restore_success_total", "counter", "Total number of successful restores"},
    {"velero_restore_total", "gauge", "Current number of existent restores"},
    {"velero_restore_validation_failed_total", "counter", "Total number of failed restores failing validations"},
    {"velero_volume_snapshot_attempt_total", "counter", "Total number of attempted volume snapshots"},
    {"velero_volume_snapshot_failure_total", "counter", "Total number of failed volume snapshots"},
    {"velero_volume_snapshot_success_total", "counter", "Total number of successful volume snapshots"},
};

// Velero's NewPodVolumeMetrics, served by the node agent.
constexpr MetricInfo kPodVolumeMetrics[] = {
    {"podVolume_pod_volume_backup_dequeue_count", "counter", "Total number of pod_volume_backup objects dequeued"},
    {"podVolume_pod_volume_backup_enqueue_count", "counter", "Total number of pod_volume_backup objects enqueued"},
    {"podVolume_pod_volume_operation_latency_seconds", "histogram",
     "Time taken to complete pod volume operations, in seconds"},
    {"podVolume_pod_volume_operation_latency_seconds_gauge", "gauge",
     "Gauge metric indicating time taken, in seconds, to perform pod volume operations"},
};

// What Velero's InitSchedule sets to 0 for every schedule (label schedule only).
constexpr const char* kInitialisedPerSchedule[] = {
    "velero_backup_attempt_total", "velero_backup_success_total", "velero_backup_partial_failure_total",
    "velero_backup_failure_total", "velero_backup_validation_failure_total", "velero_backup_deletion_attempt_total",
    "velero_backup_deletion_success_total", "velero_backup_deletion_failure_total", "velero_backup_items_total",
    "velero_backup_items_errors", "velero_backup_warning_total", "velero_backup_last_status",
    "velero_restore_attempt_total", "velero_restore_partial_failure_total", "velero_restore_failed_total",
    "velero_restore_success_total", "velero_restore_validation_failed_total", "velero_volume_snapshot_success_total",
    "velero_volume_snapshot_attempt_total", "velero_volume_snapshot_failure_total",
};
// ... and these with an empty backupName beside the schedule.
constexpr const char* kInitialisedPerScheduleAndBackup[] = {
    "velero_csi_snapshot_attempt_total", "velero_csi_snapshot_success_total", "velero_csi_snapshot_failure_total"};

// Velero's backup duration buckets: 1m, 5m, 10m, 15m, 30m, 1h, 2h, 3h, 4h.
const std::vector<double> kDurationBuckets = {60, 300, 600, 900, 1800, 3600, 7200, 10800, 14400};

std::string number(double v) {
  if (std::isinf(v)) return "+Inf";
  std::ostringstream s;
  s.precision(15);
  s << v;
  return s.str();
}

std::string phase(const nlohmann::json& object) { return object.value("/status/phase"_json_pointer, std::string()); }

bool not_started(const std::string& phase) {
  return phase.empty() || phase == "New" || phase == "Queued" || phase == "ReadyToStart";
}

std::string schedule_label(const std::string& schedule) { return "schedule=\"" + schedule + "\""; }

double seconds_between(const nlohmann::json& status, const char* from, const char* to) {
  if (!status.contains(from) || !status.contains(to)) return -1;
  return double((parse_rfc3339(status[to].get<std::string>()) - parse_rfc3339(status[from].get<std::string>())).count());
}


}  // namespace

void MetricsRegistry::add(const std::string& name, const std::string& labels, double value) {
  std::lock_guard lock(mutex_);
  values_[name][labels] += value;
}

void MetricsRegistry::set(const std::string& name, const std::string& labels, double value) {
  std::lock_guard lock(mutex_);
  values_[name][labels] = value;
}

void MetricsRegistry::observe(const std::string& name, const std::string& labels, double value,
                              const std::vector<double>& buckets) {
  std::lock_guard lock(mutex_);
  auto& h = histograms_[name][labels];
  if (h.buckets.empty()) {
    h.buckets = buckets;
    h.counts.assign(buckets.size(), 0);
  }
  for (size_t i = 0; i < h.buckets.size(); ++i)
    if (value <= h.buckets[i]) ++h.counts[i];
  h.sum += value;
  ++h.count;
}

void MetricsRegistry::init_schedule(const std::string& schedule) {
  std::lock_guard lock(mutex_);
  for (const char* name : kInitialisedPerSchedule) values_[name][schedule_label(schedule)] += 0;
  for (const char* name : kInitialisedPerScheduleAndBackup)
    values_[name][schedule_label(schedule) + ",backupName=\"\""] += 0;
}

std::string MetricsRegistry::exposition() const {
  std::lock_guard lock(mutex_);
  std::string out;
  std::span<const MetricInfo> catalog = kMetrics;
  if (catalog_ == Catalog::node_agent) catalog = kPodVolumeMetrics;
  for (const auto& m : catalog) {
    out += std::string("# HELP ") + m.name + " " + m.help + "\n# TYPE " + m.name + " " + m.type + "\n";
    if (std::string(m.type) == "histogram") {
      auto it = histograms_.find(m.name);
      if (it == histograms_.end()) continue;
      for (const auto& [labels, h] : it->second) {
        for (size_t i = 0; i < h.buckets.size(); ++i)
          out += std::string(m.name) + "_bucket{" + labels + ",le=\"" + number(h.buckets[i]) + "\"} " +
                 std::to_string(h.counts[i]) + "\n";
        out += std::string(m.name) + "_bucket{" + labels + ",le=\"+Inf\"} " + std::to_string(h.count) + "\n";
        out += std::string(m.name) + "_sum{" + labels + "} " + number(h.sum) + "\n";
        out += std::string(m.name) + "_count{" + labels + "} " + std::to_string(h.count) + "\n";
      }
      continue;
    }
    auto it = values_.find(m.name);
    if (it == values_.end()) continue;
    for (const auto& [labels, value] : it->second)
      out += std::string(m.name) + (labels.empty() ? "" : "{" + labels + "}") + " " + number(value) + "\n";
  }
  return out;
}

void init_pod_volume_metrics(MetricsRegistry& r, const std::string& node) {
  r.add("podVolume_pod_volume_backup_enqueue_count", "node=\"" + node + "\"", 0);
  r.add("podVolume_pod_volume_backup_dequeue_count", "node=\"" + node + "\"", 0);
}

void record_pod_volume_backup_enqueue(MetricsRegistry& r, const std::string& node) {
  r.add("podVolume_pod_volume_backup_enqueue_count", "node=\"" + node + "\"");
}

void record_pod_volume_backup_dequeue(MetricsRegistry& r, const std::string& node) {
  r.add("podVolume_pod_volume_backup_dequeue_count", "node=\"" + node + "\"");
}

void record_pod_volume_backup_latency(MetricsRegistry& r, const std::string& node, const std::string& pvb,
                                      const std::string& operation, const std::string& backup, double seconds) {
  // Velero's label order: node, operation, backupName, pod_volume_backup.
  std::string labels = "node=\"" + node + "\",operation=\"" + operation + "\",backupName=\"" + backup +
                       "\",pod_volume_backup=\"" + pvb + "\"";
  r.observe("podVolume_pod_volume_operation_latency_seconds", labels, seconds, kDurationBuckets);
  r.set("podVolume_pod_volume_operation_latency_seconds_gauge", labels, seconds);
}

void record_backup_transition(MetricsRegistry& r, const nlohmann::json& old_object, const nlohmann::json& new_object) {
  std::string before = phase(old_object), after = phase(new_object);
  if (before == after) return;
  std::string labels =
      schedule_label(new_object.value("/metadata/labels/velero.io~1schedule-name"_json_pointer, std::string()));
  const auto& status = new_object.value("status", nlohmann::json::object());
  if (after == "FailedValidation") return r.add("velero_backup_validation_failure_total", labels);
  if (not_started(before) && !not_started(after)) r.add("velero_backup_attempt_total", labels);
  bool success = after == "Completed";
  if (success || after == "PartiallyFailed" || after == "Failed") {
    r.add(success ? "velero_backup_success_total"
                  : after == "Failed" ? "velero_backup_failure_total" : "velero_backup_partial_failure_total",
          labels);
    r.set("velero_backup_last_status", labels, success ? 1 : 0);
    if (success) r.set("velero_backup_last_successful_timestamp", labels, double(now_seconds().time_since_epoch().count()));
    if (double d = seconds_between(status, "startTimestamp", "completionTimestamp"); d >= 0)
      r.observe("velero_backup_duration_seconds", labels, d, kDurationBuckets);
    // Velero's recordBackupMetrics: totalItems (not itemsBackedUp), error lines, the native snapshots of the
    // run (arca takes none, so these add 0 as Velero does for a backup without snapshots), warned backups.
    r.set("velero_backup_items_total", labels, status.value("/progress/totalItems"_json_pointer, 0));
    r.set("velero_backup_items_errors", labels, status.value("errors", 0));
    int attempted = status.value("volumeSnapshotsAttempted", 0), completed = status.value("volumeSnapshotsCompleted", 0);
    r.add("velero_volume_snapshot_attempt_total", labels, attempted);
    r.add("velero_volume_snapshot_success_total", labels, completed);
    r.add("velero_volume_snapshot_failure_total", labels, attempted - completed);
    if (status.value("warnings", 0) > 0) r.add("velero_backup_warning_total", labels);
  }
}

void record_verification_transition(MetricsRegistry& r, const nlohmann::json& old_object,
                                    const nlohmann::json& new_object) {
  auto verification = [](const nlohmann::json& backup) {
    auto text = backup.value("/metadata/annotations"_json_pointer, nlohmann::json::object())
                    .value(kAnnotationVerification, std::string());
    auto parsed = nlohmann::json::parse(text.empty() ? "{}" : text, nullptr, false);
    return parsed.is_object() ? parsed : nlohmann::json::object();
  };
  std::string schedule =
      schedule_label(new_object.value("/metadata/labels/velero.io~1schedule-name"_json_pointer, std::string()));
  auto before = verification(old_object), after = verification(new_object);
  if (!after.empty() && after != before)
    r.add("arca_backup_verification_total", schedule + ",result=\"" + after.value("result", std::string()) + "\"");
  // A scheduled restore test (restore_check.h), recorded once per backup: RestoreTestPassed or RestoreTestFailed.
  auto restore_test = [](const nlohmann::json& backup) {
    auto text = backup.value("/metadata/annotations"_json_pointer, nlohmann::json::object())
                    .value(kAnnotationRestoreTest, std::string());
    auto parsed = nlohmann::json::parse(text.empty() ? "{}" : text, nullptr, false);
    return parsed.is_object() ? parsed.value("result", std::string()) : std::string();
  };
  std::string tested = restore_test(new_object);
  if ((tested == "Passed" || tested == "Failed") && restore_test(old_object) != tested)
    r.add("arca_backup_verification_total", schedule + ",result=\"RestoreTest" + tested + "\"");
}

void record_restore_transition(MetricsRegistry& r, const nlohmann::json& old_object, const nlohmann::json& new_object) {
  std::string before = phase(old_object), after = phase(new_object);
  if (before == after) return;
  std::string labels = schedule_label(new_object.value("/spec/scheduleName"_json_pointer, std::string()));
  if (after == "FailedValidation") return r.add("velero_restore_validation_failed_total", labels);
  if (not_started(before) && !not_started(after)) r.add("velero_restore_attempt_total", labels);
  if (after == "Completed") r.add("velero_restore_success_total", labels);
  if (after == "PartiallyFailed") r.add("velero_restore_partial_failure_total", labels);
  if (after == "Failed") r.add("velero_restore_failed_total", labels);
}

void record_deletion_transition(MetricsRegistry& r, const nlohmann::json& old_request, const nlohmann::json& new_request,
                                const std::string& schedule) {
  std::string before = phase(old_request), after = phase(new_request);
  if (before == after) return;
  std::string labels = schedule_label(schedule);
  if (after == "InProgress") r.add("velero_backup_deletion_attempt_total", labels);
  // Requests refused before any work (backup not found, location unavailable) go New -> Processed: Velero
  // counts neither an attempt nor a failure for them.
  if (before == "InProgress" && after == "Processed")
    r.add(new_request.value("/status/errors"_json_pointer, nlohmann::json::array()).empty()
              ? "velero_backup_deletion_success_total"
              : "velero_backup_deletion_failure_total",
          labels);
}


class MetricsServer {
 public:
  MetricsServer(ServerContext& ctx, const std::string& address)
      : ctx_(ctx),
        backups_(ctx.transport, ctx.backups, ctx.settings.namespace_name),
        restores_(ctx.transport, ctx.discovery.lookup("velero.io", "v1", "restores"), ctx.settings.namespace_name),
        delete_requests_(ctx.transport, ctx.delete_requests, ctx.settings.namespace_name),
        schedules_(ctx.transport, ctx.discovery.lookup("velero.io", "v1", "schedules"), ctx.settings.namespace_name) {
    registry_.init_schedule("");  // backups made by hand, as Velero's server does at start
    registry_.set("velero_backup_total", "", 0);
    registry_.set("velero_restore_total", "", 0);
    watch(backups_, record_backup_transition, "velero_backup_total");
    watch(restores_, record_restore_transition, "velero_restore_total");
    backups_.add_handlers({{}, [this](const kube::ObjectPtr& before, const kube::ObjectPtr& after) {
                             record_verification_transition(registry_, *before, *after);
                             record_tarball_size(*before, *after);
                           }, {}});
    delete_requests_.add_handlers({{}, [this](const kube::ObjectPtr& before, const kube::ObjectPtr& after) {
                                     record_deletion(*before, *after);
                                   }, {}});
    auto init = [this](const kube::ObjectPtr& schedule) {
      registry_.init_schedule(schedule->at("metadata").value("name", ""));
    };
    schedules_.add_handlers({init, [init](const kube::ObjectPtr&, const kube::ObjectPtr& after) { init(after); }, {}});
    for (auto* informer : {&backups_, &restores_, &delete_requests_, &schedules_}) informer->start();
    endpoint_ = std::make_unique<TextEndpoint>(
        address, std::map<std::string, TextEndpoint::Handler>{
                     {"/metrics", [this] { return TextEndpoint::Answer{200, registry_.exposition()}; }}});
  }

 private:
  using Record = void (*)(MetricsRegistry&, const nlohmann::json&, const nlohmann::json&);
  void watch(kube::Informer& informer, Record record, const char* total) {
    auto count = [this, &informer, total] { registry_.set(total, "", double(informer.size())); };
    informer.add_handlers({[count](const kube::ObjectPtr&) { count(); },
                           [this, record](const kube::ObjectPtr& before, const kube::ObjectPtr& after) {
                             record(registry_, *before, *after);
                           },
                           [count](const kube::ObjectPtr&) { count(); }});
  }

  // Once per backup that reached Completed or PartiallyFailed (a Failed one uploaded nothing): one HEAD of
  // the tarball. A store that cannot answer costs the gauge, never the backup.
  void record_tarball_size(const nlohmann::json& before, const nlohmann::json& after) {
    std::string done = phase(after);
    if (phase(before) == done || (done != "Completed" && done != "PartiallyFailed")) return;
    const auto& metadata = after.at("metadata");
    std::string name = metadata.value("name", "");
    try {
      auto location = kube::DynamicClient(ctx_.transport)
                          .get(ctx_.locations, ctx_.settings.namespace_name,
                               after.value("/spec/storageLocation"_json_pointer, std::string()))
                          .get<api::BackupStorageLocation>();
      auto open = open_location(location, ctx_.transport, ctx_.secrets);
      auto head = open->store().head(persistence::backup_key(open->layout(), name, persistence::BackupFile::Tarball));
      if (!head.exists) return;
      registry_.set("velero_backup_tarball_size_bytes",
                    schedule_label(after.value("/metadata/labels/velero.io~1schedule-name"_json_pointer, std::string())),
                    double(head.size));
    } catch (const std::exception& e) {
      spdlog::warn("metrics: size of backup {} unknown: {}", name, e.what());
    }
  }

  // The schedule is read from the Backup while it is being deleted and remembered until the request is
  // Processed (a successful deletion has removed the Backup by then).
  void record_deletion(const nlohmann::json& before, const nlohmann::json& after) {
    std::string key = kube::object_key(after);
    if (phase(after) == "InProgress" && phase(before) != "InProgress") {
      auto backup = backups_.get(ctx_.settings.namespace_name + "/" +
                                 after.value("/spec/backupName"_json_pointer, std::string()));
      deletion_schedules_[key] =
          backup ? backup->value("/metadata/labels/velero.io~1schedule-name"_json_pointer, std::string()) : "";
    }
    auto schedule = deletion_schedules_.find(key);
    record_deletion_transition(registry_, before, after, schedule == deletion_schedules_.end() ? "" : schedule->second);
    if (phase(after) == "Processed" && schedule != deletion_schedules_.end()) deletion_schedules_.erase(schedule);
  }

  ServerContext& ctx_;
  MetricsRegistry registry_;
  kube::Informer backups_, restores_, delete_requests_, schedules_;
  std::map<std::string, std::string> deletion_schedules_;  // request key -> schedule; only the DBR handlers use it
  std::unique_ptr<TextEndpoint> endpoint_;  // last: it stops first
};

struct TextEndpoint::Impl {
  httplib::Server http;
  std::thread listener;
};

TextEndpoint::TextEndpoint(const std::string& address, std::map<std::string, Handler> handlers)
    : impl_(std::make_unique<Impl>()) {
  for (auto& [path, handler] : handlers)
    impl_->http.Get(path, [handler = std::move(handler)](const httplib::Request&, httplib::Response& res) {
      auto [status, body] = handler();
      res.status = status;
      res.set_content(body, "text/plain; version=0.0.4; charset=utf-8");
    });
  auto colon = address.rfind(':');
  std::string host = colon == std::string::npos || colon == 0 ? "0.0.0.0" : address.substr(0, colon);
  try {
    port_ = std::stoi(address.substr(colon == std::string::npos ? 0 : colon + 1));
  } catch (const std::exception&) {
    throw std::invalid_argument("invalid --metrics-address \"" + address + "\": expected [host]:port");
  }
  port_ = port_ == 0 ? impl_->http.bind_to_any_port(host) : (impl_->http.bind_to_port(host, port_) ? port_ : -1);
  if (port_ < 0) {
    spdlog::error("metrics: cannot listen on {}; metrics are not served", address);
    return;
  }
  spdlog::info("metrics: serving http://{}:{}/metrics", host, port_);
  impl_->listener = std::thread([this] { impl_->http.listen_after_bind(); });
}

TextEndpoint::~TextEndpoint() {
  impl_->http.stop();
  if (impl_->listener.joinable()) impl_->listener.join();
}

std::shared_ptr<MetricsServer> serve_metrics(ServerContext& ctx, const std::string& address) {
  return std::make_shared<MetricsServer>(ctx, address);
}

}  // namespace arca::controller
