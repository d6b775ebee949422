#include "controller/server.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

#include "controller/backup_controller.h"
#include "controller/backup_queue_controller.h"
#include "controller/backup_repository_controller.h"
#include "controller/backup_sync_controller.h"
#include "controller/gc_controller.h"
#include "controller/leader_election.h"
#include "controller/metrics.h"
#include "controller/protection.h"
#include "controller/restore_check.h"
#include "controller/repositories.h"
#include "controller/schedule_controller.h"
#include "controller/server_status_controller.h"
#include "controller/request_controllers.h"
#include "controller/restore_controller.h"
#include "kube/transport.h"

namespace arca::controller {

const std::vector<std::string>& controller_names() {
  static const std::vector<std::string> names = {
      "backup-queue", "backup", "backup-operations", "backup-deletion", "backup-finalizer", "backup-sync",
      "download-request", "gc", "backup-repo", "restore", "restore-operations", "schedule", "server-status-request",
      "restore-finalizer", "backup-storage-location"};
  return names;
}

sigset_t block_termination_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

void run_server(const ServerOptions& options, const Clock& clock) {
  for (const auto& name : options.disabled_controllers)
    if (std::find(controller_names().begin(), controller_names().end(), name) == controller_names().end())
      throw std::invalid_argument("invalid controller name \"" + name + "\" in --disable-controllers; valid values are " +
                                  [] {
                                    std::string all;
                                    for (const auto& n : controller_names()) all += (all.empty() ? "" : ",") + n;
                                    return all;
                                  }());
  // Signals are taken by sigwait below, never by a worker thread in the middle of a backup.
  sigset_t signals = block_termination_signals();

  auto config = kube::load_config(options.kube);
  config.qps = options.client_qps;
  config.burst = options.client_burst;
  // The effective ceiling, so an operator (and a test of the defaults) sees what --client-qps/--client-burst gave.
  spdlog::info("API client rate limit: {} requests/s, burst {}", config.qps, config.burst);
  kube::Transport transport(config);
  kube::Discovery discovery(transport);
  ServerContext ctx = make_context(transport, discovery, clock, options.settings);
  const std::string& ns = ctx.settings.namespace_name;
  if (!ctx.settings.features.empty()) {
    std::string names;
    for (const auto& feature : ctx.settings.features) names += (names.empty() ? "" : ",") + feature;
    spdlog::info("enabled features: {}", names);
  }
  if (feature_enabled(ctx.settings, kFeatureCsi))
    spdlog::info("feature EnableCSI has no effect: arca takes no volume snapshots");

  auto leadership = hold_leadership(ctx);  // before failing "interrupted" backups another replica is running
  if (!leadership) return;
  auto metrics = serve_metrics(ctx, options.metrics_address);
  std::vector<std::shared_ptr<void>> services;
  for (const auto& start : options.services) services.push_back(start(ctx));
  fail_interrupted_backups(ctx);
  try {  // Velero's server ensures the common repository key at start, before any pod volume backup needs it
    ensure_repository_password(transport, ctx.secrets, ns);
  } catch (const std::exception& e) {
    spdlog::warn("cannot ensure secret {}: {}", kRepoCredentialsSecret, e.what());
  }

  std::vector<std::string> disabled = options.disabled_controllers;
  if (options.restore_only) {
    spdlog::warn("--restore-only is deprecated (as in Velero): backups, schedules and garbage collection are disabled");
    for (const char* name : {"backup-queue", "backup", "backup-deletion", "schedule", "gc"}) disabled.push_back(name);
  }
  for (const char* name : {"backup-operations", "backup-finalizer", "restore-operations", "restore-finalizer"})
    if (std::find(disabled.begin(), disabled.end(), name) != disabled.end())
      spdlog::info("--disable-controllers {}: arca has no separate {} controller (asynchronous item operations are "
                   "not built; backups and restores finalize in their own controller); "
                   "nothing to disable",
                   name, name);
  auto enabled = [&](const std::string& name) {
    return std::find(disabled.begin(), disabled.end(), name) == disabled.end();
  };
  std::vector<std::unique_ptr<Controller>> controllers;
  if (enabled("backup-storage-location"))
    controllers.push_back(std::make_unique<Controller>("backup-storage-location", transport, ctx.locations, ns,
                                                       location_reconciler(ctx)));
  if (enabled("backup-queue"))
    controllers.push_back(
        std::make_unique<Controller>("backup-queue", transport, ctx.backups, ns, backup_queue_reconciler(ctx)));
  if (enabled("backup"))
    controllers.push_back(std::make_unique<Controller>("backup", transport, ctx.backups, ns, backup_reconciler(ctx)));
  if (enabled("backup-deletion"))
    controllers.push_back(std::make_unique<Controller>("backup-deletion", transport, ctx.delete_requests, ns,
                                                       delete_request_reconciler(ctx)));
  if (enabled("download-request"))
    controllers.push_back(std::make_unique<Controller>("download-request", transport, ctx.download_requests, ns,
                                                       download_request_reconciler(ctx)));
  if (enabled("backup"))  // arca backup verify: answered by the server, which holds the location credentials
    controllers.push_back(std::make_unique<Controller>("backup-verify", transport, ctx.backups, ns, verify_reconciler(ctx)));
  if (enabled("backup") && enabled("restore"))  // scheduled restore tests (restore_check.h)
    controllers.push_back(
        std::make_unique<Controller>("backup-restore-test", transport, ctx.backups, ns, restore_check_reconciler(ctx)));
  if (enabled("restore")) controllers.push_back(make_restore_controller(ctx));
  if (enabled("schedule")) controllers.push_back(make_schedule_controller(ctx));
  if (enabled("gc")) controllers.push_back(make_gc_controller(ctx, ctx.settings.garbage_collection_frequency));
  if (enabled("backup-sync"))
    controllers.push_back(make_backup_sync_controller(ctx, ctx.settings.backup_sync_period));
  if (enabled("server-status-request")) controllers.push_back(make_server_status_controller(ctx));
  if (enabled("backup-repo")) controllers.push_back(make_backup_repository_controller(ctx));
  for (auto& c : controllers) c->start();
  spdlog::info("arca server started in namespace {} with {} controllers", ns, controllers.size());

  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("received signal {}, shutting down", received);
  for (auto& c : controllers) c->request_stop();
  for (auto& c : controllers) c->stop();
  spdlog::info("arca server stopped");
}

}  // namespace arca::controller
