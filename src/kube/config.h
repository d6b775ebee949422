#pragma once
// Where the API server is and who we are: kubeconfig files (with client-go's merge rules) or the pod's
// service account. The result is a RestConfig that the transport takes as is.
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace arca::kube {

// users[].user.exec: a credential plugin such as aws-iam-authenticator, gke-gcloud-auth-plugin, kubelogin.
struct ExecConfig {
  std::string command;  // resolved against the kubeconfig's directory when it contains a '/'
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string api_version;       // client.authentication.k8s.io/v1 or /v1beta1
  std::string interactive_mode;  // Never | IfAvailable | Always (v1 requires it; v1beta1 defaults IfAvailable)
  std::string install_hint;
  bool provide_cluster_info = false;
};

struct ClusterConfig {
  std::string server;                // https://host:port (a path prefix is kept)
  std::string certificate_authority; // PEM contents (from -data, or read from the file)
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;
  std::string proxy_url;
};

struct UserConfig {
  std::string token;
  std::string token_file;  // re-read periodically: projected service account tokens rotate
  std::string client_certificate;  // PEM contents
  std::string client_key;          // PEM contents
  std::string username;
  std::string password;
  std::optional<ExecConfig> exec;
};

struct RestConfig {
  ClusterConfig cluster;
  UserConfig user;
  std::string context;            // the context used ("" for in-cluster)
  std::string namespace_name = "default";  // from the context, the service account, or "default"
  double qps = 100;               // client-side rate limit, like client-go's QPS/Burst
  int burst = 100;
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds request_timeout{60000};  // for non-streaming requests
  int max_retries = 4;            // for 429, 5xx and connection errors on idempotent requests
  // A watch stream that brings no byte for this long is given up and resumed on a new connection: an API
  // server or a path to it that stopped answering, which the stream's own timeoutSeconds (5-10 minutes) would
  // notice only at its end. kube-apiserver sends a bookmark to watchers that allow them about once a minute
  // (its watch cache's bookmarkFrequency), so a live but quiet stream is never cut. $ARCA_WATCH_IDLE_SECONDS.
  std::chrono::milliseconds watch_idle_timeout{150000};
};

struct LoadOptions {
  std::string kubeconfig;  // --kubeconfig: this file only (must exist)
  std::string context;     // --kubecontext: instead of current-context
  std::string namespace_override;  // -n
  // Where the service account files live; tests point this at a temporary directory.
  std::string in_cluster_root = "/var/run/secrets/kubernetes.io/serviceaccount";
};

// client-go's loading rules: --kubeconfig alone if given; else every file in $KUBECONFIG (':'-separated,
// missing ones skipped; for clusters/users/contexts the first file that defines a name wins, and
// current-context comes from the first file that sets it); else ~/.kube/config. With no kubeconfig at all
// and KUBERNETES_SERVICE_HOST set, the in-cluster config. Relative paths in a file resolve against that
// file's directory. Throws KubeError(Config) with one line naming the file or entry that is wrong.
RestConfig load_config(const LoadOptions& options = {});

// The pod's service account: token, ca.crt and namespace under `root`, server from
// KUBERNETES_SERVICE_HOST/PORT.
RestConfig in_cluster_config(const std::string& root = LoadOptions().in_cluster_root);

}  // namespace arca::kube
