#include "bench/support/seeded_cluster.h"

#include <curl/curl.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace benchsupport {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

json yaml_to_json(const YAML::Node& node) {
  if (node.IsMap()) {
    json out = json::object();
    for (const auto& kv : node) out[kv.first.as<std::string>()] = yaml_to_json(kv.second);
    return out;
  }
  if (node.IsSequence()) {
    json out = json::array();
    for (const auto& item : node) out.push_back(yaml_to_json(item));
    return out;
  }
  if (node.IsNull()) return nullptr;
  const std::string s = node.Scalar();
  if (node.Tag() == "!") return s;  // quoted
  if (s == "true" || s == "false") return s == "true";
  char* end = nullptr;
  long long n = std::strtoll(s.c_str(), &end, 10);
  if (!s.empty() && *end == '\0') return n;
  return s;
}

size_t append_to_string(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

// kubelite --load reads every file of the directory in name order; one file per 20,000 objects keeps the
// JSON documents the benchmark builds small.
void write_load_files(const std::string& dir, int objects) {
  fs::create_directories(dir);
  json namespaces = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", json::array()}};
  for (int n = -1; n < (objects > 0 ? kNamespaces : 0); ++n)
    namespaces["items"].push_back({{"apiVersion", "v1"},
                                   {"kind", "Namespace"},
                                   {"metadata", {{"name", n < 0 ? "velero" : "ns-" + std::to_string(n)}}}});
  std::ofstream(dir + "/000-namespaces.json") << namespaces.dump();
  if (objects == 0) return;
  auto templates = fixture_templates();
  json list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", json::array()}};
  int file = 0;
  for (int i = 0; i < objects; ++i) {
    json o = templates[i % templates.size()];
    o["metadata"]["name"] = o["metadata"]["name"].get<std::string>() + "-" + std::to_string(i / kNamespaces);
    o["metadata"]["namespace"] = "ns-" + std::to_string(i % kNamespaces);
    list["items"].push_back(std::move(o));
    if (list["items"].size() == 20000 || i + 1 == objects) {
      char name[64];
      std::snprintf(name, sizeof name, "/%03d-objects.json", ++file);
      std::ofstream(dir + name) << list.dump();
      list["items"] = json::array();
    }
  }
}

void use_build_defaults() {
  setenv("ARCA_BUILD_DIR", ARCA_BUILD_DIR_DEFAULT, 0);
  setenv("ARCA_FIXTURES", ARCA_FIXTURES_DEFAULT, 0);
}

std::vector<json> fixture_templates() {
  std::vector<json> out;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(testsupport::fixtures_dir() + "/kubernetes/manifests"))
    files.push_back(entry.path());
  std::sort(files.begin(), files.end());  // the same data set on every machine
  for (const auto& path : files) {
    if (path.filename().string().rfind("crd-", 0) == 0) continue;
    for (const auto& doc : YAML::LoadAllFromFile(path.string())) {
      if (!doc.IsMap()) continue;
      json j = yaml_to_json(doc);
      std::string kind = j.value("kind", "");
      if (kind.empty() || kind == "PersistentVolume" || kind == "Namespace" || kind == "ClusterRole" ||
          kind == "ClusterRoleBinding" || kind == "StorageClass")
        continue;
      j["metadata"].erase("namespace");
      out.push_back(j);
    }
  }
  return out;
}

void start_seeded(SeededCluster& cluster, int objects) {
  write_load_files(cluster.dir.file("load"), objects);
  cluster.kubeconfig = cluster.dir.file("kubeconfig");
  const std::string kubelite = testsupport::build_dir() + "/kubelite/kubelite";
  // One NodePort Service per copy of the templates: 300,000 objects hold ~13,000, more than the default range
  // (30000-32767) has ports, in the seeded cluster and in the cluster they are restored into.
  std::vector<std::string> argv = {kubelite, "--port", "0", "--kubeconfig-out", cluster.kubeconfig, "--load",
                                   cluster.dir.file("load"), "--service-node-port-range", "30000-49999",
                                   // The API alone, as these figures were measured: with the data plane, the seeded
                                   // workloads' pods, ReplicaSets and events did not settle in 10 minutes at 30k objects.
                                   "--no-workloads"};
  cluster.kubelite = testsupport::ChildProcess(argv, cluster.dir.file("kubelite.log"));
  // Loading 300,000 objects takes minutes; a kubelite that refused one exits, and that is reported at once.
  while (!testsupport::wait_for_file(cluster.kubeconfig, std::chrono::seconds(1)))
    if (!cluster.kubelite.running()) throw std::runtime_error("kubelite did not start: " + cluster.kubelite.log());
  auto config = YAML::LoadFile(cluster.kubeconfig);
  cluster.server = config["clusters"][0]["cluster"]["server"].as<std::string>();
  cluster.token = config["users"][0]["user"]["token"].as<std::string>();
}

int arca(const SeededCluster& cluster, const std::string& args) {
  std::string cmd = testsupport::build_dir() + "/src/cli/arca --kubeconfig " + cluster.kubeconfig + " " + args +
                    " > " + cluster.dir.file("cli.log") + " 2>&1";
  return std::system(cmd.c_str());
}

std::string http_get(const SeededCluster& cluster, const std::string& path) {
  return http_request(cluster, "GET", path);
}

std::string http_request(const SeededCluster& cluster, const std::string& method, const std::string& path,
                         const std::string& merge_patch) {
  std::string body;
  CURL* curl = curl_easy_init();
  std::string auth = "Authorization: Bearer " + cluster.token;
  curl_slist* headers = curl_slist_append(nullptr, auth.c_str());
  if (method == "PATCH") headers = curl_slist_append(headers, "Content-Type: application/merge-patch+json");
  std::string url = cluster.server + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "PATCH") curl_easy_setopt(curl, CURLOPT_POSTFIELDS, merge_patch.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_to_string);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) throw std::runtime_error(method + " " + url + ": " + curl_easy_strerror(rc));
  if (status >= 400) throw std::runtime_error(method + " " + url + ": HTTP " + std::to_string(status) + ": " + body);
  return body;
}

double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));  // the command name may hold spaces
  std::string skip;
  for (int field = 3; field < 14; ++field) fields >> skip;
  double user = 0, system = 0;
  fields >> user >> system;
  return (user + system) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long status_kib(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field));
  return -1;
}

}  // namespace benchsupport
