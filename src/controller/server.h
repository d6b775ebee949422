#pragma once
// `arca server`: the controllers of velero.io objects in one namespace, until SIGTERM/SIGINT.
#include <signal.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "controller/clock.h"
#include "controller/context.h"
#include "kube/config.h"

namespace arca::controller {

struct ServerOptions {
  kube::LoadOptions kube;
  ServerSettings settings;
  // Velero defaults to 100/100, which caps a restore at ~100 objects/s. arca bounds concurrency instead (one
  // restore at a time, at most 16 of its requests in flight), so its rate follows the API server's latency;
  // this limit is only a ceiling against runaway loops.
  double client_qps = 10000;
  int client_burst = 1000;
  // Velero's --disable-controllers names (controller_names()); a name whose work arca does elsewhere or has not
  // built (backup-operations, backup-finalizer, restore-operations, restore-finalizer) disables
  // nothing and says so in the log.
  std::vector<std::string> disabled_controllers;
  // Velero's --restore-only: backups, schedules and garbage collection disabled (deprecated in Velero).
  bool restore_only = false;
  std::string metrics_address = ":8085";
  // Extra services started with the controllers (the web console): each gets the context and returns what
  // keeps it running (nullptr: not enabled), destroyed at shutdown after the controllers have stopped.
  std::vector<std::function<std::shared_ptr<void>(ServerContext&)>> services;
};

// Velero's 14 controller names (pkg/cmd/server/config/config.go DisableableControllers), then arca's
// backup-storage-location.
const std::vector<std::string>& controller_names();

// Blocks SIGTERM and SIGINT in this thread and those it starts (they are taken by sigwait on the returned set).
sigset_t block_termination_signals();

// Blocks SIGTERM/SIGINT, starts the controllers (after failing interrupted backups), waits for a signal,
// then stops them gracefully: a running backup finishes first. Throws on start-up problems.
void run_server(const ServerOptions& options, const Clock& clock);

}  // namespace arca::controller
