#include "repo/format.h"

#include <sys/stat.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "repo/goquote.h"
#include "repo/json_reader.h"

namespace arca::repo {
namespace {

using nlohmann::json;

void put_u32(std::string& out, uint32_t v) {
  char b[4] = {char(v), char(v >> 8), char(v >> 16), char(v >> 24)};
  out.append(b, 4);
}
uint32_t get_u32(const char* p) {
  auto* u = reinterpret_cast<const uint8_t*>(p);
  return uint32_t(u[0]) | uint32_t(u[1]) << 8 | uint32_t(u[2]) << 16 | uint32_t(u[3]) << 24;
}

// A JSON string literal. Bytes ≥ 0x80 pass through (file names are bytes; Go's decoder reads them).
void quote(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

json parse_json(std::string_view text, const char* what) {
  try {
    return json::parse(text);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("invalid ") + what + " JSON: " + e.what());
  }
}

std::optional<Id> opt_id(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return Id::parse(it->get<std::string>());
}

template <typename T>
T get_or(const json& j, const char* key, T fallback);

// An integer field read exactly: nlohmann's get<unsigned>() of -3.9e8 (a float, or a negative or too large
// integer) is undefined behaviour (repo_readers_fuzz: a tree node's "mode"); such a value is refused by name.
template <typename T>
T integer(const json& j, const char* key) {
  const json& v = j.at(key);
  bool fits = false;
  if (v.is_number_unsigned())
    fits = v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
  else if (v.is_number_integer())
    fits = std::is_signed_v<T> && v.get<int64_t>() >= static_cast<int64_t>(std::numeric_limits<T>::min());
  if (!fits) throw std::runtime_error(std::string("\"") + key + "\" is not an integer in range: " + v.dump());
  return v.is_number_unsigned() ? static_cast<T>(v.get<uint64_t>()) : static_cast<T>(v.get<int64_t>());
}

template <typename T>
T get_or(const json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) return integer<T>(j, key);
  else return it->get<T>();
}

uint32_t u32(const JsonReader& r, uint64_t v) {
  if (v > UINT32_MAX) r.fail("number out of range");
  return static_cast<uint32_t>(v);
}

std::vector<std::string> strings_or(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  return it->get<std::vector<std::string>>();
}

void str_array(std::string& out, const std::vector<std::string>& values) {
  out += '[';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    quote(out, values[i]);
  }
  out += ']';
}

}  // namespace

Time Time::now() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return from(ts);
}

namespace {

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian), cheaper than gmtime_r/strptime/timegm,
// which showed up when tens of thousands of tree nodes are formatted or parsed.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

}  // namespace

std::string format_time(Time t) {
  int64_t days = t.sec >= 0 ? t.sec / 86400 : -((-t.sec + 86399) / 86400);
  int64_t secs = t.sec - days * 86400;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d", static_cast<long long>(y), m, d,
                        static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (t.nsec != 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09d", t.nsec);
    std::string f(frac);
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  out += 'Z';
  return out;
}

Time parse_time(std::string_view s) {
  auto bad = [&] { return std::invalid_argument("invalid time \"" + std::string(s) + "\""); };
  size_t i = 0;
  auto num = [&](size_t digits) {
    int64_t v = 0;
    for (size_t k = 0; k < digits; ++k, ++i) {
      if (i >= s.size() || s[i] < '0' || s[i] > '9') throw bad();
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  auto sep = [&](char c) {
    if (i >= s.size() || (s[i] != c && !(c == 'T' && (s[i] == 't' || s[i] == ' ')))) throw bad();
    ++i;
  };
  int64_t year = num(4);
  sep('-');
  int64_t month = num(2);
  sep('-');
  int64_t day = num(2);
  sep('T');
  int64_t hh = num(2);
  sep(':');
  int64_t mm = num(2);
  sep(':');
  int64_t ss = num(2);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) throw bad();
  Time t;
  t.sec = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 + hh * 3600 +
          mm * 60 + ss;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    int64_t ns = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 9) ns = ns * 10 + (s[i] - '0'), ++digits;
      ++i;
    }
    if (digits == 0) throw bad();
    while (digits < 9) ns *= 10, ++digits;
    t.nsec = static_cast<int32_t>(ns);
  }
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int sign = s[i] == '-' ? -1 : 1;
    ++i;
    int64_t oh = num(2);
    sep(':');
    int64_t om = num(2);
    t.sec -= sign * (oh * 3600 + om * 60);
  } else {
    throw bad();
  }
  if (i != s.size()) throw bad();
  return t;
}

