#pragma once
// kubelite as a real process with arca's own Kubernetes client in front of it, for tests that drive arca's
// libraries in-process (the restore engine, the controllers with a ManualClock) and read the cluster back. The
// CLI-level tests use Cluster (tests/support/cluster.h), which drives the `arca` binary; both start kubelite the
// one way, through start_kubelite.
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "kube/config.h"
#include "kube/discovery.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "kube/transport.h"
#include "tests/support/kubelite_process.h"
#include "tests/support/process.h"

namespace testsupport {

struct KubeCluster {
  using json = nlohmann::json;

  explicit KubeCluster(const TempDir& dir, KubeliteOptions options = {})
      : kubelite(start_kubelite(dir, options)) {
    arca::kube::LoadOptions load;
    load.kubeconfig = kubelite.kubeconfig;
    arca::kube::RestConfig config = arca::kube::load_config(load);
    config.qps = 100000;  // the restore's own concurrency is what is measured, not a client-side limit
    config.burst = 100000;
    transport = std::make_unique<arca::kube::Transport>(config);
    discovery = std::make_unique<arca::kube::Discovery>(*transport);
    client = std::make_unique<arca::kube::DynamicClient>(*transport);
  }
  arca::kube::ApiResource resource(const std::string& input) { return discovery->resolve(input); }
  // Merges `status` into an object's status, through the status subresource when the resource has one (as a
  // controller writes it).
  void set_status(const std::string& resource, const std::string& ns, const std::string& name, const json& status) {
    auto r = this->resource(resource);
    client->patch(r, ns, name, arca::kube::PatchType::Merge, json{{"status", status}}.dump(), {},
                  r.subresource("status") != nullptr ? "status" : "");
  }
  // Refreshes discovery until it serves group/version/resource (a CRD just created); throws after 10 s.
  void wait_until_served(const std::string& group, const std::string& version, const std::string& resource) {
    if (!eventually([&] {
          discovery->refresh();
          return discovery->data()->find(group, version, resource) != nullptr;
        }, std::chrono::seconds(10)))
      throw std::runtime_error("discovery does not serve " + group + "/" + version + " " + resource);
  }
  arca::kube::ApiResource resource_of(const json& object) {
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
    arca::kube::ApiResource r = resource_of(object);
    if (r.namespaced) object["metadata"]["namespace"] = ns;
    return client->create(r, r.namespaced ? ns : "", object);
  }
  void create_namespace(const std::string& name, const json& labels = json::object()) {
    client->create(resource("namespaces"), "",
                   {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}, {"labels", labels}}}});
  }
  void delete_namespace_and_wait(const std::string& name) {
    client->remove(resource("namespaces"), "", name);
    if (!eventually([&] { return !exists(resource("namespaces"), "", name); }, std::chrono::seconds(15)))
      throw std::runtime_error("namespace " + name + " was not deleted");
  }
  bool exists(const arca::kube::ApiResource& r, const std::string& ns, const std::string& name) {
    try {
      client->get(r, ns, name);
      return true;
    } catch (const arca::kube::KubeError& e) {
      if (arca::kube::is_not_found(e)) return false;
      throw;
    }
  }
  // Every object of every listable namespaced resource (preferred versions) in `ns`, keyed by
  // "<group.resource>/<name>".
  std::map<std::string, json> objects_in(const std::string& ns) {
    std::map<std::string, json> objects;
    auto data = discovery->data();
    for (const auto* r : data->preferred_resources()) {
      if (!r->namespaced || !r->has_verb("list") || r->resource.find('/') != std::string::npos) continue;
      client->list(*r, ns, {}, [&](const arca::kube::ListItem& item) {
        objects[r->group_resource() + "/" + std::string(item.name)] = item.parse();
      });
    }
    return objects;
  }

  Kubelite kubelite;
  std::unique_ptr<arca::kube::Transport> transport;
  std::unique_ptr<arca::kube::Discovery> discovery;
  std::unique_ptr<arca::kube::DynamicClient> client;
};

}  // namespace testsupport
