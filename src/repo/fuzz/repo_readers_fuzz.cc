// libFuzzer target for what arca reads from a restic repository (built with -fsanitize=fuzzer,address,undefined
// by run_fuzz.sh): config, key files, the master key, index files, snapshots, trees, pack headers, sealed files
// and whole packs, as src/repo's readers take them. The first byte picks the reader; the checked-in corpus is
// what the real restic wrote (make_corpus.sh). Any input must end in a value or a std::exception, never a crash,
// a leak, undefined behaviour or an allocation far beyond the input.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "repo/crypto.h"
#include "repo/format.h"

namespace {

using namespace arca::repo;

// 64 key bytes (AES-256, then Poly1305's k and r) before the sealed data, as make_corpus.sh writes them.
bool split_key(std::string_view& input, Key& key) {
  if (input.size() < 64) return false;
  std::memcpy(key.encrypt.data(), input.data(), 32);
  std::memcpy(key.mac_k.data(), input.data() + 32, 16);
  std::memcpy(key.mac_r.data(), input.data() + 48, 16);
  input.remove_prefix(64);
  return true;
}

// How `arca repo check --read-data` (maintenance.cc) walks a pack: header, then every blob inside the pack.
void read_pack(const Key& key, std::string_view pack) {
  auto blobs = read_pack_header(key, pack);
  uint64_t end = pack.size() - 4 - (uint32_t(uint8_t(pack[pack.size() - 4])) | uint32_t(uint8_t(pack[pack.size() - 3])) << 8 |
                                    uint32_t(uint8_t(pack[pack.size() - 2])) << 16 | uint32_t(uint8_t(pack[pack.size() - 1])) << 24);
  for (const auto& blob : blobs) {
    if (uint64_t(blob.offset) + blob.length > end) continue;
    try {
      std::string plain = open_blob(key, blob, pack.substr(blob.offset, blob.length));
      if (blob.type == BlobType::Tree) (void)tree_json(parse_tree(plain));
    } catch (const std::exception&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  Key key;
  try {
    switch (data[0] % 9) {
      case 0:
        (void)config_json(parse_config(decode_unpacked(input)));
        break;
      case 1:
        (void)key_file_json(parse_key_file(input));
        break;
      case 2:
        (void)master_key_json(parse_master_key(input));
        break;
      case 3:
        (void)index_json(parse_index(decode_unpacked(input)));
        break;
      case 4:
        (void)snapshot_json(parse_snapshot(decode_unpacked(input)));
        break;
      case 5:
        (void)tree_json(parse_tree(input));
        break;
      case 6:
        (void)encode_pack_header(decode_pack_header(input));
        break;
      case 7: {  // an unpacked file as stored: sealed, then version 2's encoding
        std::string plain;
        if (split_key(input, key) && decrypt(key, input, plain)) {
          std::string text = decode_unpacked(plain);
          try {
            (void)parse_index(text);
          } catch (const std::exception&) {
          }
          (void)parse_config(text);
        }
        break;
      }
      default:
        if (split_key(input, key)) read_pack(key, input);
    }
  } catch (const std::exception&) {
  }
  return 0;
}