std::string zstd_compress(std::string_view data, int level) {
  std::string out(zstd_bound(data.size()), '\0');
  out.resize(zstd_compress_to(data, level, out.data(), out.size()));
  return out;
}

size_t zstd_bound(size_t size) { return ZSTD_compressBound(size); }

size_t zstd_compress_to(std::string_view data, int level, char* out, size_t capacity) {
  // Separate contexts for small and large inputs (a backup compresses them at different levels): zstd frees a
  // context's workspace after 128 calls that needed far less of it, and sets its tables up again.
  using Ctx = std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)>;
  thread_local Ctx small(ZSTD_createCCtx(), ZSTD_freeCCtx), large(ZSTD_createCCtx(), ZSTD_freeCCtx);
  ZSTD_CCtx* ctx = (data.size() < (128 << 10) ? small : large).get();
  size_t n = ZSTD_compressCCtx(ctx, out, capacity, data.data(), data.size(), level);
  if (ZSTD_isError(n)) {
    if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall) return 0;
    throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(n));
  }
  return n;
}

std::string zstd_decompress(std::string_view data, size_t expected_size) {
  thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (expected_size == 0) {
    unsigned long long declared = ZSTD_getFrameContentSize(data.data(), data.size());
    if (declared == ZSTD_CONTENTSIZE_ERROR) throw std::runtime_error("zstd: not a zstd frame");
    if (declared == ZSTD_CONTENTSIZE_UNKNOWN) {
      // Streaming frames (Go's encoder may omit the size): decode in steps.
      std::string out;
      ZSTD_DCtx_reset(ctx.get(), ZSTD_reset_session_only);
      ZSTD_inBuffer in{data.data(), data.size(), 0};
      std::string buf(1 << 20, '\0');
      while (true) {
        ZSTD_outBuffer o{buf.data(), buf.size(), 0};
        size_t r = ZSTD_decompressStream(ctx.get(), &o, &in);
        if (ZSTD_isError(r)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(r));
        out.append(buf.data(), o.pos);
        if (r == 0) break;
        if (in.pos == in.size && o.pos < o.size) throw std::runtime_error("zstd: truncated frame");
      }
      return out;
    }
    expected_size = static_cast<size_t>(declared);
  }
  std::string out;
  zstd_decompress_into(data, expected_size, out);
  return out;
}

void zstd_decompress_into(std::string_view data, size_t expected_size, std::string& out) {
  thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  // The size comes from the input (the frame's header, or the index's uncompressed length): what the frame's
  // blocks can really produce bounds the allocation — each block has a 3-byte header and yields
  // at most 128 KiB (zstd's format, RFC 8878) — so 18 hostile bytes cannot make the reader allocate 768 GiB.
  constexpr uint64_t kBlockMax = 128 * 1024;
  if (expected_size > (data.size() / 3 + 1) * kBlockMax)
    throw std::runtime_error("zstd: the recorded size, " + std::to_string(expected_size) + " bytes, is more than " +
                             std::to_string(data.size()) + " compressed bytes can hold (damaged)");
  out.resize(expected_size);
  size_t n = ZSTD_decompressDCtx(ctx.get(), out.data(), out.size(), data.data(), data.size());
  if (ZSTD_isError(n)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(n));
  if (n != expected_size) throw std::runtime_error("zstd: decompressed size differs from the recorded one");
}

std::string encode_unpacked(std::string_view json_text, int version) {
  if (version < 2) return std::string(json_text);
  std::string out(1, '\x02');
  out += zstd_compress(json_text, 3);
  return out;
}

std::string decode_unpacked(std::string_view plaintext) {
  if (plaintext.empty()) throw std::runtime_error("empty file");
  if (plaintext[0] == '{' || plaintext[0] == '[') return std::string(plaintext);
  if (plaintext[0] == 2) return zstd_decompress(plaintext.substr(1), 0);
  throw std::runtime_error("unknown encoding version " + std::to_string(static_cast<uint8_t>(plaintext[0])));
}

const char* to_string(BlobType type) { return type == BlobType::Tree ? "tree" : "data"; }

