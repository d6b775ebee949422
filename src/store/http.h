#pragma once
// A small libcurl client shared by the S3 and Azure drivers. Internal to store/.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "store/object_store.h"

namespace arca::store {

struct TlsOptions {
  bool insecure_skip_verify = false;  // only when the user asked (insecureSkipTLSVerify)
  std::string ca_pem;                 // extra trust (caCert); empty: the system store
};

struct HttpRequest {
  std::string method = "GET";        // GET, HEAD, PUT, POST, DELETE
  std::string url;                   // already encoded
  std::vector<std::string> headers;  // "Name: value"
  std::string_view body;             // sent for PUT and POST
  const Writer* sink = nullptr;      // receives a 2xx response body; otherwise it is kept in `body`
  std::string aws_sigv4;             // CURLOPT_AWS_SIGV4 provider string, empty: no libcurl signing
  std::string user_password;         // "key:secret" for libcurl's SigV4
};

struct HttpResponse {
  long status = 0;
  std::string body;                            // non-2xx bodies and 2xx bodies without a sink
  std::map<std::string, std::string> headers;  // names lower-cased
};

class HttpClient {
 public:
  explicit HttpClient(TlsOptions tls);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  // Throws StoreError(Unreachable) when no HTTP answer came back; `what` names the target for the message.
  // A transfer that moves no byte for $ARCA_STORE_STALL_SECONDS (default 60) is given up, and tried once more
  // at most; the message says what was waited for.
  HttpResponse perform(const HttpRequest& request, const std::string& what);

 private:
  HttpResponse perform_once(const HttpRequest& request, const std::string& what, bool& delivered, bool& retryable,
                            bool& timed_out);
  void* take_handle();
  void give_back(void* handle);

  TlsOptions tls_;
  long stall_seconds_;  // $ARCA_STORE_STALL_SECONDS, default 60
  std::mutex mutex_;
  std::vector<void*> idle_;  // CURL* handles kept for connection reuse
};

// BSL config handling shared by the HTTP drivers; `provider` names the driver in messages.
bool config_flag(const std::map<std::string, std::string>& config, const std::string& key, const std::string& provider);
// insecureSkipTLSVerify and caCert (PEM, or base64 of PEM as in objectStorage.caCert).
TlsOptions tls_from_config(const std::map<std::string, std::string>& config, const std::string& provider);
// Velero's plugins refuse config keys they do not know; so do we, naming them.
void reject_unknown_keys(const std::map<std::string, std::string>& config, const std::vector<std::string>& known,
                         const std::string& provider);

// A decimal byte count from a server; empty is 0. Throws StoreError(Failed) naming `what` when malformed.
uint64_t parse_size(const std::string& text, const std::string& what);

// The text of the first <tag>…</tag> in `xml` (entities decoded), or "".
std::string xml_value(std::string_view xml, std::string_view tag);
// The raw inner text of every <tag>…</tag> at any depth, in order.
std::vector<std::string_view> xml_elements(std::string_view xml, std::string_view tag);
std::string xml_unescape(std::string_view text);
std::string xml_escape(std::string_view text);

}  // namespace arca::store
