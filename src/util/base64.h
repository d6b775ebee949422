#pragma once
// Standard base64 (RFC 4648 section 4, the alphabet Kubernetes uses for Secret data and kubeconfig *-data fields).
#include <optional>
#include <string>
#include <string_view>

namespace arca {

std::string base64_encode(std::string_view raw);
// Strict: line breaks and spaces are ignored (PEM-style wrapping, YAML folding); any other character outside the
// alphabet, a length that is not a multiple of 4, or '=' anywhere but the last two places makes the text invalid,
// and the answer is nullopt. Callers turn that into one error line naming the field, never its content.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace arca