std::string encode_pack_header(const std::vector<PackedBlob>& blobs) {
  std::string out;
  out.reserve(blobs.size() * 41);
  for (const auto& b : blobs) {
    bool compressed = b.uncompressed_length != 0;
    out += static_cast<char>(static_cast<uint8_t>(b.type) | (compressed ? 2 : 0));
    put_u32(out, b.length);
    if (compressed) put_u32(out, b.uncompressed_length);
    out.append(reinterpret_cast<const char*>(b.id.bytes.data()), 32);
  }
  return out;
}

std::vector<PackedBlob> decode_pack_header(std::string_view p) {
  std::vector<PackedBlob> blobs;
  uint64_t offset = 0;
  size_t i = 0;
  while (i < p.size()) {
    uint8_t type = static_cast<uint8_t>(p[i]);
    if (type > 3) throw std::runtime_error("pack header: invalid blob type " + std::to_string(type));
    size_t need = type >= 2 ? 41 : 37;
    if (p.size() - i < need) throw std::runtime_error("pack header: truncated entry");
    PackedBlob b;
    b.type = static_cast<BlobType>(type & 1);
    b.length = get_u32(p.data() + i + 1);
    size_t id_at = i + 5;
    if (type >= 2) b.uncompressed_length = get_u32(p.data() + i + 5), id_at += 4;
    std::memcpy(b.id.bytes.data(), p.data() + id_at, 32);
    if (offset > UINT32_MAX) throw std::runtime_error("pack header: offsets past 4 GiB");
    b.offset = static_cast<uint32_t>(offset);
    offset += b.length;
    blobs.push_back(b);
    i += need;
  }
  return blobs;
}

std::vector<PackedBlob> read_pack_header(const Key& key, std::string_view pack) {
  if (pack.size() < 4 + kCryptoOverhead) throw std::runtime_error("too short for a header (truncated)");
  uint64_t hlen = get_u32(pack.data() + pack.size() - 4);
  if (hlen + 4 > pack.size()) throw std::runtime_error("header length past the start (truncated or damaged)");
  std::string header;
  if (!decrypt(key, pack.substr(pack.size() - 4 - hlen, hlen), header))
    throw std::runtime_error("header MAC check failed (damaged)");
  return decode_pack_header(header);
}

std::string open_blob(const Key& key, const PackedBlob& blob, std::string_view sealed) {
  std::string plain, scratch;
  open_blob_into(key, blob, sealed, plain, scratch);
  return plain;
}

void open_blob_into(const Key& key, const PackedBlob& blob, std::string_view sealed, std::string& plain,
                    std::string& scratch) {
  if (!decrypt(key, sealed, blob.uncompressed_length ? scratch : plain))
    throw std::runtime_error("MAC check failed (damaged data)");
  if (blob.uncompressed_length) zstd_decompress_into(scratch, blob.uncompressed_length, plain);
  if (sha256(plain) != blob.id) throw std::runtime_error("content does not match its ID (damaged data)");
}

std::string config_json(const Config& c) {
  char poly[32];
  std::snprintf(poly, sizeof poly, "%llx", static_cast<unsigned long long>(c.chunker_polynomial));
  return json{{"version", c.version}, {"id", c.id}, {"chunker_polynomial", poly}}.dump();
}

Config parse_config(std::string_view text) {
  json j = parse_json(text, "config");
  Config c;
  c.version = integer<int>(j, "version");
  c.id = j.at("id").get<std::string>();
  c.chunker_polynomial = std::stoull(j.at("chunker_polynomial").get<std::string>(), nullptr, 16);
  return c;
}

std::string key_file_json(const KeyFile& k) {
  return json{{"created", k.created}, {"username", k.username}, {"hostname", k.hostname}, {"kdf", k.kdf},
              {"N", k.n}, {"r", k.r}, {"p", k.p}, {"salt", base64_encode(k.salt)}, {"data", base64_encode(k.data)}}
      .dump();
}

KeyFile parse_key_file(std::string_view text) {
  json j = parse_json(text, "key file");
  KeyFile k;
  k.created = get_or<std::string>(j, "created", "");
  k.username = get_or<std::string>(j, "username", "");
  k.hostname = get_or<std::string>(j, "hostname", "");
  k.kdf = j.at("kdf").get<std::string>();
  k.n = integer<uint64_t>(j, "N");
  k.r = integer<uint32_t>(j, "r");
  k.p = integer<uint32_t>(j, "p");
  k.salt = base64_decode(j.at("salt").get<std::string>());
  k.data = base64_decode(j.at("data").get<std::string>());
  return k;
}

