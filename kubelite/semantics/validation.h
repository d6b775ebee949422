#pragma once
// The name and label checks of k8s.io/apimachinery/pkg/util/validation, with their exact messages.
// Each returns the list of problems (empty when the value is valid), like the Go functions.
#include <string>
#include <string_view>
#include <vector>

namespace kubelite {

std::vector<std::string> is_dns1123_subdomain(std::string_view value);  // most object names, ≤253
std::vector<std::string> is_dns1123_label(std::string_view value);      // Namespace, Service, ≤63
std::vector<std::string> is_qualified_name(std::string_view value);     // label/annotation keys
std::vector<std::string> is_valid_label_value(std::string_view value);

// "a; b" — how the Go callers join several problems into one message.
std::string join_problems(const std::vector<std::string>& problems);

}  // namespace kubelite
