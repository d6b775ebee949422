#pragma once
// RFC 3339 timestamps as the Kubernetes API server writes metav1.Time: UTC, second precision,
// `2024-01-02T03:04:05Z`. Parsing also accepts fractional seconds and numeric offsets (converted to UTC).
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

namespace arca {

using Timestamp = std::chrono::sys_seconds;

struct InvalidTimestamp : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

std::string format_rfc3339(Timestamp t);
// Throws InvalidTimestamp naming the text when it is not RFC 3339.
Timestamp parse_rfc3339(std::string_view text);
// The current time truncated to whole seconds (what a metav1.Time holds).
Timestamp now_seconds();

}  // namespace arca
