#pragma once
// Typed errors of the Kubernetes client. Every failure the client reports is a KubeError whose what() is
// one line in kubectl's words, so the CLI can print it as is and controllers can branch on kind().
#include <nlohmann/json_fwd.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace arca::kube {

enum class ErrorKind {
  // Answers of the API server (a metav1.Status, classified by reason first and HTTP code second).
  BadRequest,
  Unauthorized,
  Forbidden,
  NotFound,
  MethodNotAllowed,
  NotAcceptable,
  AlreadyExists,
  Conflict,
  Gone,  // 410: reason Gone or Expired (too old resourceVersion, expired continue token)
  RequestEntityTooLarge,
  UnsupportedMediaType,
  Invalid,
  TooManyRequests,
  InternalError,
  ServerTimeout,
  ServiceUnavailable,
  Timeout,
  UnknownServerError,
  // Failures before an answer arrives.
  Connection,  // refused, unreachable, DNS, dropped connection, client-side timeout
  Tls,         // certificate verification or handshake failure
  Config,      // kubeconfig, in-cluster files, exec plugin: the user's setup is wrong
  ResourceNotResolved,  // discovery knows no such resource type
};

struct StatusCause {
  std::string reason;  // e.g. "FieldValueInvalid", "FieldManagerConflict", "NamespaceTerminating"
  std::string message;
  std::string field;
};

class KubeError : public std::runtime_error {
 public:
  KubeError(ErrorKind kind, const std::string& line, int http_code = 0)
      : std::runtime_error(line), kind_(kind), http_code_(http_code) {}

  ErrorKind kind() const { return kind_; }
  int http_code() const { return http_code_; }         // 0 when no answer arrived
  const std::string& reason() const { return reason_; }  // Status.reason as sent
  const std::string& server_message() const { return server_message_; }
  const std::vector<StatusCause>& causes() const { return causes_; }
  int retry_after_seconds() const { return retry_after_seconds_; }

 private:
  friend KubeError status_error(int, std::string_view, std::string_view);
  ErrorKind kind_;
  int http_code_;
  std::string reason_;
  std::string server_message_;
  std::vector<StatusCause> causes_;
  int retry_after_seconds_ = 0;
};

// The error for a non-2xx answer. `body` is usually a metav1.Status; anything else (a plain-text 404 from
// a real server's fallback handler, an HTML page from a proxy) is classified by the HTTP code.
// `what` names the request for answers that carry no message, e.g. `GET /apis/no.such/v1/things`.
KubeError status_error(int http_code, std::string_view body, std::string_view what);

// The error carried by a watch ERROR event (its object is a Status).
KubeError watch_error(const nlohmann::json& status);

inline bool is_not_found(const KubeError& e) { return e.kind() == ErrorKind::NotFound; }
inline bool is_already_exists(const KubeError& e) { return e.kind() == ErrorKind::AlreadyExists; }
inline bool is_conflict(const KubeError& e) { return e.kind() == ErrorKind::Conflict; }
inline bool is_invalid(const KubeError& e) { return e.kind() == ErrorKind::Invalid; }
inline bool is_forbidden(const KubeError& e) { return e.kind() == ErrorKind::Forbidden; }
inline bool is_unauthorized(const KubeError& e) { return e.kind() == ErrorKind::Unauthorized; }
inline bool is_gone(const KubeError& e) { return e.kind() == ErrorKind::Gone; }
inline bool is_too_many_requests(const KubeError& e) { return e.kind() == ErrorKind::TooManyRequests; }
inline bool is_connection_error(const KubeError& e) {
  return e.kind() == ErrorKind::Connection || e.kind() == ErrorKind::Tls;
}

// "Unable to connect to the server: <cause>", as kubectl words every failure to reach the API.
KubeError connection_error(const std::string& cause);
KubeError tls_error(const std::string& cause);
KubeError config_error(const std::string& line);

}  // namespace arca::kube
