#pragma once
// An API error that kubelite turns into a metav1.Status response.
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace kubelite {

struct ApiError : std::runtime_error {
  int code;            // HTTP status, e.g. 422
  std::string reason;  // Status.reason, e.g. "Invalid", "Conflict", "BadRequest", "UnsupportedMediaType"
  nlohmann::json details;  // Status.details (may be null): {name, group, kind, causes:[{reason,message,field}]}
  ApiError(int code, std::string reason, const std::string& message, nlohmann::json details = nullptr)
      : std::runtime_error(message), code(code), reason(std::move(reason)), details(std::move(details)) {}
};

}  // namespace kubelite
