#include "archive/tarball_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "archive/paths.h"

namespace arca::archive {
namespace {

constexpr size_t kBlock = 512;

// gzip (possibly several concatenated members) → bytes.
class Inflater {
 public:
  explicit Inflater(ByteSource source) : source_(std::move(source)), input_(256 << 10) {
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) throw ArchiveError("tarball: zlib initialisation failed");
  }
  ~Inflater() { inflateEnd(&z_); }

  // Fills `out` completely or returns fewer bytes only at the clean end of the gzip stream.
  size_t read(char* out, size_t size) {
    size_t produced = 0;
    while (produced < size && !finished_) {
      if (z_.avail_in == 0 && !refill()) {
        if (at_member_start_) {
          finished_ = true;  // the input ended between members: a clean end
          break;
        }
        throw ArchiveError("tarball: truncated gzip stream");
      }
      if (at_member_start_) at_member_start_ = false;
      z_.next_out = reinterpret_cast<Bytef*>(out + produced);
      z_.avail_out = static_cast<uInt>(size - produced);
      int rc = inflate(&z_, Z_NO_FLUSH);
      produced = size - z_.avail_out;
      if (rc == Z_STREAM_END) {
        // Another member may follow (parallel compression writes many).
        inflateReset(&z_);
        at_member_start_ = true;
      } else if (rc == Z_BUF_ERROR && z_.avail_in == 0) {
        continue;  // needs more input
      } else if (rc != Z_OK) {
        throw ArchiveError(std::string("tarball: corrupt gzip data (") + (z_.msg ? z_.msg : "inflate error") + ")");
      }
    }
    return produced;
  }

 private:
  bool refill() {
    if (source_eof_) return false;
    size_t n = source_(input_.data(), input_.size());
    if (n == 0) {
      source_eof_ = true;
      return false;
    }
    z_.next_in = reinterpret_cast<Bytef*>(input_.data());
    z_.avail_in = static_cast<uInt>(n);
    return true;
  }

  ByteSource source_;
  std::vector<char> input_;
  z_stream z_{};
  bool at_member_start_ = true;
  bool finished_ = false;
  bool source_eof_ = false;
};

uint64_t parse_number(const char* field, size_t width, const std::string& what) {
  const auto* f = reinterpret_cast<const unsigned char*>(field);
  if (f[0] & 0x80) {
    // GNU base-256: big-endian binary; negative values (0xff lead byte) are never valid sizes.
    if (f[0] == 0xff) throw ArchiveError(what + ": negative number in header");
    uint64_t value = f[0] & 0x7f;
    for (size_t i = 1; i < width; ++i) {
      if (value >> 56) throw ArchiveError(what + ": number in header too large");
      value = (value << 8) | f[i];
    }
    return value;
  }
  uint64_t value = 0;
  size_t i = 0;
  while (i < width && (f[i] == ' ' || f[i] == 0)) ++i;
  for (; i < width && f[i] >= '0' && f[i] <= '7'; ++i) {
    if (value >> 60) throw ArchiveError(what + ": number in header too large");
    value = value * 8 + (f[i] - '0');
  }
  for (; i < width; ++i)
    if (f[i] != ' ' && f[i] != 0) throw ArchiveError(what + ": malformed number in header");
  return value;
}

std::string field_string(const char* field, size_t width) {
  return std::string(field, strnlen(field, width));
}

}  // namespace

struct TarballReader::State {
  Inflater inflater;
  ReaderLimits limits;
  uint64_t remaining = 0;  // unread content bytes of the current entry
  uint64_t padding = 0;
  std::string current_path;
  bool ended = false;

  State(ByteSource source, ReaderLimits l) : inflater(std::move(source)), limits(l) {}

  void read_exact(char* out, size_t size, const std::string& what) {
    if (inflater.read(out, size) != size) throw ArchiveError(what + ": truncated tar data");
  }

