#include "repo/crypto.h"

#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <sodium.h>

#include <array>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace arca::repo {
namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

void crypto_fail(const char* what) { throw std::runtime_error(std::string("crypto: ") + what + " failed"); }

// AES-256-CTR in place; the whole 16-byte IV is the initial counter block, as Go's cipher.NewCTR uses it.
void aes_ctr(const Key& key, const uint8_t* iv, const uint8_t* in, uint8_t* out, size_t size) {
  thread_local CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_ctr(), nullptr, key.encrypt.data(), iv) != 1)
    crypto_fail("AES-256-CTR init");
  size_t done = 0;
  while (done < size) {  // EVP takes int lengths
    int chunk = static_cast<int>(std::min<size_t>(size - done, 1 << 30)), outl = 0;
    if (EVP_EncryptUpdate(ctx.get(), out + done, &outl, in + done, chunk) != 1) crypto_fail("AES-256-CTR");
    done += static_cast<size_t>(chunk);
  }
}

// Poly1305-AES (Bernstein 2005): the one-time key is r || AES-128_k(nonce); restic masks r per the paper.
void poly1305_aes(const Key& key, const uint8_t* nonce, const uint8_t* msg, size_t size, uint8_t* tag) {
  thread_local CipherCtx ctx(EVP_CIPHER_CTX_new());
  uint8_t one_time[32];
  std::memcpy(one_time, key.mac_r.data(), 16);
  one_time[3] &= 15, one_time[7] &= 15, one_time[11] &= 15, one_time[15] &= 15;
  one_time[4] &= 252, one_time[8] &= 252, one_time[12] &= 252;
  int outl = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_ecb(), nullptr, key.mac_k.data(), nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 || EVP_EncryptUpdate(ctx.get(), one_time + 16, &outl, nonce, 16) != 1)
    crypto_fail("AES-128 for Poly1305");
  crypto_onetimeauth_poly1305(tag, msg, size, one_time);
  sodium_memzero(one_time, sizeof one_time);
}

void sodium_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) crypto_fail("libsodium init");
  });
}

}  // namespace

std::string Id::hex() const {
  static const char* digits = "0123456789abcdef";
  std::string out(64, '0');
  for (size_t i = 0; i < 32; ++i) out[2 * i] = digits[bytes[i] >> 4], out[2 * i + 1] = digits[bytes[i] & 15];
  return out;
}

Id Id::parse(std::string_view hex) {
  // A table rather than branches: every blob ID of every index file and tree goes through here (5 % of an
  // unchanged backup's CPU with branches).
  static const std::array<int8_t, 256> nibbles = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    for (int c = 0; c < 10; ++c) t['0' + c] = static_cast<int8_t>(c);
    for (int c = 0; c < 6; ++c) t['a' + c] = t['A' + c] = static_cast<int8_t>(10 + c);
    return t;
  }();
  if (hex.size() != 64) throw std::invalid_argument("invalid ID \"" + std::string(hex) + "\": not 64 hex digits");
  Id id;
  int bad = 0;
  for (size_t i = 0; i < 32; ++i) {
    int hi = nibbles[static_cast<uint8_t>(hex[2 * i])], lo = nibbles[static_cast<uint8_t>(hex[2 * i + 1])];
    bad |= hi | lo;
    id.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  if (bad < 0) throw std::invalid_argument("invalid ID \"" + std::string(hex) + "\": not hexadecimal");
  return id;
}

Id sha256(std::string_view data) {
  Id id;
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), id.bytes.data(), &len, EVP_sha256(), nullptr) != 1) crypto_fail("SHA-256");
  return id;
}

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr) != 1) crypto_fail("SHA-256");
}
Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Sha256Stream::update(std::string_view data) {
  if (EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size()) != 1) crypto_fail("SHA-256");
}
Id Sha256Stream::finish() {
  Id id;
  unsigned int len = 0;
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  if (EVP_DigestFinal_ex(ctx, id.bytes.data(), &len) != 1 || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1)
    crypto_fail("SHA-256");
  return id;
}

void random_bytes(void* out, size_t size) {
  if (RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(size)) != 1) crypto_fail("random");
}

std::string base64_encode(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) throw std::invalid_argument("invalid base64 (length)");
  std::string out(3 * text.size() / 4 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) throw std::invalid_argument("invalid base64");
  size_t pad = 0;
  for (size_t i = text.size(); i > 0 && text[i - 1] == '=' && pad < 2; --i) ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

Key Key::random() {
  Key key;
  random_bytes(key.encrypt.data(), 32);
  random_bytes(key.mac_k.data(), 16);
  random_bytes(key.mac_r.data(), 16);
  // restic masks r when it creates a key, so the stored key is already in Poly1305's form.
  key.mac_r[3] &= 15, key.mac_r[7] &= 15, key.mac_r[11] &= 15, key.mac_r[15] &= 15;
  key.mac_r[4] &= 252, key.mac_r[8] &= 252, key.mac_r[12] &= 252;
  return key;
}

std::string encrypt(const Key& key, std::string_view plaintext) {
  sodium_once();
  std::string out(plaintext.size() + kCryptoOverhead, '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  random_bytes(p, 16);
  aes_ctr(key, p, reinterpret_cast<const uint8_t*>(plaintext.data()), p + 16, plaintext.size());
  poly1305_aes(key, p, p + 16, plaintext.size(), p + 16 + plaintext.size());
  return out;
}

void seal_in_place(const Key& key, uint8_t* p, size_t size) {
  sodium_once();
  random_bytes(p, 16);
  aes_ctr(key, p, p + 16, p + 16, size);
  poly1305_aes(key, p, p + 16, size, p + 16 + size);
}

bool decrypt(const Key& key, std::string_view sealed, std::string& out) {
  sodium_once();
  if (sealed.size() < kCryptoOverhead) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(sealed.data());
  size_t size = sealed.size() - kCryptoOverhead;
  uint8_t tag[16];
  poly1305_aes(key, p, p + 16, size, tag);
  if (sodium_memcmp(tag, p + 16 + size, 16) != 0) return false;
  out.resize(size);
  aes_ctr(key, p, p + 16, reinterpret_cast<uint8_t*>(out.data()), size);
  return true;
}

Key derive_key(std::string_view password, std::string_view salt, uint64_t n, uint32_t r, uint32_t p) {
  uint8_t raw[64];
  // scrypt needs 128·N·r·p bytes; allow that plus slack (OpenSSL's default ceiling is 32 MiB).
  uint64_t maxmem = 128 * n * r * p + (64u << 20);
  if (EVP_PBE_scrypt(password.data(), password.size(), reinterpret_cast<const unsigned char*>(salt.data()),
                     salt.size(), n, r, p, maxmem, raw, sizeof raw) != 1)
    throw std::runtime_error("scrypt key derivation failed (N=" + std::to_string(n) + ", r=" + std::to_string(r) +
                             ", p=" + std::to_string(p) + ")");
  Key key;
  std::memcpy(key.encrypt.data(), raw, 32);
  std::memcpy(key.mac_k.data(), raw + 32, 16);
  std::memcpy(key.mac_r.data(), raw + 48, 16);
  sodium_memzero(raw, sizeof raw);
  return key;
}

}  // namespace arca::repo
