#pragma once
// The credentials sent with each request. Exec plugins are the reason this has state: their output is
// cached until its expirationTimestamp and thrown away when the server answers 401.
#include <chrono>
#include <mutex>
#include <optional>
#include <string>

#include "kube/config.h"

namespace arca::kube {

struct Credentials {
  std::string bearer_token;
  std::string client_certificate;  // PEM
  std::string client_key;          // PEM
  std::string username, password;  // basic auth (removed from kube-apiserver 1.19, kept for proxies)
};

class CredentialProvider {
 public:
  explicit CredentialProvider(const RestConfig& config);
  // Runs the exec plugin when there is no valid cached credential; throws KubeError(Config) naming the plugin.
  Credentials current();
  // The server said 401: forget cached exec output and re-read the token file on the next request.
  void invalidate();

 private:
  Credentials run_exec_plugin();

  ClusterConfig cluster_;
  UserConfig user_;
  std::mutex mutex_;
  std::optional<Credentials> exec_cached_;
  std::chrono::system_clock::time_point exec_expiry_;  // max() when the plugin gave no expiry
  std::string file_token_;
  std::chrono::steady_clock::time_point file_token_read_;
};

// RFC 3339 (e.g. 2026-01-02T03:04:05Z, with optional fraction and offset); nullopt if malformed.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(const std::string& text);

}  // namespace arca::kube