  void skip(uint64_t size, const std::string& what) {
    char buffer[16 * kBlock];
    while (size > 0) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(size, sizeof buffer));
      read_exact(buffer, n, what);
      size -= n;
    }
  }

  std::string read_small(uint64_t size, const std::string& what) {
    if (size > (1 << 20)) throw ArchiveError(what + ": extended header over 1 MiB");
    std::string data(size, '\0');
    read_exact(data.data(), data.size(), what);
    skip((kBlock - size % kBlock) % kBlock, what);
    return data;
  }

  std::string checked_path(std::string path) const {
    std::string quoted = "tarball entry \"" + path.substr(0, 200) + "\"";
    if (path.size() > limits.max_path_length) throw ArchiveError(quoted + ": path too long");
    if (path.find('\0') != std::string::npos) throw ArchiveError(quoted + ": path contains NUL");
    while (path.rfind("./", 0) == 0) path.erase(0, 2);
    if (path.empty()) throw ArchiveError("tarball: entry with an empty path");
    if (path.front() == '/') throw ArchiveError(quoted + ": absolute path");
    if (has_parent_component(path)) throw ArchiveError(quoted + ": path escapes with \"..\"");
    if (path.find('\\') != std::string::npos) throw ArchiveError(quoted + ": path contains a backslash");
    return path;
  }

  std::optional<TarEntry> next() {
    if (ended) return std::nullopt;
    skip(remaining + padding, "tarball entry \"" + current_path + "\"");
    remaining = padding = 0;
    std::string long_path;  // from a PAX 'x' or GNU 'L' entry, for the header that follows
    std::optional<uint64_t> pax_size;
    for (;;) {
      char h[kBlock];
      size_t got = inflater.read(h, kBlock);
      if (got == 0) {  // the stream ended at a header boundary without end blocks: accepted, as Go does
        ended = true;
        return std::nullopt;
      }
      if (got != kBlock) throw ArchiveError("tarball: truncated tar header");
      if (std::all_of(h, h + kBlock, [](char c) { return c == 0; })) {
        ended = true;  // end-of-archive marker; what follows is padding
        drain_trailer();
        return std::nullopt;
      }
      unsigned sum = 0;
      int signed_sum = 0;
      for (size_t i = 0; i < kBlock; ++i) {
        unsigned char c = (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
        sum += c;
        signed_sum += static_cast<signed char>(c);
      }
      uint64_t stored = parse_number(h + 148, 8, "tarball header");
      if (stored != sum && static_cast<int64_t>(stored) != signed_sum)
        throw ArchiveError("tarball: corrupt tar header (checksum mismatch)");

      std::string path = field_string(h, 100);
      if (std::memcmp(h + 257, "ustar", 5) == 0 && std::memcmp(h + 257, "ustar  ", 7) != 0) {
        std::string prefix = field_string(h + 345, 155);
        if (!prefix.empty()) path = prefix + "/" + path;
      }
      if (!long_path.empty()) path = long_path;
      std::string what = "tarball entry \"" + path.substr(0, 200) + "\"";
      uint64_t size = pax_size ? *pax_size : parse_number(h + 124, 12, what);
      char type = h[156];
      if (size > limits.max_entry_size)
        throw ArchiveError(what + ": " + std::to_string(size) + " bytes exceeds the limit of " +
                           std::to_string(limits.max_entry_size));
      switch (type) {
        case '0':
        case '\0':
        case '7': {
          std::string checked = checked_path(path);
          remaining = size;
          padding = (kBlock - size % kBlock) % kBlock;
          current_path = checked;
          return TarEntry{checked, size, static_cast<uint32_t>(parse_number(h + 100, 8, what) & 07777)};
        }
        case '5':
          checked_path(path);
          skip(size + (kBlock - size % kBlock) % kBlock, what);
          long_path.clear();
          pax_size.reset();
          continue;
        case 'x':
        case 'g': {
          std::string records = read_small(size, what);
          if (type == 'g') continue;  // global defaults: nothing Velero writes
          parse_pax(records, what, long_path, pax_size);
          continue;
        }
        case 'L': {
          long_path = read_small(size, what);
          long_path.resize(strnlen(long_path.c_str(), long_path.size()));
          continue;
        }
        case '1':
        case '2': throw ArchiveError(what + ": links are not allowed in a backup tarball");
        case '3':
        case '4':
        case '6': throw ArchiveError(what + ": device and FIFO entries are not allowed in a backup tarball");
        default: throw ArchiveError(what + ": unsupported tar entry type '" + std::string(1, type) + "'");
      }
    }
  }

  // Reads to the end of the gzip stream so a damaged trailer (CRC, length) or truncation is still reported.
  // Tar writers pad to their record size with zeros; anything else after the end marker is refused.
  void drain_trailer() {
    char buffer[16 * kBlock];
    uint64_t total = 0;
    while (size_t n = inflater.read(buffer, sizeof buffer)) {
      total += n;
      if (total > (1 << 20) || !std::all_of(buffer, buffer + n, [](char c) { return c == 0; }))
        throw ArchiveError("tarball: unexpected data after the end of the archive");
    }
  }

  static void parse_pax(const std::string& records, const std::string& what, std::string& path,
                        std::optional<uint64_t>& size) {
    size_t pos = 0;
    while (pos < records.size()) {
      size_t space = records.find(' ', pos);
      if (space == std::string::npos) throw ArchiveError(what + ": malformed PAX header");
      uint64_t len = 0;
      for (size_t i = pos; i < space; ++i) {
        if (records[i] < '0' || records[i] > '9' || len > records.size())
          throw ArchiveError(what + ": malformed PAX header");
        len = len * 10 + (records[i] - '0');
      }
      if (len <= space - pos + 1 || pos + len > records.size() || records[pos + len - 1] != '\n')
        throw ArchiveError(what + ": malformed PAX header");
      std::string record = records.substr(space + 1, pos + len - space - 2);
      auto eq = record.find('=');
      if (eq == std::string::npos) throw ArchiveError(what + ": malformed PAX header");
      std::string key = record.substr(0, eq), value = record.substr(eq + 1);
      if (key == "path") path = value;
      if (key == "size") {
        if (value.empty() || value.size() > 19 || value.find_first_not_of("0123456789") != std::string::npos)
          throw ArchiveError(what + ": malformed PAX size");
        size = std::stoull(value);
      }
      pos += len;
    }
  }
};

TarballReader::TarballReader(ByteSource source, ReaderLimits limits)
    : state_(std::make_unique<State>(std::move(source), limits)) {}

TarballReader::~TarballReader() = default;

std::optional<TarEntry> TarballReader::next() {
  return state_->next();
}

std::string TarballReader::read_content() {
  std::string data(state_->remaining, '\0');
  state_->read_exact(data.data(), data.size(), "tarball entry \"" + state_->current_path + "\"");
  state_->remaining = 0;
  return data;
}

}  // namespace arca::archive