std::string master_key_json(const Key& key) {
  auto raw = [](const auto& a) { return base64_encode(std::string_view(reinterpret_cast<const char*>(a.data()), a.size())); };
  return json{{"mac", {{"k", raw(key.mac_k)}, {"r", raw(key.mac_r)}}}, {"encrypt", raw(key.encrypt)}}.dump();
}

Key parse_master_key(std::string_view text) {
  json j = parse_json(text, "master key");
  Key key;
  auto fill = [](auto& a, const std::string& b64) {
    std::string raw = base64_decode(b64);
    if (raw.size() != a.size()) throw std::runtime_error("master key: wrong key length");
    std::memcpy(a.data(), raw.data(), a.size());
  };
  fill(key.mac_k, j.at("mac").at("k").get<std::string>());
  fill(key.mac_r, j.at("mac").at("r").get<std::string>());
  fill(key.encrypt, j.at("encrypt").get<std::string>());
  return key;
}

std::string index_json(const IndexFile& index) {
  std::string out = "{";
  if (!index.supersedes.empty()) {
    out += "\"supersedes\":[";
    for (size_t i = 0; i < index.supersedes.size(); ++i) {
      if (i) out += ',';
      out += '"' + index.supersedes[i].hex() + '"';
    }
    out += "],";
  }
  out += "\"packs\":[";
  for (size_t p = 0; p < index.packs.size(); ++p) {
    if (p) out += ',';
    out += "{\"id\":\"" + index.packs[p].id.hex() + "\",\"blobs\":[";
    const auto& blobs = index.packs[p].blobs;
    for (size_t i = 0; i < blobs.size(); ++i) {
      const auto& b = blobs[i];
      if (i) out += ',';
      out += "{\"id\":\"" + b.id.hex() + "\",\"type\":\"" + to_string(b.type) + "\",\"offset\":" +
             std::to_string(b.offset) + ",\"length\":" + std::to_string(b.length);
      if (b.uncompressed_length) out += ",\"uncompressed_length\":" + std::to_string(b.uncompressed_length);
      out += '}';
    }
    out += "]}";
  }
  out += "]}";
  return out;
}

IndexFile parse_index(std::string_view text) {
  JsonReader r(text, "index");
  IndexFile index;
  std::string scratch;
  auto read_id = [&] { return Id::parse(r.string(scratch)); };
  auto blob = [&](IndexPack& pack) {
    PackedBlob b;
    bool have_id = false, have_type = false, have_offset = false, have_length = false;
    r.object([&](std::string_view key) {
      if (key == "id") b.id = read_id(), have_id = true;
      else if (key == "type") {
        std::string_view type = r.string(scratch);
        if (type == "tree") b.type = BlobType::Tree;
        else if (type == "data") b.type = BlobType::Data;
        else r.fail("unknown blob type " + std::string(type));
        have_type = true;
      } else if (key == "offset") b.offset = u32(r, r.uint()), have_offset = true;
      else if (key == "length") b.length = u32(r, r.uint()), have_length = true;
      else if (key == "uncompressed_length") b.uncompressed_length = r.null() ? 0 : u32(r, r.uint());
      else r.skip();
    });
    if (!have_id || !have_type || !have_offset || !have_length) r.fail("a blob lacks id, type, offset or length");
    pack.blobs.push_back(b);
  };
  auto packs = [&] {
    if (r.null()) return;
    r.array([&] {
      IndexPack pack;
      bool have_id = false;
      r.object([&](std::string_view key) {
        if (key == "id") pack.id = read_id(), have_id = true;
        else if (key == "blobs") {
          if (!r.null()) r.array([&] { blob(pack); });
        } else r.skip();
      });
      if (!have_id) r.fail("a pack lacks its id");
      index.packs.push_back(std::move(pack));
    });
  };
  try {
    // restic's old index format is the bare array of packs.
    std::string_view t = text.substr(std::min(text.find_first_not_of(" \t\r\n"), text.size()));
    if (!t.empty() && t[0] == '[') {
      packs();
    } else {
      r.object([&](std::string_view key) {
        if (key == "supersedes") {
          if (!r.null()) r.array([&] { index.supersedes.push_back(read_id()); });
        } else if (key == "packs") packs();
        else r.skip();
      });
    }
    r.finish();
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(std::string("invalid index JSON: ") + e.what());
  }
  return index;
}

