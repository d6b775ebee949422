#pragma once
// Shared set-up of the kube integration tests: a real kubelite process and a client configured from
// the kubeconfig it wrote, exactly as a user's client would be.
#include <memory>
#include <string>

#include "kube/config.h"
#include "kube/discovery.h"
#include "kube/dynamic.h"
#include "kube/transport.h"
#include "tests/support/kubelite_process.h"

namespace arca::kube::testing {

inline RestConfig config_from(const std::string& kubeconfig, const std::string& context = "") {
  LoadOptions options;
  options.kubeconfig = kubeconfig;
  options.context = context;
  return load_config(options);
}

struct Client {
  explicit Client(RestConfig config)
      : transport(std::make_unique<Transport>(std::move(config))), discovery(*transport), dynamic(*transport) {}
  std::unique_ptr<Transport> transport;
  Discovery discovery;
  DynamicClient dynamic;
};

inline nlohmann::json config_map(const std::string& ns, const std::string& name, const nlohmann::json& labels = nullptr) {
  nlohmann::json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                       {"metadata", {{"name", name}, {"namespace", ns}}}, {"data", {{"k", "v"}}}};
  if (!labels.is_null()) cm["metadata"]["labels"] = labels;
  return cm;
}

inline nlohmann::json namespace_object(const std::string& name) {
  return {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
}

inline nlohmann::json deployment(const std::string& name) {
  nlohmann::json d = nlohmann::json::parse(R"j({
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": ""},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": ""}},
             "template": {"metadata": {"labels": {"app": ""}},
                          "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}}})j");
  d["metadata"]["name"] = name;
  d["spec"]["selector"]["matchLabels"]["app"] = name;
  d["spec"]["template"]["metadata"]["labels"]["app"] = name;
  return d;
}

}  // namespace arca::kube::testing
