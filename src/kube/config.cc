#include "kube/config.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "kube/errors.h"
#include "util/base64.h"

namespace arca::kube {
namespace {

namespace fs = std::filesystem;

// Reads a whole file; the error names the file and the OS's reason, like Go's os.ReadFile.
std::string read_file_or_throw(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config_error(what + " \"" + path + "\": " + std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string base64_decode_or_throw(const std::string& text, const std::string& what) {
  auto decoded = base64_decode(text);
  if (!decoded) throw config_error(what + ": illegal base64 data");
  return *decoded;
}

std::string resolve_path(const std::string& path, const fs::path& base_dir) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (base_dir / path).lexically_normal().string();
}

std::string scalar(const YAML::Node& node, const char* key) {
  const YAML::Node value = node[key];
  if (!value || value.IsNull()) return "";
  return value.as<std::string>();
}

// One named entry of a kubeconfig file, with the directory its relative paths resolve against.
struct Entry {
  YAML::Node body;
  fs::path dir;
  std::string file;
};

struct MergedKubeconfig {
  std::map<std::string, Entry> clusters, users, contexts;
  std::string current_context;
  std::vector<std::string> files;  // the files that were read, for error messages
};

void merge_file(const std::string& path, MergedKubeconfig& merged) {
  std::string text = read_file_or_throw(path, "error loading config file");
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw config_error("error loading config file \"" + path + "\": yaml: line " + std::to_string(e.mark.line + 1) +
                       ": " + e.msg);
  }
  merged.files.push_back(path);
  if (!root || root.IsNull()) return;  // an empty file is a valid, empty kubeconfig
  if (!root.IsMap()) throw config_error("error loading config file \"" + path + "\": not a kubeconfig (a YAML map)");
  fs::path dir = fs::absolute(fs::path(path)).parent_path();
  auto add = [&](const char* list_key, const char* body_key, std::map<std::string, Entry>& into) {
    const YAML::Node list = root[list_key];
    if (!list || list.IsNull()) return;
    if (!list.IsSequence()) {
      throw config_error("error loading config file \"" + path + "\": " + list_key + " must be a list");
    }
    for (const auto& item : list) {
      std::string name = item.IsMap() ? scalar(item, "name") : "";
      if (name.empty()) {
        throw config_error("error loading config file \"" + path + "\": an entry of " + list_key + " has no name");
      }
      // First file to define a name wins (client-go's merge: later files never override).
      into.emplace(name, Entry{item[body_key], dir, path});
    }
  };
  try {
    add("clusters", "cluster", merged.clusters);
    add("users", "user", merged.users);
    add("contexts", "context", merged.contexts);
    if (merged.current_context.empty()) merged.current_context = scalar(root, "current-context");
  } catch (const YAML::Exception& e) {
    throw config_error("error loading config file \"" + path + "\": " + e.msg);
  }
}

std::string home_kubeconfig() {
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.kube/config";
}

// PEM from `<key>-data` (base64) or from the file `<key>`, whichever is set (data wins, as in client-go).
std::string pem_from(const Entry& entry, const std::string& key, const std::string& what) {
  std::string data = scalar(entry.body, (key + "-data").c_str());
  if (!data.empty()) return base64_decode_or_throw(data, what + " " + key + "-data in \"" + entry.file + "\"");
  std::string path = scalar(entry.body, key.c_str());
  if (path.empty()) return "";
  return read_file_or_throw(resolve_path(path, entry.dir), "unable to read " + key + " of " + what);
}

ExecConfig parse_exec(const YAML::Node& node, const Entry& entry, const std::string& user_name) {
  ExecConfig exec;
  exec.command = scalar(node, "command");
  if (exec.command.empty()) throw config_error("user \"" + user_name + "\": exec has no command");
  // client-go resolves a relative command that names a path (./plugin, bin/plugin) against the
  // kubeconfig's directory; a bare name is looked up in PATH.
  if (exec.command.find('/') != std::string::npos) exec.command = resolve_path(exec.command, entry.dir);
  exec.api_version = scalar(node, "apiVersion");
  if (exec.api_version != "client.authentication.k8s.io/v1" &&
      exec.api_version != "client.authentication.k8s.io/v1beta1") {
    throw config_error("user \"" + user_name + "\": exec plugin apiVersion \"" + exec.api_version +
                       "\" is not supported (use client.authentication.k8s.io/v1 or v1beta1)");
  }
  if (const YAML::Node args = node["args"]; args && args.IsSequence()) {
    for (const auto& arg : args) exec.args.push_back(arg.as<std::string>());
  }
  if (const YAML::Node env = node["env"]; env && env.IsSequence()) {
    for (const auto& var : env) exec.env.emplace_back(scalar(var, "name"), scalar(var, "value"));
  }
  exec.interactive_mode = scalar(node, "interactiveMode");
  if (exec.interactive_mode.empty()) {
    if (exec.api_version == "client.authentication.k8s.io/v1") {
      throw config_error("user \"" + user_name + "\": interactiveMode must be specified to use exec authentication plugin");
    }
    exec.interactive_mode = "IfAvailable";
  }
  if (exec.interactive_mode != "Never" && exec.interactive_mode != "IfAvailable" && exec.interactive_mode != "Always") {
    throw config_error("user \"" + user_name + "\": exec interactiveMode \"" + exec.interactive_mode +
                       "\" is not one of Never, IfAvailable, Always");
  }
  exec.install_hint = scalar(node, "installHint");
  if (node["provideClusterInfo"]) exec.provide_cluster_info = node["provideClusterInfo"].as<bool>();
  return exec;
}

RestConfig from_kubeconfig(const MergedKubeconfig& merged, const LoadOptions& options) {
  std::string context_name = options.context.empty() ? merged.current_context : options.context;
  std::string files;
  for (const auto& f : merged.files) files += (files.empty() ? "" : ", ") + f;
  if (context_name.empty()) {
    throw config_error("no context is chosen: current-context is not set in " + files + " and no context was given");
  }
  auto context_it = merged.contexts.find(context_name);
  if (context_it == merged.contexts.end()) {
    throw config_error("context \"" + context_name + "\" does not exist in " + files);
  }
  const YAML::Node& context = context_it->second.body;
  std::string cluster_name = scalar(context, "cluster");
  std::string user_name = scalar(context, "user");
  auto cluster_it = merged.clusters.find(cluster_name);
  if (cluster_it == merged.clusters.end()) {
    throw config_error("cluster \"" + cluster_name + "\" of context \"" + context_name + "\" does not exist");
  }

  RestConfig config;
  config.context = context_name;
  const Entry& cluster = cluster_it->second;
  config.cluster.server = scalar(cluster.body, "server");
  if (config.cluster.server.empty()) throw config_error("cluster \"" + cluster_name + "\" has no server");
  std::string what = "cluster \"" + cluster_name + "\"";
  config.cluster.certificate_authority = pem_from(cluster, "certificate-authority", what);
  if (cluster.body["insecure-skip-tls-verify"]) {
    config.cluster.insecure_skip_tls_verify = cluster.body["insecure-skip-tls-verify"].as<bool>();
  }
  if (config.cluster.insecure_skip_tls_verify && !config.cluster.certificate_authority.empty()) {
    throw config_error(what + ": specifying a root certificates file with the insecure flag is not allowed");
  }
  config.cluster.tls_server_name = scalar(cluster.body, "tls-server-name");
  config.cluster.proxy_url = scalar(cluster.body, "proxy-url");

  // client-go's kubeconfig loader hands credentials only to TLS servers: a token never crosses plain HTTP.
  bool tls = config.cluster.server.rfind("https://", 0) == 0;
  if (!user_name.empty() && tls) {
    auto user_it = merged.users.find(user_name);
    if (user_it == merged.users.end()) {
      throw config_error("user \"" + user_name + "\" of context \"" + context_name + "\" does not exist");
    }
    const Entry& user = user_it->second;
    std::string user_what = "user \"" + user_name + "\"";
    config.user.token = scalar(user.body, "token");
    config.user.token_file = resolve_path(scalar(user.body, "tokenFile"), user.dir);
    config.user.client_certificate = pem_from(user, "client-certificate", user_what);
    config.user.client_key = pem_from(user, "client-key", user_what);
    if (config.user.client_certificate.empty() != config.user.client_key.empty()) {
      throw config_error(user_what + ": client-certificate and client-key must be given together");
    }
    config.user.username = scalar(user.body, "username");
    config.user.password = scalar(user.body, "password");
    if (const YAML::Node provider = user.body["auth-provider"]; provider && provider.IsMap()) {
      // The in-tree gcp/azure/oidc providers were removed from client-go in 1.26; their replacements are
      // exec plugins. Going on without credentials would only produce a puzzling 401 later.
      throw config_error(user_what + " uses auth-provider \"" + scalar(provider, "name") +
                         "\", which is not supported: use an exec credential plugin (gke-gcloud-auth-plugin, kubelogin)");
    }
    if (const YAML::Node exec = user.body["exec"]; exec && exec.IsMap()) {
      config.user.exec = parse_exec(exec, user, user_name);
    }
  }
  std::string ns = scalar(context, "namespace");
  if (!ns.empty()) config.namespace_name = ns;
  return config;
}

}  // namespace

RestConfig load_config(const LoadOptions& options) {
  std::vector<std::string> paths;
  bool explicit_file = !options.kubeconfig.empty();
  if (explicit_file) {
    paths.push_back(options.kubeconfig);
  } else if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
    std::stringstream list(env);
    for (std::string path; std::getline(list, path, ':');) {
      if (!path.empty()) paths.push_back(path);
    }
  } else {
    paths.push_back(home_kubeconfig());
  }

