#pragma once
// HTTP to the API server: libcurl handles kept alive in a pool, HTTP/2 when the server offers it, TLS
// verified unless the kubeconfig turns it off, a client-side rate limit like client-go's, and retries
// with backoff for the failures that are safe to retry.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kube/config.h"
#include "kube/credentials.h"

namespace arca::kube {

struct HttpRequest {
  std::string method = "GET";
  std::string path;  // absolute path and query, e.g. /api/v1/namespaces/x/pods?limit=500
  std::string body;
  std::string content_type;  // of the body
  std::string accept = "application/json";
  std::chrono::milliseconds timeout{0};       // 0: RestConfig::request_timeout (streams: no limit)
  const std::atomic<bool>* cancel = nullptr;  // set from another thread to end a stream (watch)
  // Streams: given up when no byte arrives for this long (to about a second; 0: never). A stream that delivered
  // part of its body comes back `dropped`; one that delivered nothing fails as a timeout would.
  std::chrono::milliseconds idle_timeout{0};
};

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;  // for streams: only a non-2xx answer's body
  std::vector<std::string> warnings;  // texts of `Warning: 299 - "..."` headers
  bool dropped = false;  // stream only: the connection broke after part of the body was delivered
};

// client-go's token bucket: `burst` requests at once, then `qps` per second.
class RateLimiter {
 public:
  RateLimiter(double qps, int burst);
  void acquire();  // blocks until a request may go

 private:
  std::mutex mutex_;
  double qps_;
  double burst_;
  double tokens_;
  std::chrono::steady_clock::time_point last_;
};

class Transport {
 public:
  explicit Transport(RestConfig config);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // One request with the whole answer in memory. Retries 429 (honouring Retry-After) for every verb, and
  // 5xx and connection errors for idempotent verbs (GET, HEAD, PUT, DELETE); a request that never reached
  // the server (no connection, or its sending failed part-way) goes again whatever its verb, the first time
  // at once; every retry after a connection error takes a fresh connection. After a 401 it renews
  // exec/file credentials and tries once more. Returns every HTTP answer (the caller turns non-2xx into
  // KubeError); throws KubeError only when no answer arrived (connection, TLS, credentials).
  HttpResponse send(const HttpRequest& request);

  // Like send, but a 2xx body goes to `on_data` chunk by chunk as it arrives (return false to stop);
  // a non-2xx body is kept in the response. Retries happen only before the first chunk was delivered.
  // A connection that drops mid-body sets `dropped`; a cancel or `false` ends quietly.
  HttpResponse stream(const HttpRequest& request, const std::function<bool(std::string_view)>& on_data);

  const RestConfig& config() const { return config_; }
  // The credentials a request carries now, for the one exchange that does not go through libcurl (pods/exec
  // over WebSocket, kube/exec.h), and the renewal after its 401.
  Credentials current_credentials() { return credentials_.current(); }
  void invalidate_credentials() { credentials_.invalidate(); }

 private:
  struct Attempt;
  void* acquire_handle();
  void release_handle(void* handle);
  HttpResponse perform(const HttpRequest& request, const std::function<bool(std::string_view)>* on_data);
  void perform_once(void* handle, const HttpRequest& request, const Credentials& creds, Attempt& attempt,
                    bool fresh_connection);

  RestConfig config_;
  CredentialProvider credentials_;
  RateLimiter limiter_;
  std::string url_base_;     // scheme://host[:port][/prefix] that requests are sent to
  std::string connect_to_;   // CURLOPT_CONNECT_TO entry when tls-server-name differs from the host
  std::string host_header_;  // the original host, when tls-server-name rewrote the URL
  std::string user_agent_;
  std::mutex pool_mutex_;
  std::vector<void*> idle_handles_;  // CURL* kept for keep-alive and TLS session reuse
};

}  // namespace arca::kube

namespace arca::kube {
// Percent-encodes a query parameter value (RFC 3986 unreserved characters stay as they are).
std::string query_escape(std::string_view value);
}  // namespace arca::kube
