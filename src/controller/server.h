#pragma once
// `arca server`: the controllers of velero.io objects in one namespace, until SIGTERM/SIGINT.
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
  // Names from velero's --disable-controllers that arca has: backup-queue, backup, backup-deletion,
  // download-request, backup-storage-location (the full list: controller_names()).
  std::vector<std::string> disabled_controllers;
  // Extra services started with the controllers (the web console): each gets the context and returns what
  // keeps it running (nullptr: not enabled), destroyed at shutdown after the controllers have stopped.
  std::vector<std::function<std::shared_ptr<void>(ServerContext&)>> services;
};

// The controller names run_server knows, for validating --disable-controllers.
const std::vector<std::string>& controller_names();

// Blocks SIGTERM/SIGINT, starts the controllers (after failing interrupted backups), waits for a signal,
// then stops them gracefully: a running backup finishes first. Throws on start-up problems.
void run_server(const ServerOptions& options, const Clock& clock);

}  // namespace arca::controller
