#include "util/version.h"

#include "arca_version.h"

namespace arca {
const char* version() { return ARCA_VERSION_STRING; }
std::string user_agent(const std::string& component) {
  return component + "/" + ARCA_VERSION_STRING + " (linux/amd64)";
}
}  // namespace arca
