#pragma once
// Finding a member's value in compact JSON text (as nlohmann's dump() writes it, without whitespace) without
// parsing the document: small edits of stored objects then cost a scan instead of a parse and a dump.
#include <cstddef>
#include <optional>
#include <string_view>

namespace kubelite {

struct TextRange {
  size_t begin = 0, end = 0;  // [begin, end) of a value in the text
};

// The value of `key` in the object whose text starts at `object_begin`; nullopt when the member is absent or
// the text there is not a compact JSON object. `key` must be a key that JSON writes without escapes.
std::optional<TextRange> member_value(std::string_view text, size_t object_begin, std::string_view key);

}  // namespace kubelite