  MergedKubeconfig merged;
  for (const auto& path : paths) {
    // Missing files in KUBECONFIG or a missing ~/.kube/config are skipped; a missing --kubeconfig is an error.
    if (!explicit_file && !fs::exists(path)) continue;
    merge_file(path, merged);
  }
  RestConfig config;
  if (merged.files.empty()) {
    if (std::getenv("KUBERNETES_SERVICE_HOST")) {
      config = in_cluster_config(options.in_cluster_root);
    } else {
      throw config_error("no kubeconfig found (looked at " +
                         (paths.size() == 1 ? paths[0] : std::string("$KUBECONFIG")) +
                         ") and not running in a cluster (KUBERNETES_SERVICE_HOST is not set)");
    }
  } else {
    config = from_kubeconfig(merged, options);
  }
  if (!options.namespace_override.empty()) config.namespace_name = options.namespace_override;
  if (const char* idle = std::getenv("ARCA_WATCH_IDLE_SECONDS"); idle && *idle) {
    char* end = nullptr;
    long seconds = std::strtol(idle, &end, 10);
    if (*end != '\0' || seconds <= 0 || seconds > 86400)
      throw config_error(std::string("ARCA_WATCH_IDLE_SECONDS must be a number of seconds from 1 to 86400, not \"") +
                         idle + "\"");
    config.watch_idle_timeout = std::chrono::seconds(seconds);
  }
  return config;
}

RestConfig in_cluster_config(const std::string& root) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port) {
    throw config_error(
        "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined");
  }
  RestConfig config;
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6 literal
  config.cluster.server = "https://" + h + ":" + port;
  config.user.token_file = root + "/token";
  // Fail now rather than on the first request: a pod without a token cannot do anything.
  read_file_or_throw(config.user.token_file, "unable to read the service account token");
  config.cluster.certificate_authority = read_file_or_throw(root + "/ca.crt", "unable to read the service account CA");
  std::string ns_file = root + "/namespace";
  if (fs::exists(ns_file)) {
    std::string ns = read_file_or_throw(ns_file, "unable to read the service account namespace");
    while (!ns.empty() && std::isspace(static_cast<unsigned char>(ns.back()))) ns.pop_back();
    if (!ns.empty()) config.namespace_name = ns;
  }
  return config;
}

}  // namespace arca::kube
