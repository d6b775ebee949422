#include "repo/json_reader.h"

#include <cstring>
#include <stdexcept>

namespace arca::repo {

void put_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | cp >> 6);
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | cp >> 12);
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | cp >> 18);
    out += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

void JsonReader::fail(const std::string& message) const {
  throw std::runtime_error(std::string("invalid ") + what_ + " JSON: " + message + " at offset " +
                           std::to_string(p_ - begin_));
}

std::string_view JsonReader::string(std::string& scratch) {
  expect('"');
  const char* start = p_;
  // The common case: no escapes, the view is the text itself.
  while (p_ < end_ && *p_ != '"' && *p_ != '\\') {
    if (static_cast<unsigned char>(*p_) < 0x20) fail("control character in a string");
    ++p_;
  }
  if (p_ >= end_) fail("unterminated string");
  if (*p_ == '"') return std::string_view(start, static_cast<size_t>(p_++ - start));
  scratch.assign(start, p_);
  auto hex4 = [&]() -> uint32_t {
    if (end_ - p_ < 4) fail("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = *p_++;
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
      else fail("invalid \\u escape");
    }
    return v;
  };
  while (true) {
    if (p_ >= end_) fail("unterminated string");
    char c = *p_++;
    if (c == '"') return scratch;
    if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
    if (c != '\\') {
      scratch += c;
      continue;
    }
    if (p_ >= end_) fail("unterminated string");
    switch (char e = *p_++) {
      case '"': case '\\': case '/': scratch += e; break;
      case 'b': scratch += '\b'; break;
      case 'f': scratch += '\f'; break;
      case 'n': scratch += '\n'; break;
      case 'r': scratch += '\r'; break;
      case 't': scratch += '\t'; break;
      case 'u': {
        uint32_t cp = hex4();
        if (cp >= 0xD800 && cp < 0xDC00 && end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
          const char* save = p_;
          p_ += 2;
          uint32_t lo = hex4();
          if (lo >= 0xDC00 && lo < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          else p_ = save;  // a lone surrogate: decoded on its own below
        }
        if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD;  // as Go's decoder does
        put_utf8(scratch, cp);
        break;
      }
      default: fail("invalid escape");
    }
  }
}

uint64_t JsonReader::uint() {
  ws();
  if (p_ >= end_ || *p_ < '0' || *p_ > '9') fail("expected a non-negative integer");
  uint64_t v = 0;
  while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
    uint64_t d = static_cast<uint64_t>(*p_ - '0');
    if (v > (UINT64_MAX - d) / 10) fail("integer out of range");
    v = v * 10 + d;
    ++p_;
  }
  if (p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) fail("expected an integer");
  return v;
}

bool JsonReader::literal(std::string_view word) {
  ws();
  if (static_cast<size_t>(end_ - p_) >= word.size() && std::memcmp(p_, word.data(), word.size()) == 0) {
    p_ += word.size();
    return true;
  }
  return false;
}

bool JsonReader::boolean() {
  if (literal("true")) return true;
  if (literal("false")) return false;
  fail("expected true or false");
}

bool JsonReader::null() { return literal("null"); }

void JsonReader::skip() {
  ws();
  if (p_ >= end_) fail("expected a value");
  switch (*p_) {
    case '{': object([&](std::string_view) { skip(); }); return;
    case '[': array([&] { skip(); }); return;
    case '"': {
      std::string scratch;
      string(scratch);
      return;
    }
    case 't': case 'f': boolean(); return;
    case 'n':
      if (!null()) fail("expected a value");
      return;
    default: {
      const char* start = p_;
      if (*p_ == '-') ++p_;
      while (p_ < end_ && ((*p_ >= '0' && *p_ <= '9') || *p_ == '.' || *p_ == 'e' || *p_ == 'E' || *p_ == '+' || *p_ == '-'))
        ++p_;
      if (p_ == start || (p_ - start == 1 && *start == '-')) fail("expected a value");
    }
  }
}

void JsonReader::finish() {
  ws();
  if (p_ != end_) fail("trailing data");
}

}  // namespace arca::repo
