#include "archive/tarball_writer.h"

#include <cstring>
#include <stdexcept>
#include <string>

namespace arca::archive {
namespace {

constexpr size_t kBlock = 512;

void octal(char* field, size_t width, uint64_t value) {
  // width-1 digits, zero padded, then NUL (what Go's archive/tar writes for USTAR).
  for (size_t i = width - 1; i-- > 0; value >>= 3) field[i] = static_cast<char>('0' + (value & 7));
  if (value != 0) throw std::length_error("tar: value does not fit its header field");
  field[width - 1] = '\0';
}

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80 || c == 0) return false;
  return true;
}

// USTAR can hold `path` when it is ASCII and splits at a '/' into prefix (≤ 155) and name (≤ 100).
bool split_ustar(std::string_view path, std::string_view& prefix, std::string_view& name) {
  if (!is_ascii(path)) return false;
  if (path.size() <= 100) {
    prefix = {};
    name = path;
    return true;
  }
  for (size_t slash = path.find('/'); slash != std::string_view::npos; slash = path.find('/', slash + 1)) {
    if (slash <= 155 && path.size() - slash - 1 <= 100 && slash + 1 < path.size()) {
      prefix = path.substr(0, slash);
      name = path.substr(slash + 1);
      return true;
    }
  }
  return false;
}

std::string pax_record(std::string_view key, std::string_view value) {
  // "<len> key=value\n" where len counts itself.
  size_t body = key.size() + value.size() + 3;
  size_t len = body + std::to_string(body).size();
  if (std::to_string(len).size() != std::to_string(body).size()) ++len;
  return std::to_string(len) + " " + std::string(key) + "=" + std::string(value) + "\n";
}

}  // namespace

TarballWriter::TarballWriter(ByteSink out, TarballOptions options)
    : gzip_(std::move(out), options.gzip),
      mtime_(options.mtime ? options.mtime : std::time(nullptr)),
      on_content_(std::move(options.on_content)) {
  add_file(kVersionPath, std::string(kFormatVersion) + "\n");
}

void TarballWriter::write_header(std::string_view path, char type, size_t size) {
  char h[kBlock] = {0};
  std::string_view prefix, name;
  if (!split_ustar(path, prefix, name)) {
    // A PAX header carries the long or non-ASCII path (as Go's archive/tar does).
    std::string records = pax_record("path", path);
    std::string pax_name = "PaxHeaders.0/";
    pax_name.append(path.substr(path.rfind('/') + 1).substr(0, 80));
    write_header(is_ascii(pax_name) ? pax_name : "PaxHeaders.0/entry", 'x', records.size());
    write_padded(records);
    prefix = {};
    name = path.substr(0, 100);
  }
  std::memcpy(h, name.data(), name.size());
  octal(h + 100, 8, 0755);
  octal(h + 108, 8, 0);
  octal(h + 116, 8, 0);
  octal(h + 124, 12, size);
  octal(h + 136, 12, static_cast<uint64_t>(mtime_));
  std::memset(h + 148, ' ', 8);
  h[156] = type;
  std::memcpy(h + 257,
              "ustar\0"
              "00",
              8);
  std::memcpy(h + 345, prefix.data(), prefix.size());
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  octal(h + 148, 7, sum);  // six digits, NUL, space: the historical checksum layout
  h[155] = ' ';
  gzip_.write(h, kBlock);
}

void TarballWriter::write_padded(std::string_view data) {
  static const char zeros[kBlock] = {0};
  gzip_.write(data.data(), data.size());
  if (data.size() % kBlock) gzip_.write(zeros, kBlock - data.size() % kBlock);
}

void TarballWriter::add_file(std::string_view path, std::string_view content) {
  write_file(path, content);
  if (on_content_) on_content_(std::span<const std::string_view>(&path, 1), content);
}

void TarballWriter::write_file(std::string_view path, std::string_view content) {
  if (path.empty() || path.front() == '/' || path.find('\0') != std::string_view::npos ||
      has_parent_component(path))
    throw std::invalid_argument("tarball: invalid entry path \"" + std::string(path) + "\"");
  write_header(path, '0', content.size());
  write_padded(content);
}

void TarballWriter::add_item(const ItemLocation& item, std::string_view version, bool preferred,
                             std::string_view json) {
  if (preferred) {
    std::string unversioned = item_path(item), copy = item_path(item, preferred_version_dir(version));
    write_file(unversioned, json);
    write_file(copy, json);
    const std::string_view paths[] = {unversioned, copy};
    if (on_content_) on_content_(paths, json);  // one content, hashed once
  } else {
    add_file(item_path(item, version), json);
  }
}

void TarballWriter::finish() {
  static const char end[2 * kBlock] = {0};
  gzip_.write(end, sizeof end);
  gzip_.finish();
}

}  // namespace arca::archive
