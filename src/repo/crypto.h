#pragma once
// restic's cryptographic primitives (restic's doc/design.rst, "Keys, Encryption and MAC"): AES-256-CTR with a
// Poly1305-AES MAC over the ciphertext, IV || CIPHERTEXT || MAC, SHA-256 IDs and the scrypt key derivation.
#include <array>
#include <cstring>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace arca::repo {

// A SHA-256 storage or blob ID.
struct Id {
  std::array<uint8_t, 32> bytes{};
  bool operator==(const Id&) const = default;
  auto operator<=>(const Id&) const = default;
  std::string hex() const;
  std::string short_hex() const { return hex().substr(0, 8); }
  bool null() const { return *this == Id{}; }
  static Id parse(std::string_view hex);  // throws std::invalid_argument naming the text
};
struct IdHash {
  size_t operator()(const Id& id) const {
    size_t h;
    std::memcpy(&h, id.bytes.data(), sizeof h);
    return h;
  }
};

Id sha256(std::string_view data);
// SHA-256 over data given in pieces (a pack is hashed as it is written).
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void update(std::string_view data);
  Id finish();  // the stream starts over afterwards

 private:
  void* ctx_;
};
void random_bytes(void* out, size_t size);
std::string base64_encode(std::string_view raw);
std::string base64_decode(std::string_view text);  // throws std::invalid_argument

// The master key: 32 bytes for AES-256, and the Poly1305-AES key as k (AES-128 key) and r (masked).
struct Key {
  std::array<uint8_t, 32> encrypt{};
  std::array<uint8_t, 16> mac_k{}, mac_r{};
  static Key random();
};

constexpr size_t kCryptoOverhead = 32;  // 16-byte IV + 16-byte MAC
// IV || AES-256-CTR(plaintext) || Poly1305-AES(ciphertext), with a fresh random IV.
std::string encrypt(const Key& key, std::string_view plaintext);
// In place: buf holds 16 spare bytes, the plaintext (`size` bytes) and 16 more; afterwards it is the sealed blob.
// A backup compresses straight into such a buffer, so a chunk is never copied between buffers.
void seal_in_place(const Key& key, uint8_t* buf, size_t size);
// The same from `plaintext` into `out` (plaintext.size() + kCryptoOverhead bytes), without copying it first.
void seal(const Key& key, std::string_view plaintext, uint8_t* out);
// false when the MAC does not match (wrong key or damaged data); `out` is then unspecified.
bool decrypt(const Key& key, std::string_view sealed, std::string& out);

// scrypt(password, salt, N, r, p) → 64 bytes, split as restic does: AES key, then MAC k, then MAC r.
Key derive_key(std::string_view password, std::string_view salt, uint64_t n, uint32_t r, uint32_t p);

}  // namespace arca::repo
