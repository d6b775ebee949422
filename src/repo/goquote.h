#pragma once
// restic's encoding of a file name inside a tree (restic 0.14, internal/restic/node.go: Node.MarshalJSON and
// UnmarshalJSON): the name is first quoted with Go's strconv.Quote, without the surrounding quotes, and the result
// becomes the JSON string. So names that are not valid UTF-8 survive as "\xe9" escapes (Go's JSON encoder would
// otherwise replace the bytes with U+FFFD), and a backslash or quote in a name is escaped twice.
#include <string>
#include <string_view>

namespace arca::repo {

// strconv.Quote(name) without its quotes: invalid UTF-8 bytes as \xNN, \ and " escaped, control and other
// non-printable runes as \a \b \f \n \r \t \v, \xNN, \uNNNN or \UNNNNNNNN; printable runes as they are.
std::string go_quote_name(std::string_view name);
// The inverse (strconv.Unquote of "\"" + quoted + "\""). Throws std::invalid_argument on a malformed escape.
std::string go_unquote_name(std::string_view quoted);

}  // namespace arca::repo
