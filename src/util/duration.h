#pragma once
// Go's time.Duration text form, as Velero writes `ttl`, `csiSnapshotTimeout` and friends: parse exactly what
// time.ParseDuration accepts (`720h0m0s`, `1h30m`, `1.5s`, `300ms`, `-2m`, `0`) and format exactly like
// time.Duration.String() (`720h0m0s`, `1.5s`, `0s`, `1µs`).
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

namespace arca {

using Duration = std::chrono::nanoseconds;

struct InvalidDuration : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Throws InvalidDuration with Go's wording, e.g. `time: unknown unit "d" in duration "1d"`.
Duration parse_duration(std::string_view text);
std::string format_duration(Duration d);

}  // namespace arca
