#pragma once
#include <string>

namespace arca {
// The release version, e.g. "0.1.0" (from CMake's project version).
const char* version();
// The User-Agent that arca sends to every server: "arca/<version> (linux/amd64)".
std::string user_agent(const std::string& component = "arca");
}  // namespace arca
