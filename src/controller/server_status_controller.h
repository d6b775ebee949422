#pragma once
// ServerStatusRequests (Velero's server_status_request_controller.go): answered with the server's version and built-in plugins
// (phase Processed), then deleted one minute after processing. `arca version` uses them.
#include <memory>

#include "controller/context.h"
#include "controller/runtime.h"

namespace arca::controller {

ReconcileFn server_status_reconciler(ServerContext& context, kube::ApiResource requests);
std::unique_ptr<Controller> make_server_status_controller(ServerContext& context);

}  // namespace arca::controller
