#pragma once
// The OpenSSL primitives age and the backup manifest are built from, and the two text encodings age uses.
#include <string>
#include <string_view>

namespace arca::crypt {

std::string random_bytes(size_t n);
std::string sha256(std::string_view data);  // raw 32 bytes
std::string hex(std::string_view raw);
std::string hmac_sha256(std::string_view key, std::string_view data);
// RFC 5869 with SHA-256; an empty salt means HashLen zero bytes, as the RFC says.
std::string hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info, size_t length);
// X25519(scalar, point): 32 bytes; throws AgeError when the result is all zeros (a low-order point).
std::string x25519(std::string_view scalar, std::string_view point);
std::string x25519_base(std::string_view scalar);

// Standard alphabet; `pad` adds '='. The decoder is strict: canonical, no padding unless `pad`, no spaces;
// returns false on anything else.
std::string base64_encode(std::string_view raw, bool pad);
bool base64_decode(std::string_view text, bool pad, std::string& out);

// BIP 173 Bech32 (the checksum constant 1, no length limit, as age uses it). decode: false when the checksum,
// the characters or the case are wrong; the human-readable part comes back lower-case.
std::string bech32_encode(std::string_view hrp, std::string_view data);
bool bech32_decode(std::string_view text, std::string& hrp, std::string& data);

// SHA-256 fed in pieces (digests of streamed objects).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t size);
  std::string finish();  // raw 32 bytes
  // The digest of `data` alone into `out`, starting afresh (many small inputs: one context, no allocation).
  void digest(std::string_view data, unsigned char out[32]);

 private:
  void* ctx_;
};

}  // namespace arca::crypt
