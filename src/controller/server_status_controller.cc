#include "controller/server_status_controller.h"

#include <spdlog/spdlog.h>

#include "api/types.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "util/version.h"

namespace arca::controller {
namespace {

using namespace std::chrono_literals;

constexpr std::chrono::seconds kTtl = 1min;  // Velero's statusRequestResyncPeriod/ttl

// arca's object stores are built in rather than plugin binaries; they are reported the way Velero reports its
// built-in plugins so `velero plugin get`-style listings show what this server can talk to.
nlohmann::json builtin_plugins() {
  return nlohmann::json::array({{{"name", "velero.io/aws"}, {"kind", "ObjectStore"}},
                                {{"name", "velero.io/azure"}, {"kind", "ObjectStore"}},
                                {{"name", "local"}, {"kind", "ObjectStore"}}});
}

}  // namespace

ReconcileFn server_status_reconciler(ServerContext& ctx, kube::ApiResource requests) {
  return [&ctx, requests](const std::string&, const kube::ObjectPtr& cached) -> ReconcileResult {
    if (!cached) return {};
    auto request = cached->get<api::ServerStatusRequest>();
    const std::string& name = request.metadata.name;
    const std::string& ns = ctx.settings.namespace_name;
    kube::DynamicClient client(ctx.transport);
    Timestamp now = ctx.clock.now();
    if (request.status.phase == api::ServerStatusRequestPhase::Processed) {
      Timestamp processed = request.status.processed_timestamp.value_or(now);
      if (processed + kTtl > now) return {std::chrono::duration_cast<std::chrono::milliseconds>(processed + kTtl - now)};
      try {
        client.remove(requests, ns, name);
      } catch (const kube::KubeError& e) {
        if (!kube::is_not_found(e)) throw;
      }
      return {};
    }
    nlohmann::json status = {{"phase", "Processed"},
                             {"processedTimestamp", format_rfc3339(now)},
                             {"serverVersion", std::string("v") + version()},
                             {"plugins", builtin_plugins()}};
    client.patch(requests, ns, name, kube::PatchType::Merge, nlohmann::json{{"status", status}}.dump(), {},
                 requests.subresource("status") ? "status" : "");
    spdlog::debug("serverstatusrequest={} processed", name);
    return {std::chrono::duration_cast<std::chrono::milliseconds>(kTtl)};
  };
}

std::unique_ptr<Controller> make_server_status_controller(ServerContext& ctx) {
  auto requests = ctx.discovery.lookup("velero.io", "v1", "serverstatusrequests");
  return std::make_unique<Controller>("server-status-request", ctx.transport, requests, ctx.settings.namespace_name,
                                      server_status_reconciler(ctx, requests));
}

}  // namespace arca::controller
