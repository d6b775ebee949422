#include "kube/errors.h"

#include <nlohmann/json.hpp>

#include <map>

namespace arca::kube {
namespace {

ErrorKind kind_from_reason(const std::string& reason) {
  static const std::map<std::string, ErrorKind> by_reason = {
      {"BadRequest", ErrorKind::BadRequest},
      {"Unauthorized", ErrorKind::Unauthorized},
      {"Forbidden", ErrorKind::Forbidden},
      {"NotFound", ErrorKind::NotFound},
      {"MethodNotAllowed", ErrorKind::MethodNotAllowed},
      {"NotAcceptable", ErrorKind::NotAcceptable},
      {"AlreadyExists", ErrorKind::AlreadyExists},
      {"Conflict", ErrorKind::Conflict},
      {"Gone", ErrorKind::Gone},
      {"Expired", ErrorKind::Gone},
      {"RequestEntityTooLarge", ErrorKind::RequestEntityTooLarge},
      {"UnsupportedMediaType", ErrorKind::UnsupportedMediaType},
      {"Invalid", ErrorKind::Invalid},
      {"TooManyRequests", ErrorKind::TooManyRequests},
      {"InternalError", ErrorKind::InternalError},
      {"ServerTimeout", ErrorKind::ServerTimeout},
      {"ServiceUnavailable", ErrorKind::ServiceUnavailable},
      {"Timeout", ErrorKind::Timeout},
  };
  auto it = by_reason.find(reason);
  return it == by_reason.end() ? ErrorKind::UnknownServerError : it->second;
}

// client-go's fallback when the reason is empty or unknown (errors.go: reasonForCode).
ErrorKind kind_from_code(int code) {
  switch (code) {
    case 400: return ErrorKind::BadRequest;
    case 401: return ErrorKind::Unauthorized;
    case 403: return ErrorKind::Forbidden;
    case 404: return ErrorKind::NotFound;
    case 405: return ErrorKind::MethodNotAllowed;
    case 406: return ErrorKind::NotAcceptable;
    case 409: return ErrorKind::Conflict;
    case 410: return ErrorKind::Gone;
    case 413: return ErrorKind::RequestEntityTooLarge;
    case 415: return ErrorKind::UnsupportedMediaType;
    case 422: return ErrorKind::Invalid;
    case 429: return ErrorKind::TooManyRequests;
    case 500: return ErrorKind::InternalError;
    case 503: return ErrorKind::ServiceUnavailable;
    case 504: return ErrorKind::Timeout;
    default: return ErrorKind::UnknownServerError;
  }
}

// The message client-go invents for an answer that is not a Status (errors.go NewGenericServerResponse).
std::string generic_message(int code) {
  switch (code) {
    case 400: return "the server rejected our request for an unknown reason";
    case 401: return "the server has asked for the client to provide credentials";
    case 403: return "the server does not allow access to the requested resource";
    case 404: return "the server could not find the requested resource";
    case 405: return "the server does not allow this method on the requested resource";
    case 409: return "the server reported a conflict";
    case 410: return "the server has asked for the client to start over";
    case 422: return "the server rejected our request due to an error in our request";
    case 429: return "the server has received too many requests and has asked us to try again later";
    case 500: return "an error on the server has prevented the request from succeeding";
    case 503: return "the server is currently unable to handle the request";
    case 504: return "the server was unable to return a response in the time allotted, but may still be processing the request";
    default: return "the server responded with the status code " + std::to_string(code);
  }
}

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

}  // namespace

KubeError status_error(int http_code, std::string_view body, std::string_view what) {
  nlohmann::json status = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  bool is_status = status.is_object() && status.value("kind", "") == "Status";
  std::string reason = is_status ? status.value("reason", "") : "";
  std::string message = is_status ? status.value("message", "") : "";
  int code = is_status && status.contains("code") && status["code"].is_number_integer() ? status["code"].get<int>()
                                                                                          : http_code;
  if (code == 0) code = http_code;
  ErrorKind kind = reason.empty() ? kind_from_code(code) : kind_from_reason(reason);
  if (kind == ErrorKind::UnknownServerError) kind = kind_from_code(code);
  if (message.empty()) message = generic_message(code) + " (" + std::string(what) + ")";
  message = one_line(message);

  std::string line;
  if (kind == ErrorKind::Unauthorized) {
    line = "error: You must be logged in to the server (" + (reason.empty() ? message : reason) + ")";
  } else if (reason.empty()) {
    line = "Error from server: " + message;
  } else {
    line = "Error from server (" + reason + "): " + message;
  }
  KubeError error(kind, line, code);
  error.reason_ = reason;
  error.server_message_ = message;
  if (is_status && status.contains("details") && status["details"].is_object()) {
    const auto& details = status["details"];
    if (details.contains("causes") && details["causes"].is_array()) {
      for (const auto& cause : details["causes"]) {
        if (!cause.is_object()) continue;
        error.causes_.push_back({cause.value("reason", ""), cause.value("message", ""), cause.value("field", "")});
      }
    }
    if (details.contains("retryAfterSeconds") && details["retryAfterSeconds"].is_number_integer()) {
      error.retry_after_seconds_ = details["retryAfterSeconds"].get<int>();
    }
  }
  return error;
}

KubeError watch_error(const nlohmann::json& status) {
  int code = status.is_object() && status.contains("code") && status["code"].is_number_integer()
                 ? status["code"].get<int>()
                 : 500;
  return status_error(code, status.dump(), "watch");
}

KubeError connection_error(const std::string& cause) {
  return KubeError(ErrorKind::Connection, "Unable to connect to the server: " + one_line(cause));
}

KubeError tls_error(const std::string& cause) {
  return KubeError(ErrorKind::Tls, "Unable to connect to the server: " + one_line(cause));
}

KubeError config_error(const std::string& line) { return KubeError(ErrorKind::Config, "error: " + one_line(line)); }

}  // namespace arca::kube
