// `arca version` (velero-cli.md §12): the client's version and, through a ServerStatusRequest, the server's.
#include <iostream>
#include <thread>

#include "api/types.h"
#include "cli/day2_commands.h"
#include "kube/dynamic.h"
#include "util/version.h"

namespace arca::cli {

int version(Session& s, bool client_only, std::chrono::seconds timeout, std::ostream& out) {
  out << "Client:\n\tVersion: v" << arca::version() << "\n";
  if (client_only) return 0;
  std::string server;
  try {
    kube::DynamicClient client(s.transport());
    auto resource = s.velero("serverstatusrequests");
    nlohmann::json request = {{"apiVersion", "velero.io/v1"},
                              {"kind", "ServerStatusRequest"},
                              {"metadata", {{"generateName", "velero-cli-"}, {"namespace", s.ns()}}}};
    std::string name = client.create(resource, s.ns(), request)["metadata"]["name"];
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (server.empty()) {
      auto current = client.get(resource, s.ns(), name).get<api::ServerStatusRequest>();
      if (current.status.phase == api::ServerStatusRequestPhase::Processed) {
        server = current.status.server_version;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("timed out waiting for server status request to be processed");
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  } catch (const std::exception& e) {
    out << "<error getting server version: " << e.what() << ">\n";
    return 0;
  }
  out << "Server:\n\tVersion: " << server << "\n";
  return 0;
}

}  // namespace arca::cli
