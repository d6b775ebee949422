#include "controller/metrics.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <sstream>
#include <thread>

#include "kube/informer.h"
#include "util/timestamp.h"

namespace arca::controller {
namespace {

struct MetricInfo {
  const char* name;
  const char* type;
  const char* help;
};

// Velero's metrics (pkg/metrics/metrics.go) that arca records.
constexpr MetricInfo kMetrics[] = {
    {"velero_backup_total", "gauge", "Current number of existent backups"},
    {"velero_backup_attempt_total", "counter", "Total number of attempted backups"},
    {"velero_backup_success_total", "counter", "Total number of successful backups"},
    {"velero_backup_partial_failure_total", "counter", "Total number of partially failed backups"},
    {"velero_backup_failure_total", "counter", "Total number of failed backups"},
    {"velero_backup_validation_failure_total", "counter", "Total number of validation failed backups"},
    {"velero_backup_duration_seconds", "histogram", "Time taken to complete backup, in seconds"},
    {"velero_backup_items_total", "gauge", "Total number of items backed up"},
    {"velero_backup_items_errors", "gauge", "Total number of errors encountered during backup"},
    {"velero_backup_last_successful_timestamp", "gauge", "Last time a backup ran successfully, Unix timestamp in seconds"},
    {"velero_backup_last_status", "gauge", "Last status of the backup. A value of 1 is success, 0 is failure"},
    {"velero_restore_total", "gauge", "Current number of existent restores"},
    {"velero_restore_attempt_total", "counter", "Total number of attempted restores"},
    {"velero_restore_success_total", "counter", "Total number of successful restores"},
    {"velero_restore_partial_failure_total", "counter", "Total number of partially failed restores"},
    {"velero_restore_failed_total", "counter", "Total number of failed restores"},
    {"velero_restore_validation_failed_total", "counter", "Total number of failed restores failing validations"},
};

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

std::string address_storage = ":8085";

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

std::string MetricsRegistry::exposition() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& m : kMetrics) {
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
    if (it == values_.end()) {
      // Velero initialises its counters for the unscheduled case; a scrape then sees 0, not nothing.
      if (std::string(m.type) == "counter") out += std::string(m.name) + "{schedule=\"\"} 0\n";
      continue;
    }
    for (const auto& [labels, value] : it->second)
      out += std::string(m.name) + (labels.empty() ? "" : "{" + labels + "}") + " " + number(value) + "\n";
  }
  return out;
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
    r.set("velero_backup_items_total", labels, status.value("/progress/itemsBackedUp"_json_pointer, 0));
    r.set("velero_backup_items_errors", labels, status.value("errors", 0));
  }
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

void set_metrics_address(std::string address) { address_storage = std::move(address); }
const std::string& metrics_address() { return address_storage; }

class MetricsServer {
 public:
  explicit MetricsServer(ServerContext& ctx)
      : backups_(ctx.transport, ctx.backups, ctx.settings.namespace_name),
        restores_(ctx.transport, ctx.discovery.lookup("velero.io", "v1", "restores"), ctx.settings.namespace_name) {
    watch(backups_, record_backup_transition, "velero_backup_total");
    watch(restores_, record_restore_transition, "velero_restore_total");
    backups_.start();
    restores_.start();
    http_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(registry_.exposition(), "text/plain; version=0.0.4; charset=utf-8");
    });
    const std::string& address = metrics_address();
    auto colon = address.rfind(':');
    std::string host = colon == std::string::npos || colon == 0 ? "0.0.0.0" : address.substr(0, colon);
    int port = 0;
    try {
      port = std::stoi(address.substr(colon == std::string::npos ? 0 : colon + 1));
    } catch (const std::exception&) {
      throw std::invalid_argument("invalid --metrics-address \"" + address + "\": expected [host]:port");
    }
    port = port == 0 ? http_.bind_to_any_port(host) : (http_.bind_to_port(host, port) ? port : -1);
    if (port < 0) {
      spdlog::error("metrics: cannot listen on {}; metrics are not served", address);
      return;
    }
    spdlog::info("metrics: serving http://{}:{}/metrics", host, port);
    listener_ = std::thread([this] { http_.listen_after_bind(); });
  }
  ~MetricsServer() {
    http_.stop();
    if (listener_.joinable()) listener_.join();
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

  MetricsRegistry registry_;
  kube::Informer backups_, restores_;
  httplib::Server http_;
  std::thread listener_;
};

std::shared_ptr<MetricsServer> serve_metrics(ServerContext& ctx) { return std::make_shared<MetricsServer>(ctx); }

}  // namespace arca::controller
