#include "util/logging.h"

#include <regex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "util/timestamp.h"

namespace arca {
namespace {

constexpr const char* kRedacted = "<redacted>";

// logrus level names; spdlog's critical plays the role of fatal.
const char* level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warning";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "fatal";
    default: return "info";
  }
}

// logrus' text formatter quotes values and escapes quotes and backslashes like strconv.Quote.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
  return out + "\"";
}

class VeleroFormatter : public spdlog::formatter {
 public:
  explicit VeleroFormatter(LogFormat format) : format_(format) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string time = format_rfc3339(std::chrono::floor<std::chrono::seconds>(msg.time));
    std::string text = redact(std::string_view(msg.payload.data(), msg.payload.size()));
    std::string line;
    if (format_ == LogFormat::json) {
      nlohmann::json j{{"level", level_name(msg.level)}, {"msg", text}, {"time", time}};
      line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
      line = "time=" + quote(time) + " level=" + level_name(msg.level) + " msg=" + quote(text);
    }
    line += '\n';
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<VeleroFormatter>(format_); }

 private:
  LogFormat format_;
};

struct Rule {
  std::regex pattern;
  std::string replacement;
};

const std::vector<Rule>& redaction_rules() {
  static const std::vector<Rule> rules = [] {
    auto icase = std::regex::ECMAScript | std::regex::icase;
    std::vector<Rule> r;
    r.push_back({std::regex(R"((Bearer\s+)[A-Za-z0-9\-._~+/=]+)", icase), std::string("$1") + kRedacted});
    r.push_back({std::regex(R"((Authorization\s*[:=]\s*)(Basic|Bearer)?\s*[^\s,;"]+)", icase),
                 std::string("$1") + kRedacted});
    r.push_back({std::regex(R"(\b(AKIA|ASIA)[0-9A-Z]{16}\b)"), kRedacted});
    r.push_back({std::regex(R"((\b(aws_secret_access_key|aws_session_token|secret_?key|access_?key|password|)"
                            R"(passwd|token|client_secret|account_?key)\b"?\s*[:=]\s*"?)[^\s",;}]+)",
                            icase),
                 std::string("$1") + kRedacted});
    return r;
  }();
  return rules;
}

// Finds `"data": {` / `"stringData": {` objects in text and masks their string values, so a Secret that was
// dumped whole into a message loses its contents even when it is not valid JSON any more (truncated).
std::string redact_secret_maps(std::string text) {
  static const std::regex kMapStart(R"re("(data|stringData)"\s*:\s*\{)re");
  static const std::regex kValue(R"re(("[^"\\]*"\s*:\s*)"(?:[^"\\]|\\.)*")re");
  std::string out;
  std::smatch m;
  std::string rest = text;
  while (std::regex_search(rest, m, kMapStart)) {
    out += m.prefix().str() + m.str();
    std::string after = m.suffix().str();
    size_t close = after.find('}');
    std::string body = after.substr(0, close);
    out += std::regex_replace(body, kValue, std::string("$1\"") + kRedacted + "\"");
    rest = close == std::string::npos ? std::string{} : after.substr(close);
  }
  return out + rest;
}

}  // namespace

spdlog::level::level_enum parse_log_level(std::string_view level) {
  if (level == "trace") return spdlog::level::trace;
  if (level == "debug") return spdlog::level::debug;
  if (level == "info") return spdlog::level::info;
  if (level == "warning" || level == "warn") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  if (level == "fatal" || level == "panic") return spdlog::level::critical;
  throw InvalidLogOption("invalid log level \"" + std::string(level) +
                         "\" (valid: trace, debug, info, warning, error, fatal, panic)");
}

LogFormat parse_log_format(std::string_view format) {
  if (format == "text") return LogFormat::text;
  if (format == "json") return LogFormat::json;
  throw InvalidLogOption("invalid log format \"" + std::string(format) + "\" (valid: text, json)");
}

std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format) {
  return std::make_unique<VeleroFormatter>(format);
}

void setup_logging(const LogOptions& options) {
  auto level = parse_log_level(options.level);
  spdlog::sink_ptr sink;
  if (options.to_stdout) {
    sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  auto logger = std::make_shared<spdlog::logger>("arca", sink);
  logger->set_formatter(make_log_formatter(options.format));
  logger->set_level(level);
  spdlog::set_default_logger(logger);
}

std::string redact(std::string_view text) {
  std::string out(text);
  for (const auto& rule : redaction_rules()) out = std::regex_replace(out, rule.pattern, rule.replacement);
  if (out.find("ata\"") != std::string::npos) out = redact_secret_maps(std::move(out));
  return out;
}

nlohmann::json redact_secret(nlohmann::json object) {
  if (!object.is_object() || object.value("kind", "") != "Secret") return object;
  for (const char* field : {"data", "stringData"}) {
    auto it = object.find(field);
    if (it == object.end() || !it->is_object()) continue;
    for (auto& value : *it) value = kRedacted;
  }
  return object;
}

}  // namespace arca
