#pragma once
// restic's repository format, version 2 (restic's doc/design.rst): the JSON documents (config, keys, index,
// trees, snapshots, locks), the "unpacked" file encoding with zstd, and the pack header. Pure functions.
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "repo/crypto.h"

namespace arca::repo {

// A point in time with nanoseconds, as Go's time.Time in RFC 3339 (restic writes local time with an offset).
struct Time {
  int64_t sec = 0;
  int32_t nsec = 0;
  bool operator==(const Time&) const = default;
  auto operator<=>(const Time&) const = default;
  static Time now();
  static Time from(const struct timespec& ts) { return {ts.tv_sec, static_cast<int32_t>(ts.tv_nsec)}; }
};
std::string format_time(Time t);  // "2006-01-02T15:04:05.999999999Z", trailing zeros trimmed as Go does
Time parse_time(std::string_view text);  // any RFC 3339 offset; throws std::invalid_argument

// zstd: level as given (restic's "auto" is zstd's default speed).
std::string zstd_compress(std::string_view data, int level);
// Into out[0, capacity); returns the compressed size, or 0 when it does not fit.
size_t zstd_compress_to(std::string_view data, int level, char* out, size_t capacity);
size_t zstd_bound(size_t size);
std::string zstd_decompress(std::string_view data, size_t expected_size);  // throws on corrupt data or size mismatch
// A frame of known size (> 0) into `out`, reusing its memory.
void zstd_decompress_into(std::string_view data, size_t expected_size, std::string& out);

// Unpacked files (index, snapshots, locks): version 2 encoding is 0x02 || zstd(JSON); a plaintext starting with
// '{' or '[' is plain JSON (repository version 1, and what restic accepts from anyone).
std::string encode_unpacked(std::string_view json, int version);
std::string decode_unpacked(std::string_view plaintext);

enum class BlobType : uint8_t { Data = 0, Tree = 1 };
const char* to_string(BlobType type);

// One blob of a pack, as the pack header and the index both describe it.
struct PackedBlob {
  Id id;
  BlobType type = BlobType::Data;
  uint32_t offset = 0;
  uint32_t length = 0;                // encrypted length in the pack
  uint32_t uncompressed_length = 0;   // 0 when stored uncompressed
};
// Header plaintext (before encryption): per blob the type byte, lengths and ID, little-endian.
std::string encode_pack_header(const std::vector<PackedBlob>& blobs);
std::vector<PackedBlob> decode_pack_header(std::string_view plaintext);  // offsets computed; throws on garbage
// The header of a whole pack file (restic's design.rst, "Pack Format"): its encrypted length in the last 4 bytes,
// the sealed header before that. Throws std::runtime_error saying what is wrong (truncated, MAC, garbage); the
// entries' offsets are not checked against the pack here.
std::vector<PackedBlob> read_pack_header(const Key& key, std::string_view pack);
// A blob's plaintext from its sealed bytes: decrypted, decompressed to its recorded length, its ID checked.
// Throws std::runtime_error saying which step failed.
std::string open_blob(const Key& key, const PackedBlob& blob, std::string_view sealed);
// The same into `plain`, with `scratch` for the compressed plaintext: a restore reuses both for every blob.
void open_blob_into(const Key& key, const PackedBlob& blob, std::string_view sealed, std::string& plain,
                    std::string& scratch);

struct Config {
  int version = 2;
  std::string id;  // 64 hex digits
  uint64_t chunker_polynomial = 0;
};
std::string config_json(const Config& config);
Config parse_config(std::string_view json);

struct KeyFile {
  std::string created, username, hostname, kdf = "scrypt";
  uint64_t n = 32768;
  uint32_t r = 8, p = 1;
  std::string salt, data;  // raw bytes (base64 in JSON)
};
std::string key_file_json(const KeyFile& key);
KeyFile parse_key_file(std::string_view json);
std::string master_key_json(const Key& key);
Key parse_master_key(std::string_view json);

struct IndexPack {
  Id id;
  std::vector<PackedBlob> blobs;
};
struct IndexFile {
  std::vector<Id> supersedes;
  std::vector<IndexPack> packs;
};
std::string index_json(const IndexFile& index);
IndexFile parse_index(std::string_view json);

// A tree entry (restic's internal/restic/node.go); fields absent from JSON stay at their zero value.
struct Node {
  std::string name, type;  // file, dir, symlink, dev, chardev, fifo, socket
  uint32_t mode = 0;       // Go's os.FileMode: permission bits plus type bits (see go_mode)
  Time mtime, atime, ctime;
  uint32_t uid = 0, gid = 0;
  std::string user, group;
  uint64_t inode = 0, device_id = 0, size = 0, links = 0;
  std::string linktarget;
  std::vector<std::pair<std::string, std::string>> xattrs;  // name, raw value
  uint64_t device = 0;
  std::vector<Id> content;
  std::optional<Id> subtree;
  bool operator==(const Node&) const = default;
};
// Go's os.FileMode bits.
constexpr uint32_t kModeDir = 1u << 31, kModeSymlink = 1u << 27, kModeDevice = 1u << 26, kModeNamedPipe = 1u << 25,
                   kModeSocket = 1u << 24, kModeSetuid = 1u << 23, kModeSetgid = 1u << 22,
                   kModeCharDevice = 1u << 21, kModeSticky = 1u << 20;
uint32_t go_mode(uint32_t st_mode);     // from stat's st_mode
uint32_t posix_mode(uint32_t go_mode);  // permission, setuid/setgid/sticky bits for chmod
// Tree blob plaintext: {"nodes":[...]} and a newline, nodes sorted by name as restic keeps them.
std::string tree_json(const std::vector<Node>& nodes);
std::vector<Node> parse_tree(std::string_view json);

struct Snapshot {
  Time time;
  std::optional<Id> parent;
  Id tree;
  std::vector<std::string> paths;
  std::string hostname, username;
  uint32_t uid = 0, gid = 0;
  std::vector<std::string> excludes, tags;
  std::optional<Id> original;
};
std::string snapshot_json(const Snapshot& snapshot);
Snapshot parse_snapshot(std::string_view json);

struct Lock {
  Time time;
  bool exclusive = false;
  std::string hostname, username;
  int64_t pid = 0;
  uint32_t uid = 0, gid = 0;
};
std::string lock_json(const Lock& lock);
Lock parse_lock(std::string_view json);

}  // namespace arca::repo
