#pragma once
// Glob patterns as Velero uses them for namespace and resource names (gobwas/glob without separators):
// '*' matches any run of characters, '?' exactly one, '[abc]', '[a-z]' and '[!a-z]' one character of a class.
#include <string_view>

namespace arca {

bool glob_match(std::string_view pattern, std::string_view text);

// True if `s` contains one of the glob metacharacters '*', '?', '[' or ']'.
bool has_glob_chars(std::string_view s);

}  // namespace arca
