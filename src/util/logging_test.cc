#include "util/logging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <regex>
#include <sstream>

namespace arca {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string log_line(LogFormat format, spdlog::level::level_enum level, const std::string& message) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("test", sink);
  logger.set_formatter(make_log_formatter(format));
  logger.set_level(spdlog::level::trace);
  logger.log(level, message);
  return out.str();
}

TEST(Logging, LevelsAndFormatsParseWithClearErrors) {
  EXPECT_EQ(parse_log_level("debug"), spdlog::level::debug);
  EXPECT_EQ(parse_log_level("warning"), spdlog::level::warn);
  EXPECT_EQ(parse_log_level("panic"), spdlog::level::critical);
  EXPECT_EQ(parse_log_format("json"), LogFormat::json);
  try {
    parse_log_level("loud");
    FAIL();
  } catch (const InvalidLogOption& e) {
    EXPECT_THAT(e.what(), HasSubstr("invalid log level \"loud\""));
  }
  EXPECT_THROW(parse_log_format("xml"), InvalidLogOption);
}

TEST(Logging, TextFormatLooksLikeLogrus) {
  std::string line = log_line(LogFormat::text, spdlog::level::warn, "backup \"b1\" has 2 warnings");
  // gtest's own regex lacks repetition counts, so use std::regex.
  EXPECT_TRUE(std::regex_match(line, std::regex(R"(time="\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z" level=warning )"
                                                R"(msg="backup \\"b1\\" has 2 warnings"\n)")))
      << line;
}

TEST(Logging, JsonFormatIsOneObjectPerLine) {
  std::string line = log_line(LogFormat::json, spdlog::level::err, "upload failed: \"x\"\n");
  ASSERT_EQ(line.back(), '\n');
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["msg"], "upload failed: \"x\"\n");
  EXPECT_EQ(j["time"].get<std::string>().size(), 20u);
}

TEST(Logging, LinesAreRedacted) {
  std::string line = log_line(LogFormat::text, spdlog::level::info, "GET with Authorization: Bearer abc.def.ghi");
  EXPECT_THAT(line, Not(HasSubstr("abc.def.ghi")));
  EXPECT_THAT(line, HasSubstr("<redacted>"));
}

TEST(Logging, SetupInstallsTheDefaultLoggerWithItsLevel) {
  setup_logging({.level = "debug", .format = LogFormat::json, .to_stdout = true});
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::debug);
  EXPECT_EQ(spdlog::default_logger()->name(), "arca");
  EXPECT_THROW(setup_logging({.level = "verbose"}), InvalidLogOption);
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::debug);  // a bad option changes nothing
}

TEST(Redact, MasksTokensKeysAndSecretData) {
  EXPECT_EQ(redact("Authorization: Bearer eyJhbGciOi.x-y_z"), "Authorization: <redacted>");
  EXPECT_EQ(redact("token is bearer sometoken123"), "token is bearer <redacted>");
  EXPECT_EQ(redact("key AKIAIOSFODNN7EXAMPLE used"), "key <redacted> used");
  EXPECT_EQ(redact("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            "aws_secret_access_key = <redacted>");
  EXPECT_EQ(redact("{\"password\":\"hunter2\"}"), "{\"password\":\"<redacted>\"}");
  std::string secret = R"({"kind":"Secret","data":{"cloud":"W2RlZmF1bHRd","key":"c2VjcmV0"},"type":"Opaque"})";
  std::string out = redact("creating " + secret);
  EXPECT_THAT(out, Not(HasSubstr("W2RlZmF1bHRd")));
  EXPECT_THAT(out, Not(HasSubstr("c2VjcmV0")));
  EXPECT_THAT(out, HasSubstr(R"("cloud":"<redacted>")"));
  EXPECT_THAT(out, HasSubstr(R"("type":"Opaque")"));
  EXPECT_EQ(redact("nothing secret here: pods/default/web-1"), "nothing secret here: pods/default/web-1");
}

TEST(Redact, SecretObjectValues) {
  auto secret = nlohmann::json::parse(R"({"kind":"Secret","data":{"a":"eA=="},"stringData":{"b":"x"},"type":"Opaque"})");
  auto out = redact_secret(secret);
  EXPECT_EQ(out["data"]["a"], "<redacted>");
  EXPECT_EQ(out["stringData"]["b"], "<redacted>");
  EXPECT_EQ(out["type"], "Opaque");
  auto configmap = nlohmann::json::parse(R"({"kind":"ConfigMap","data":{"a":"visible"}})");
  EXPECT_EQ(redact_secret(configmap), configmap);
}

}  // namespace
}  // namespace arca
