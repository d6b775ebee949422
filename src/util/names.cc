#include "util/names.h"

#include <openssl/sha.h>

#include <cstdio>

namespace arca {

std::string valid_label_value(std::string_view name) {
  constexpr size_t kMaxLabelLength = 63;
  constexpr size_t kHashChars = 6;
  if (name.size() <= kMaxLabelLength) return std::string(name);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(name.data()), name.size(), digest);
  char hex[kHashChars + 1];
  std::snprintf(hex, sizeof(hex), "%02x%02x%02x", digest[0], digest[1], digest[2]);
  return std::string(name.substr(0, kMaxLabelLength - kHashChars)) + hex;
}

std::string timestamped_name(std::string_view prefix, Timestamp at) {
  std::string text = format_rfc3339(at);  // 2024-01-02T03:04:05Z
  std::string digits;
  for (char c : text) {
    if (c >= '0' && c <= '9') digits += c;
  }
  return std::string(prefix) + "-" + digits;
}

}  // namespace arca
