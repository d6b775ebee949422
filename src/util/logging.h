#pragma once
// Logging on spdlog, shaped like Velero's logrus output: `--log-level` (trace, debug, info, warning, error,
// fatal, panic) and `--log-format` text (`time="…" level=info msg="…"`) or json (`{"level":…,"msg":…,"time":…}`).
// Every line passes through redact(), so a bearer token, an AWS key or Secret data that slips into a message
// never reaches the output.
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace arca {

enum class LogFormat { text, json };

struct LogOptions {
  std::string level = "info";
  LogFormat format = LogFormat::text;
  // The server logs to stdout like Velero's (cloud dashboards flag stderr lines as errors); the CLI keeps
  // stderr so that its command output stays clean.
  bool to_stdout = false;
};

struct InvalidLogOption : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Throws InvalidLogOption naming the accepted values.
spdlog::level::level_enum parse_log_level(std::string_view level);
LogFormat parse_log_format(std::string_view format);

// A formatter that renders Velero's text or JSON line and redacts the message.
std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format);

// Configures the default logger with the level, format and stream.
void setup_logging(const LogOptions& options);

// Masks credentials in free text: `Bearer <token>`, `Authorization:` header values, AWS access key ids
// (AKIA…/ASIA…), `aws_secret_access_key`/`password`/`token` style assignments, and the values of a
// Secret's `data`/`stringData` when a JSON Secret is embedded in the text.
std::string redact(std::string_view text);

// Replaces every value under `data` and `stringData` of a Secret object (kind Secret) with "<redacted>".
nlohmann::json redact_secret(nlohmann::json object);

}  // namespace arca