uint32_t go_mode(uint32_t st) {
  uint32_t m = st & 0777;
  switch (st & S_IFMT) {
    case S_IFDIR: m |= kModeDir; break;
    case S_IFLNK: m |= kModeSymlink; break;
    case S_IFBLK: m |= kModeDevice; break;
    case S_IFCHR: m |= kModeDevice | kModeCharDevice; break;
    case S_IFIFO: m |= kModeNamedPipe; break;
    case S_IFSOCK: m |= kModeSocket; break;
    default: break;
  }
  if (st & S_ISUID) m |= kModeSetuid;
  if (st & S_ISGID) m |= kModeSetgid;
  if (st & S_ISVTX) m |= kModeSticky;
  return m;
}

uint32_t posix_mode(uint32_t gm) {
  uint32_t m = gm & 0777;
  if (gm & kModeSetuid) m |= S_ISUID;
  if (gm & kModeSetgid) m |= S_ISGID;
  if (gm & kModeSticky) m |= S_ISVTX;
  return m;
}

std::string tree_json(const std::vector<Node>& nodes) {
  std::string out = "{\"nodes\":[";
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (i) out += ',';
    out += "{\"name\":";
    quote(out, go_quote_name(n.name));
    out += ",\"type\":";
    quote(out, n.type);
    if (n.mode) out += ",\"mode\":" + std::to_string(n.mode);
    out += ",\"mtime\":\"" + format_time(n.mtime) + "\",\"atime\":\"" + format_time(n.atime) + "\",\"ctime\":\"" +
           format_time(n.ctime) + "\"";
    out += ",\"uid\":" + std::to_string(n.uid) + ",\"gid\":" + std::to_string(n.gid);
    if (!n.user.empty()) out += ",\"user\":", quote(out, n.user);
    if (!n.group.empty()) out += ",\"group\":", quote(out, n.group);
    if (n.inode) out += ",\"inode\":" + std::to_string(n.inode);
    if (n.device_id) out += ",\"device_id\":" + std::to_string(n.device_id);
    if (n.size) out += ",\"size\":" + std::to_string(n.size);
    if (n.links) out += ",\"links\":" + std::to_string(n.links);
    if (!n.linktarget.empty()) out += ",\"linktarget\":", quote(out, n.linktarget);
    if (!n.xattrs.empty()) {
      out += ",\"extended_attributes\":[";
      for (size_t x = 0; x < n.xattrs.size(); ++x) {
        if (x) out += ',';
        out += "{\"name\":";
        quote(out, n.xattrs[x].first);
        out += ",\"value\":\"" + base64_encode(n.xattrs[x].second) + "\"}";
      }
      out += ']';
    }
    if (n.device) out += ",\"device\":" + std::to_string(n.device);
    // restic's checker rejects a file without a content list, so files always carry one, even empty.
    if (n.type == "file") {
      out += ",\"content\":[";
      for (size_t c = 0; c < n.content.size(); ++c) {
        if (c) out += ',';
        out += '"' + n.content[c].hex() + '"';
      }
      out += ']';
    } else {
      out += ",\"content\":null";
    }
    if (n.subtree) out += ",\"subtree\":\"" + n.subtree->hex() + "\"";
    out += '}';
  }
  out += "]}\n";
  return out;
}

