#pragma once
// The certificates of one kubelite run (generated at start, never stored) and the kubeconfig that hands
// them to clients.
#include <string>

namespace kubelite {

struct Pki {
  std::string ca_cert_pem;
  std::string server_cert_pem, server_key_pem;  // SAN IP:127.0.0.1, DNS:localhost
  std::string client_cert_pem, client_key_pem;  // CN=kubelite-admin, O=system:masters
};

// Throws std::runtime_error when OpenSSL fails.
Pki generate_pki();

struct KubeconfigParams {
  std::string server;  // http(s)://127.0.0.1:PORT
  std::string token;
  const Pki* pki = nullptr;  // set with --tls: CA data plus the "kubelite-cert" context
};

// The kubeconfig YAML: context "kubelite" (current, bearer token) and, with TLS, "kubelite-cert".
std::string kubeconfig_yaml(const KubeconfigParams& params);

// Writes `content` to `path` through a temporary file and rename, so that the file's existence means
// it is complete. Throws std::runtime_error naming the path.
void write_file_atomically(const std::string& path, const std::string& content);

}  // namespace kubelite
