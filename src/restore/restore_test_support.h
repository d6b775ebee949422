#pragma once
// Shared by the restore integration tests and the benchmark: a kubelite process with a client, fixture
// manifests loaded into a namespace, and backups made the way a backup run writes them (every listable
// resource of the preferred versions, through the archive's tarball writer), kept in memory.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "archive/tarball_writer.h"
#include "kube/config.h"
#include "kube/discovery.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "kube/transport.h"
#include "restore/engine.h"
#include "restore/modifiers.h"
#include "tests/support/kubelite_process.h"

namespace arca::restore::testing {

using nlohmann::json;

struct Cluster {
  explicit Cluster(const testsupport::TempDir& dir, testsupport::KubeliteOptions options = {})
      : kubelite(testsupport::start_kubelite(dir, options)) {
    kube::LoadOptions load;
    load.kubeconfig = kubelite.kubeconfig;
    kube::RestConfig config = kube::load_config(load);
    config.qps = 100000;  // the restore's own concurrency is what is measured, not a client-side limit
    config.burst = 100000;
    transport = std::make_unique<kube::Transport>(config);
    discovery = std::make_unique<kube::Discovery>(*transport);
    client = std::make_unique<kube::DynamicClient>(*transport);
  }
  kube::ApiResource resource(const std::string& input) { return discovery->resolve(input); }
  kube::ApiResource resource_of(const json& object) {
    std::string api_version = object.value("apiVersion", "");
    size_t slash = api_version.find('/');
    std::string group = slash == std::string::npos ? "" : api_version.substr(0, slash);
    std::string version = slash == std::string::npos ? api_version : api_version.substr(slash + 1);
    for (const auto& r : discovery->data()->resources)
      if (r.group == group && r.version == version && r.kind == object.value("kind", "")) return r;
    discovery->refresh();
    for (const auto& r : discovery->data()->resources)
      if (r.group == group && r.version == version && r.kind == object.value("kind", "")) return r;
    throw std::runtime_error("no resource for " + api_version + " " + object.value("kind", ""));
  }
  json create(json object, const std::string& ns) {
    kube::ApiResource r = resource_of(object);
    if (r.namespaced) object["metadata"]["namespace"] = ns;
    return client->create(r, r.namespaced ? ns : "", object);
  }
  void create_namespace(const std::string& name, const json& labels = json::object()) {
    client->create(resource("namespaces"), "",
                   {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}, {"labels", labels}}}});
  }
  void delete_namespace_and_wait(const std::string& name) {
    client->remove(resource("namespaces"), "", name);
    for (int i = 0; i < 300; ++i) {
      try {
        client->get(resource("namespaces"), "", name);
      } catch (const kube::KubeError& e) {
        if (kube::is_not_found(e)) return;
        throw;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("namespace " + name + " was not deleted");
  }
  // Every object of every listable namespaced resource (preferred versions) in `ns`, keyed by
  // "<group.resource>/<name>".
  std::map<std::string, json> objects_in(const std::string& ns) {
    std::map<std::string, json> objects;
    auto data = discovery->data();
    for (const auto* r : data->preferred_resources()) {
      if (!r->namespaced || !r->has_verb("list") || r->resource.find('/') != std::string::npos) continue;
      client->list(*r, ns, {}, [&](const kube::ListItem& item) {
        objects[r->group_resource() + "/" + std::string(item.name)] = item.parse();
      });
    }
    return objects;
  }

  testsupport::Kubelite kubelite;
  std::unique_ptr<kube::Transport> transport;
  std::unique_ptr<kube::Discovery> discovery;
  std::unique_ptr<kube::DynamicClient> client;
};

struct CommandResult {
  int status;
  std::string output;
};

// `arca ARGS` against the cluster, waited for; its output is kept in a numbered file under `dir`.
inline CommandResult run_arca(const Cluster& cluster, const testsupport::TempDir& dir, std::vector<std::string> args) {
  static int counter = 0;
  std::string log = dir.file("arca-" + std::to_string(++counter) + ".out");
  args.insert(args.begin(), {testsupport::build_dir() + "/src/cli/arca", "--kubeconfig", cluster.kubelite.kubeconfig});
  testsupport::ChildProcess process(args, log);
  int status = process.wait(std::chrono::seconds(60));
  return {status, process.log()};
}

// What an `arca server` test starts from: Velero's CRDs, namespace velero and a default local backup location
// whose store is `dir`/store (bucket "bucket").
inline void install_with_local_location(Cluster& cluster, const testsupport::TempDir& dir) {
  if (run_arca(cluster, dir, {"install", "--crds-only"}).status != 0)
    throw std::runtime_error("arca install --crds-only failed");
  cluster.discovery->refresh();
  cluster.create_namespace("velero");
  std::filesystem::create_directories(dir.file("store/bucket"));
  cluster.create({{"apiVersion", "velero.io/v1"}, {"kind", "BackupStorageLocation"},
                  {"metadata", {{"name", "default"}, {"namespace", "velero"}}},
                  {"spec", {{"provider", "local"}, {"objectStorage", {{"bucket", "bucket"}}}, {"default", true},
                            {"config", {{"root", dir.file("store")}}}}}},
                 "velero");
}

// The documents of a manifest file (YAML or JSON-in-YAML, `---` separated, List kinds expanded).
inline std::vector<json> manifest_objects(const std::string& path) {
  std::vector<json> objects;
  for (const auto& node : YAML::LoadAllFromFile(path)) {
    if (!node.IsMap()) continue;
    std::ostringstream text;
    text << YAML::Dump(node);
    json object = yaml_to_json(text.str());
    if (object.value("kind", "") == "List") {
      for (const auto& item : object["items"]) objects.push_back(item);
    } else {
      objects.push_back(object);
    }
  }
  return objects;
}

// A backup of `namespaces` (their objects and the Namespace objects) plus the cluster-scoped `cluster_resources`.
inline std::string make_backup(Cluster& cluster, const std::vector<std::string>& namespaces,
                               const std::vector<std::string>& cluster_resources = {}) {
  std::string tarball;
  archive::TarballWriter writer([&](const char* data, size_t size) { tarball.append(data, size); });
  auto data = cluster.discovery->data();
  for (const auto* r : data->preferred_resources()) {
    if (!r->has_verb("list") || r->resource.find('/') != std::string::npos) continue;
    std::string dir = archive::resource_dir(r->resource, r->group);
    auto add = [&](const kube::ListItem& item) {
      writer.add_item({dir, std::string(item.namespace_name), std::string(item.name)}, r->version, true, item.json);
    };
    if (r->namespaced) {
      for (const auto& ns : namespaces) cluster.client->list(*r, ns, {}, add);
    } else if (r->resource == "namespaces") {
      cluster.client->list(*r, "", {}, [&](const kube::ListItem& item) {
        if (std::find(namespaces.begin(), namespaces.end(), item.name) != namespaces.end()) add(item);
      });
    } else if (std::find(cluster_resources.begin(), cluster_resources.end(), r->group_resource()) !=
               cluster_resources.end()) {
      cluster.client->list(*r, "", {}, add);
    }
  }
  writer.finish();
  return tarball;
}

inline archive::ByteSource source_of(const std::string& bytes) {
  auto offset = std::make_shared<size_t>(0);
  return [&bytes, offset](char* buffer, size_t capacity) {
    size_t n = std::min(capacity, bytes.size() - *offset);
    std::memcpy(buffer, bytes.data() + *offset, n);
    *offset += n;
    return n;
  };
}

inline api::Restore restore_named(const std::string& name, const std::string& backup) {
  api::Restore restore;
  restore.metadata.name = name;
  restore.metadata.namespace_ = "velero";
  restore.spec.backup_name = backup;
  return restore;
}

}  // namespace arca::restore::testing
