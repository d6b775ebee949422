#include "repo/format.h"

#include <sys/stat.h>
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <limits>
#include <stdexcept>
#include <type_traits>

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
  if constexpr (std::is_integral_v<T>) return integer<T>(j, key);
  else return it->get<T>();
}

Time time_or(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  return parse_time(it->get<std::string>());
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

std::string format_time(Time t) {
  time_t sec = static_cast<time_t>(t.sec);
  struct tm tm;
  gmtime_r(&sec, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
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

Time parse_time(std::string_view text) {
  auto bad = [&] { return std::invalid_argument("invalid time \"" + std::string(text) + "\""); };
  struct tm tm {};
  std::string s(text);
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) throw bad();
  Time t;
  t.sec = timegm(&tm);
  if (*end == '.') {
    ++end;
    int digits = 0;
    int64_t ns = 0;
    while (*end >= '0' && *end <= '9') {
      if (digits < 9) ns = ns * 10 + (*end - '0'), ++digits;
      ++end;
    }
    while (digits < 9) ns *= 10, ++digits;
    t.nsec = static_cast<int32_t>(ns);
  }
  if (*end == 'Z' || *end == 'z') {
    ++end;
  } else if (*end == '+' || *end == '-') {
    int sign = *end == '-' ? -1 : 1;
    int hh = 0, mm = 0;
    if (std::sscanf(end + 1, "%2d:%2d", &hh, &mm) != 2) throw bad();
    t.sec -= sign * (hh * 3600 + mm * 60);
    end += 6;
  } else {
    throw bad();
  }
  if (*end != '\0') throw bad();
  return t;
}

std::string zstd_compress(std::string_view data, int level) {
  thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> ctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compressCCtx(ctx.get(), out.data(), out.size(), data.data(), data.size(), level);
  if (ZSTD_isError(n)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
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
  // The size comes from the input (the frame's header, or the index's uncompressed length): what the frame's
  // blocks can really produce bounds the allocation — each block has a 3-byte header and yields at most 128 KiB
  // (zstd's format, RFC 8878) — so 18 hostile bytes can no longer make the reader allocate 768 GiB.
  constexpr uint64_t kBlockMax = 128 * 1024;
  if (expected_size > (data.size() / 3 + 1) * kBlockMax)
    throw std::runtime_error("zstd: the recorded size, " + std::to_string(expected_size) + " bytes, is more than " +
                             std::to_string(data.size()) + " compressed bytes can hold (damaged)");
  std::string out(expected_size, '\0');
  size_t n = ZSTD_decompressDCtx(ctx.get(), out.data(), out.size(), data.data(), data.size());
  if (ZSTD_isError(n)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(n));
  if (n != expected_size) throw std::runtime_error("zstd: decompressed size differs from the recorded one");
  return out;
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
  std::string plain;
  if (!decrypt(key, sealed, plain)) throw std::runtime_error("MAC check failed (damaged data)");
  if (blob.uncompressed_length) plain = zstd_decompress(plain, blob.uncompressed_length);
  if (sha256(plain) != blob.id) throw std::runtime_error("content does not match its ID (damaged data)");
  return plain;
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
  json j = parse_json(text, "index");
  IndexFile index;
  const json* packs = &j;
  if (j.is_object()) {
    if (auto it = j.find("supersedes"); it != j.end() && it->is_array())
      for (const auto& s : *it) index.supersedes.push_back(Id::parse(s.get<std::string>()));
    packs = &j.at("packs");
  }
  for (const auto& pj : *packs) {
    IndexPack pack;
    pack.id = Id::parse(pj.at("id").get<std::string>());
    for (const auto& bj : pj.at("blobs")) {
      PackedBlob b;
      b.id = Id::parse(bj.at("id").get<std::string>());
      std::string type = bj.at("type").get<std::string>();
      if (type == "tree") b.type = BlobType::Tree;
      else if (type == "data") b.type = BlobType::Data;
      else throw std::runtime_error("index: unknown blob type " + type);
      b.offset = integer<uint32_t>(bj, "offset");
      b.length = integer<uint32_t>(bj, "length");
      b.uncompressed_length = get_or<uint32_t>(bj, "uncompressed_length", 0);
      pack.blobs.push_back(b);
    }
    index.packs.push_back(std::move(pack));
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
    quote(out, n.name);
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
  json j = parse_json(text, "tree");
  std::vector<Node> nodes;
  const json& arr = j.at("nodes");
  if (arr.is_null()) return nodes;
  nodes.reserve(arr.size());
  for (const auto& nj : arr) {
    Node n;
    n.name = nj.at("name").get<std::string>();
    n.type = nj.at("type").get<std::string>();
    n.mode = get_or<uint32_t>(nj, "mode", 0);
    n.mtime = time_or(nj, "mtime");
    n.atime = time_or(nj, "atime");
    n.ctime = time_or(nj, "ctime");
    n.uid = get_or<uint32_t>(nj, "uid", 0);
    n.gid = get_or<uint32_t>(nj, "gid", 0);
    n.user = get_or<std::string>(nj, "user", "");
    n.group = get_or<std::string>(nj, "group", "");
    n.inode = get_or<uint64_t>(nj, "inode", 0);
    n.device_id = get_or<uint64_t>(nj, "device_id", 0);
    n.size = get_or<uint64_t>(nj, "size", 0);
    n.links = get_or<uint64_t>(nj, "links", 0);
    n.linktarget = get_or<std::string>(nj, "linktarget", "");
    n.device = get_or<uint64_t>(nj, "device", 0);
    if (auto it = nj.find("extended_attributes"); it != nj.end() && it->is_array())
      for (const auto& x : *it)
        n.xattrs.emplace_back(x.at("name").get<std::string>(), base64_decode(get_or<std::string>(x, "value", "")));
    if (auto it = nj.find("content"); it != nj.end() && it->is_array())
      for (const auto& c : *it) n.content.push_back(Id::parse(c.get<std::string>()));
    n.subtree = opt_id(nj, "subtree");
    nodes.push_back(std::move(n));
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