std::vector<Node> parse_tree(std::string_view text) {
  JsonReader r(text, "tree");
  std::vector<Node> nodes;
  std::string scratch;
  auto str = [&] { return r.null() ? std::string() : std::string(r.string(scratch)); };
  auto time = [&] { return r.null() ? Time{} : parse_time(r.string(scratch)); };
  auto num = [&] { return r.null() ? 0 : r.uint(); };
  auto node = [&] {
    Node n;
    bool have_name = false, have_type = false;
    r.object([&](std::string_view key) {
      if (key == "name") {
        try {
          n.name = go_unquote_name(r.string(scratch));
        } catch (const std::invalid_argument& e) {
          throw std::runtime_error(std::string("tree: ") + e.what());
        }
        have_name = true;
      }
      else if (key == "type") n.type = r.string(scratch), have_type = true;
      else if (key == "mode") n.mode = u32(r, num());
      else if (key == "mtime") n.mtime = time();
      else if (key == "atime") n.atime = time();
      else if (key == "ctime") n.ctime = time();
      else if (key == "uid") n.uid = u32(r, num());
      else if (key == "gid") n.gid = u32(r, num());
      else if (key == "user") n.user = str();
      else if (key == "group") n.group = str();
      else if (key == "inode") n.inode = num();
      else if (key == "device_id") n.device_id = num();
      else if (key == "size") n.size = num();
      else if (key == "links") n.links = num();
      else if (key == "linktarget") n.linktarget = str();
      else if (key == "device") n.device = num();
      else if (key == "extended_attributes") {
        if (!r.null())
          r.array([&] {
            std::string name, value;
            r.object([&](std::string_view k) {
              if (k == "name") name = str();
              else if (k == "value") value = base64_decode(str());
              else r.skip();
            });
            n.xattrs.emplace_back(std::move(name), std::move(value));
          });
      } else if (key == "content") {
        if (!r.null()) r.array([&] { n.content.push_back(Id::parse(r.string(scratch))); });
      } else if (key == "subtree") {
        if (r.null()) n.subtree.reset();
        else n.subtree = Id::parse(r.string(scratch));
      } else r.skip();
    });
    if (!have_name || !have_type) r.fail("a node lacks its name or type");
    nodes.push_back(std::move(n));
  };
  try {
    bool have_nodes = false;
    r.object([&](std::string_view key) {
      if (key == "nodes") {
        have_nodes = true;
        if (!r.null()) r.array(node);
      } else r.skip();
    });
    if (!have_nodes) r.fail("no \"nodes\"");
    r.finish();
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(std::string("invalid tree JSON: ") + e.what());
  }
  return nodes;
}

std::string snapshot_json(const Snapshot& s) {
  std::string out = "{\"time\":\"" + format_time(s.time) + "\"";
  if (s.parent) out += ",\"parent\":\"" + s.parent->hex() + "\"";
  out += ",\"tree\":\"" + s.tree.hex() + "\",\"paths\":";
  str_array(out, s.paths);
  if (!s.hostname.empty()) out += ",\"hostname\":", quote(out, s.hostname);
  if (!s.username.empty()) out += ",\"username\":", quote(out, s.username);
  if (s.uid) out += ",\"uid\":" + std::to_string(s.uid);
  if (s.gid) out += ",\"gid\":" + std::to_string(s.gid);
  if (!s.excludes.empty()) out += ",\"excludes\":", str_array(out, s.excludes);
  if (!s.tags.empty()) out += ",\"tags\":", str_array(out, s.tags);
  if (s.original) out += ",\"original\":\"" + s.original->hex() + "\"";
  out += '}';
  return out;
}

Snapshot parse_snapshot(std::string_view text) {
  json j = parse_json(text, "snapshot");
  Snapshot s;
  s.time = parse_time(j.at("time").get<std::string>());
  s.parent = opt_id(j, "parent");
  s.tree = Id::parse(j.at("tree").get<std::string>());
  s.paths = strings_or(j, "paths");
  s.hostname = get_or<std::string>(j, "hostname", "");
  s.username = get_or<std::string>(j, "username", "");
  s.uid = get_or<uint32_t>(j, "uid", 0);
  s.gid = get_or<uint32_t>(j, "gid", 0);
  s.excludes = strings_or(j, "excludes");
  s.tags = strings_or(j, "tags");
  s.original = opt_id(j, "original");
  return s;
}

std::string lock_json(const Lock& l) {
  return json{{"time", format_time(l.time)}, {"exclusive", l.exclusive}, {"hostname", l.hostname},
              {"username", l.username}, {"pid", l.pid}, {"uid", l.uid}, {"gid", l.gid}}
      .dump();
}

Lock parse_lock(std::string_view text) {
  json j = parse_json(text, "lock");
  Lock l;
  l.time = parse_time(j.at("time").get<std::string>());
  l.exclusive = get_or<bool>(j, "exclusive", false);
  l.hostname = get_or<std::string>(j, "hostname", "");
  l.username = get_or<std::string>(j, "username", "");
  l.pid = get_or<int64_t>(j, "pid", 0);
  l.uid = get_or<uint32_t>(j, "uid", 0);
  l.gid = get_or<uint32_t>(j, "gid", 0);
  return l;
}

}  // namespace arca::repo
