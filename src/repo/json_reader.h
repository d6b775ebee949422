#pragma once
// A pull parser for the two JSON documents a backup reads by the thousand (trees and index files): it decodes
// straight into the caller's structs without building a DOM, which made parsing them the largest cost of an
// unchanged backup. Strict about structure, lenient about bytes ≥ 0x80 (file names are bytes; restic writes
// them as they are). Errors throw std::runtime_error("invalid <what> JSON: ... at offset N").
#include <cstdint>
#include <string>
#include <string_view>

namespace arca::repo {

// Appends the UTF-8 encoding of code point `cp`.
void put_utf8(std::string& out, uint32_t cp);

class JsonReader {
 public:
  JsonReader(std::string_view text, const char* what) : p_(text.data()), begin_(text.data()), end_(text.data() + text.size()), what_(what) {}

  // Calls on_key(key) for each member of an object; on_key must consume the value.
  template <typename F>
  void object(F&& on_key) {
    expect('{');
    if (consume('}')) return;
    std::string scratch;
    do {
      std::string_view key = string(scratch);
      expect(':');
      on_key(key);
    } while (consume(','));
    expect('}');
  }
  // Calls on_element() for each element of an array; it must consume the element.
  template <typename F>
  void array(F&& on_element) {
    expect('[');
    if (consume(']')) return;
    do on_element();
    while (consume(','));
    expect(']');
  }

  // A string; the view points into the text, or into `scratch` when the string has escapes.
  std::string_view string(std::string& scratch);
  std::string string() {
    std::string scratch;
    return std::string(string(scratch));
  }
  uint64_t uint();  // a non-negative integer (a fraction or exponent is refused)
  bool boolean();
  bool null();      // consumes `null` and returns true if that comes next
  void skip();      // any value
  void finish();    // only whitespace may follow
  [[noreturn]] void fail(const std::string& message) const;

 private:
  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  void expect(char c) {
    ws();
    if (p_ >= end_ || *p_ != c) fail(std::string("expected '") + c + "'");
    ++p_;
  }
  bool consume(char c) {
    ws();
    if (p_ < end_ && *p_ == c) return ++p_, true;
    return false;
  }
  bool literal(std::string_view word);

  const char* p_;
  const char* begin_;
  const char* end_;
  const char* what_;
};

}  // namespace arca::repo
