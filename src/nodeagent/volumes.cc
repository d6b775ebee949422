// The pieces of the node agent that need no cluster: its ConfigMap, where volumes live on the node, tags and the
// done file.
#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "nodeagent/node_agent.h"

namespace arca::nodeagent {

namespace fs = std::filesystem;

LoadConcurrency parse_node_agent_config(const nlohmann::json& configmap) {
  LoadConcurrency out;
  const auto& data = configmap.value("data", nlohmann::json::object());
  if (data.empty()) throw std::invalid_argument("node-agent ConfigMap has no data");
  // Velero reads the ConfigMap's one value, whatever its key.
  auto item = data.begin();
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(item.value().get<std::string>());
  } catch (const std::exception& e) {
    throw std::invalid_argument("node-agent ConfigMap key " + item.key() + " is not valid JSON: " + e.what());
  }
  if (!config.contains("loadConcurrency")) return out;
  const auto& load = config["loadConcurrency"];
  try {
    if (load.contains("globalConfig")) out.global = load["globalConfig"].get<int>();
    for (const auto& rule : load.value("perNodeConfig", nlohmann::json::array())) {
      LoadConcurrency::Rule r;
      if (rule.contains("nodeSelector")) r.node_selector = rule["nodeSelector"].get<LabelSelector>();
      r.number = rule.value("number", 0);
      out.per_node.push_back(r);
    }
  } catch (const std::exception& e) {
    throw std::invalid_argument("node-agent ConfigMap key " + item.key() + ": bad loadConcurrency: " + e.what());
  }
  return out;
}

int concurrency_for_node(const LoadConcurrency& config, const Labels& node_labels) {
  int per_node = 0;
  for (const auto& rule : config.per_node) {
    if (rule.number < 1) continue;
    if (!validate_label_selector(rule.node_selector).empty()) continue;
    if (selector_matches(rule.node_selector, node_labels) && (per_node == 0 || rule.number < per_node))
      per_node = rule.number;
  }
  if (per_node > 0) return per_node;
  return config.global > 0 ? config.global : 1;
}

std::string pods_dir_for_node(const Options& options, const nlohmann::json& node) {
  std::error_code ec;
  if (options.host_pods_dir_given || fs::is_directory(options.host_pods_dir, ec)) return options.host_pods_dir;
  const auto& annotations = node["metadata"].value("annotations", nlohmann::json::object());
  auto root = annotations.find("kubelite.dev/kubelet-root");
  if (root != annotations.end() && root->is_string()) return root->get<std::string>() + "/pods";
  return options.host_pods_dir;
}

std::string volume_directory(const nlohmann::json& pod, const std::string& volume, const Getter& get) {
  const auto& volumes = pod["spec"].value("volumes", nlohmann::json::array());
  auto it = std::find_if(volumes.begin(), volumes.end(),
                         [&](const nlohmann::json& v) { return v.value("name", "") == volume; });
  if (it == volumes.end())
    throw std::runtime_error("pod " + pod["metadata"].value("namespace", "") + "/" +
                             pod["metadata"].value("name", "") + " has no volume " + volume);
  if (!it->contains("persistentVolumeClaim")) return volume;
  std::string ns = pod["metadata"].value("namespace", "");
  std::string claim = (*it)["persistentVolumeClaim"].value("claimName", "");
  auto pvc = get("persistentvolumeclaims", ns, claim);
  std::string pv_name = pvc["spec"].value("volumeName", "");
  if (pv_name.empty()) throw std::runtime_error("persistent volume claim " + ns + "/" + claim + " is not bound");
  auto pv = get("persistentvolumes", "", pv_name);
  const auto& spec = pv.value("spec", nlohmann::json::object());
  if (spec.contains("csi") && spec.value("volumeMode", "Filesystem") != "Block") return pv_name + "/mount";
  return pv_name;
}

std::string find_volume_path(const std::string& pods_dir, const std::string& pod_uid, const std::string& dir) {
  std::string pattern = pods_dir + "/" + pod_uid + "/volumes/*/" + dir;
  glob_t g{};
  int rc = ::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &g);
  std::vector<std::string> matches;
  if (rc == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i) matches.emplace_back(g.gl_pathv[i]);
  globfree(&g);
  if (matches.empty()) throw std::runtime_error("no volume directory matches " + pattern);
  if (matches.size() > 1) throw std::runtime_error("more than one volume directory matches " + pattern);
  return matches.front();
}

std::vector<std::string> restic_tags(const std::map<std::string, std::string>& tags) {
  std::vector<std::string> out;
  for (const auto& [k, v] : tags) out.push_back(k + "=" + v);
  return out;
}

std::string restore_uid(const nlohmann::json& pvr) {
  const auto& owners = pvr["metadata"].value("ownerReferences", nlohmann::json::array());
  for (const auto& o : owners)
    if (o.value("controller", false)) return o.value("uid", "");
  return "";
}

void write_done_file(const std::string& volume_path, const std::string& uid) {
  if (uid.empty()) throw std::runtime_error("the PodVolumeRestore has no controller owner (the Restore) to name the done file");
  fs::path dir = fs::path(volume_path) / ".velero";
  std::error_code ec;
  fs::remove_all(dir, ec);  // done files of earlier restores (Velero ignores a failure here too)
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("error creating .velero directory for done file: " + ec.message());
  std::ofstream out(dir / uid, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("error writing done file " + (dir / uid).string());
  fs::permissions(dir / uid, fs::perms(0644), ec);
}

}  // namespace arca::nodeagent
