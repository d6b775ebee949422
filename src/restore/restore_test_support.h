#pragma once
// Shared by the restore integration tests: a kubelite process (started by tests/support) with a client, fixture
// manifests loaded into a namespace, and backups made the way a backup run writes them (every listable
// resource of the preferred versions, through the archive's tarball writer), kept in memory. Compatibility with
// Velero's own layout is tested against a tarball that arca did not write (testdata/velero/backups/).
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
#include "tests/support/kube_cluster.h"

namespace arca::restore::testing {

using nlohmann::json;

// Without kubelite's data plane: these tests compare each restored object field by field and read creation order
// from resourceVersions, which the workload controllers' own writes (pods, endpoints, status) would blur.
struct Cluster : testsupport::KubeCluster {
  explicit Cluster(const testsupport::TempDir& dir, testsupport::KubeliteOptions options = {})
      : KubeCluster(dir, with_no_workloads(std::move(options))) {}
  static testsupport::KubeliteOptions with_no_workloads(testsupport::KubeliteOptions options) {
    options.extra_args.push_back("--no-workloads");
    return options;
  }
};

using testsupport::CommandResult;

// `arca ARGS` against the cluster, waited for (at most 60 s); its output is kept in numbered files under `dir`.
inline CommandResult run_arca(const Cluster& cluster, const testsupport::TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), {testsupport::arca_binary(), "--kubeconfig", cluster.kubelite.kubeconfig});
  return testsupport::run_command(args, dir);
}

// What an `arca server` test starts from: Velero's CRDs, namespace velero and a default local backup location
// whose store is `dir`/store (bucket "bucket").
inline void install_with_local_location(Cluster& cluster, const testsupport::TempDir& dir) {
  if (run_arca(cluster, dir, {"install", "--crds-only"}).exit_code != 0)
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
inline std::string make_backup(testsupport::KubeCluster& cluster, const std::vector<std::string>& namespaces,
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
