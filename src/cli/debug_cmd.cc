// `arca debug` (Velero's pkg/cmd/cli/debug/debug.go collects the same things with a crashd script) and `arca bug`
// (pkg/cmd/cli/bug/bug.go, which opens a browser; arca prints the report and the address instead).
#include <sys/utsname.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <regex>

#include "archive/tarball_writer.h"
#include "cli/commands.h"
#include "cli/day2_commands.h"
#include "cli/output.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "kube/transport.h"
#include "persistence/backup_store.h"
#include "util/logging.h"
#include "util/version.h"

namespace arca::cli {
namespace {

// Values of configuration keys that name a secret are masked (a BSL's config may carry an access key).
nlohmann::json redact_config(nlohmann::json object) {
  static const std::regex secret_key("key|secret|password|token|credential", std::regex::icase);
  if (object.contains("spec") && object["spec"].contains("config") && object["spec"]["config"].is_object())
    for (auto& [key, value] : object["spec"]["config"].items())
      if (std::regex_search(key, secret_key)) value = "<redacted>";
  return object;
}

std::string local_stamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d-%H-%M-%S", &tm);
  return text;
}

}  // namespace

int debug_bundle(Session& s, const DebugOptions& o, std::ostream& out) {
  std::string path = o.output.empty() ? "bundle-" + local_stamp() + ".tar.gz" : o.output;
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) throw std::runtime_error("cannot create the bundle " + path);
  archive::TarballWriter bundle([&](const char* data, size_t size) { file.write(data, std::streamsize(size)); });
  kube::DynamicClient client(s.transport());
  auto note = [&](const std::string& what) {
    if (o.verbose) out << what << "\n";
  };
  // Each part on its own: what cannot be read is written into the bundle as the reason, the rest still goes in.
  auto part = [&](const std::string& entry, const std::function<std::string()>& read) {
    std::string content;
    try {
      content = read();
    } catch (const std::exception& e) {
      content = "error: " + std::string(e.what()) + "\n";
    }
    bundle.add_file(entry, redact(content));
    note("collected " + entry);
  };

  const std::string ns = s.ns();
  part("velero/deployment.yaml", [&] {
    return to_yaml(client.get(s.discovery().lookup("apps", "v1", "deployments"), ns, "velero"));
  });
  std::vector<std::string> pods;
  try {
    kube::ListOptions server_pods;
    server_pods.label_selector = "component=velero";
    client.list(s.core("pods"), ns, server_pods, [&](const kube::ListItem& item) { pods.emplace_back(item.name); });
  } catch (const std::exception& e) {
    bundle.add_file("velero/pods.txt", "error: " + std::string(e.what()) + "\n");
  }
  for (const auto& pod : pods)
    part("velero/logs/" + pod + ".log", [&] {
      kube::HttpRequest request;
      request.path = "/api/v1/namespaces/" + ns + "/pods/" + pod + "/log";
      request.accept = "text/plain";
      auto response = s.transport().send(request);
      if (response.status != 200) throw std::runtime_error("HTTP " + std::to_string(response.status) + " reading the log");
      return response.body;
    });
  for (const char* resource : {"backupstoragelocations", "volumesnapshotlocations", "backups", "restores", "schedules",
                               "deletebackuprequests", "downloadrequests", "serverstatusrequests", "podvolumebackups",
                               "podvolumerestores", "backuprepositories"}) {
    part(std::string("velero.io/") + resource + ".yaml", [&] {
      std::vector<nlohmann::json> items;
      client.list(s.velero(resource), ns, {}, [&](const kube::ListItem& item) {
        items.push_back(redact_config(redact_secret(item.parse())));
      });
      return format_objects(items, "yaml");
    });
  }
  auto log_of = [&](api::DownloadTargetKind kind, const std::string& name) {
    DownloadOptions options;
    std::string gz;
    fetch_url(download_url(s, kind, name, options.timeout), options, [&](const char* d, size_t n) { gz.append(d, n); });
    return persistence::gunzip_bytes(gz, name + " log");
  };
  if (!o.backup.empty())
    part("backups/" + o.backup + ".log", [&] { return log_of(api::DownloadTargetKind::BackupLog, o.backup); });
  if (!o.restore.empty())
    part("restores/" + o.restore + ".log", [&] { return log_of(api::DownloadTargetKind::RestoreLog, o.restore); });
  bundle.finish();
  file.close();
  if (!file) throw std::runtime_error("cannot write the bundle " + path);
  out << "Generated debug information bundle: " << path << "\n";
  return 0;
}

int bug_report(std::ostream& out) {
  utsname host{};
  uname(&host);
  std::string kubectl = "(kubectl not found)";
  if (FILE* pipe = popen("timeout 5 kubectl version 2>&1", "r")) {
    kubectl.clear();
    char buffer[512];
    while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) kubectl.append(buffer, n);
    pclose(pipe);
  }
  auto features = read_client_config(std::cerr)["features"];
  out << "**What steps did you take and what happened:**\n\n"
      << "**What did you expect to happen:**\n\n"
      << "**The output of `arca debug --backup <name> --restore <name>` (a support bundle):**\n\n"
      << "**Environment:**\n"
      << "- arca version: v" << arca::version() << "\n"
      << "- OS/architecture: " << host.sysname << "/" << host.machine << "\n"
      << "- Kubernetes version (`kubectl version`):\n```\n" << kubectl << "```\n"
      << "- Client features: " << (features.empty() ? "<NOT SET>" : features) << "\n\n"
      << "File it in the arca repository's issue tracker.\n";
  return 0;
}

}  // namespace arca::cli
