// `arca version` (velero-cli.md §12): the client's version and, through a ServerStatusRequest, the server's.
#include <cstdlib>
#include <filesystem>
#include <fstream>
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

namespace arca::cli {

std::string client_config_path() {
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.config/velero/config.json";
}

std::map<std::string, std::string> read_client_config(std::ostream& warnings) {
  std::map<std::string, std::string> config;
  std::ifstream in(client_config_path());
  if (!in) return config;  // no file: nothing configured
  try {
    auto j = nlohmann::json::parse(in);
    for (const auto& [k, v] : j.items())
      if (v.is_string()) config[k] = v.get<std::string>();
  } catch (const std::exception& e) {
    warnings << "WARNING: Error reading config file: " << e.what() << "\n";
  }
  return config;
}

int client_config_set(const std::vector<std::string>& assignments, std::ostream& out, std::ostream& err) {
  auto config = read_client_config(err);
  for (const auto& a : assignments) {
    auto eq = a.find('=');
    if (eq == std::string::npos || a.find('=', eq + 1) != std::string::npos) {
      err << "WARNING: Ignoring invalid key/value pair " << a << " (expected KEY=VALUE)\n";
      continue;
    }
    std::string key = a.substr(0, eq), value = a.substr(eq + 1);
    if (value.empty())
      config.erase(key);
    else
      config[key] = value;
  }
  auto path = std::filesystem::path(client_config_path());
  std::filesystem::create_directories(path.parent_path());
  std::filesystem::permissions(path.parent_path(), std::filesystem::perms::owner_all);
  {
    std::ofstream file(path, std::ios::trunc);
    if (!file) throw std::runtime_error("cannot write " + path.string());
    file << nlohmann::json(config).dump() << "\n";
  }
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return 0;
}

int client_config_get(const std::vector<std::string>& keys, std::ostream& out, std::ostream& err) {
  auto config = read_client_config(err);
  if (keys.empty()) {
    for (const auto& [k, v] : config) out << k << ": " << v << "\n";
    return 0;
  }
  for (const auto& k : keys) {
    auto it = config.find(k);
    out << k << ": " << (it == config.end() ? "<NOT SET>" : it->second) << "\n";
  }
  return 0;
}

}  // namespace arca::cli
