#include "crypt/primitives.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <cctype>
#include <cstring>
#include <memory>

#include "crypt/age.h"

namespace arca::crypt {
namespace {

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;

const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const char kBech32[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

uint32_t bech32_polymod(const std::string& values) {
  static const uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  uint32_t chk = 1;
  for (unsigned char v : values) {
    uint32_t b = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (int i = 0; i < 5; ++i)
      if ((b >> i) & 1) chk ^= gen[i];
  }
  return chk;
}

std::string hrp_expand(std::string_view hrp) {
  std::string out;
  for (char c : hrp) out.push_back(static_cast<char>(static_cast<unsigned char>(c) >> 5));
  out.push_back(0);
  for (char c : hrp) out.push_back(static_cast<char>(c & 31));
  return out;
}

// Regroups bits (8 → 5 for encoding, 5 → 8 for decoding); false when the padding is not zero.
bool convert_bits(std::string_view in, int from, int to, bool pad, std::string& out) {
  uint32_t acc = 0;
  int bits = 0;
  const uint32_t maxv = (1u << to) - 1;
  for (unsigned char c : in) {
    if (c >> from) return false;
    acc = (acc << from) | c;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push_back(static_cast<char>((acc >> bits) & maxv));
    }
  }
  if (pad) {
    if (bits > 0) out.push_back(static_cast<char>((acc << (to - bits)) & maxv));
  } else if (bits >= from || ((acc << (to - bits)) & maxv)) {
    return false;
  }
  return true;
}

}  // namespace

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw AgeError("the system random number generator failed");
  return out;
}

std::string sha256(std::string_view data) {
  Sha256 h;
  h.update(data.data(), data.size());
  return h.finish();
}

std::string hex(std::string_view raw) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[32];
  unsigned int len = sizeof out;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out, &len))
    throw AgeError("HMAC-SHA256 failed");
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info, size_t length) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr), &EVP_PKEY_CTX_free);
  std::string zero_salt(32, '\0');
  if (salt.empty()) salt = zero_salt;
  std::string out(length, '\0');
  size_t out_len = length;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0 || EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) <= 0 ||
      EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), reinterpret_cast<const unsigned char*>(salt.data()),
                                  static_cast<int>(salt.size())) <= 0 ||
      EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), reinterpret_cast<const unsigned char*>(ikm.data()),
                                 static_cast<int>(ikm.size())) <= 0 ||
      EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), reinterpret_cast<const unsigned char*>(info.data()),
                                  static_cast<int>(info.size())) <= 0 ||
      EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &out_len) <= 0 || out_len != length)
    throw AgeError("HKDF-SHA256 failed");
  return out;
}

std::string x25519(std::string_view scalar, std::string_view point) {
  PkeyPtr priv(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr,
                                            reinterpret_cast<const unsigned char*>(scalar.data()), scalar.size()),
               &EVP_PKEY_free);
  PkeyPtr peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr,
                                           reinterpret_cast<const unsigned char*>(point.data()), point.size()),
               &EVP_PKEY_free);
  if (!priv || !peer) throw AgeError("X25519: a key is not 32 bytes");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new(priv.get(), nullptr), &EVP_PKEY_CTX_free);
  std::string out(32, '\0');
  size_t len = out.size();
  // OpenSSL refuses an all-zero shared secret itself; the check below keeps that rule explicit.
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0 || EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) <= 0 ||
      EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len) <= 0 || len != 32 ||
      out == std::string(32, '\0'))
    throw AgeError("X25519: the key exchange failed (a low-order share)");
  return out;
}

std::string x25519_base(std::string_view scalar) {
  PkeyPtr priv(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr,
                                            reinterpret_cast<const unsigned char*>(scalar.data()), scalar.size()),
               &EVP_PKEY_free);
  std::string out(32, '\0');
  size_t len = out.size();
  if (!priv || EVP_PKEY_get_raw_public_key(priv.get(), reinterpret_cast<unsigned char*>(out.data()), &len) != 1)
    throw AgeError("X25519: cannot derive the public key");
  return out;
}

std::string base64_encode(std::string_view raw, bool pad) {
  std::string out;
  out.reserve((raw.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < raw.size(); i += 3) {
    uint32_t v = (uint8_t(raw[i]) << 16) | (uint8_t(raw[i + 1]) << 8) | uint8_t(raw[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kBase64[(v >> s) & 63]);
  }
  size_t rest = raw.size() - i;
  if (rest) {
    uint32_t v = uint8_t(raw[i]) << 16;
    if (rest == 2) v |= uint8_t(raw[i + 1]) << 8;
    out.push_back(kBase64[(v >> 18) & 63]);
    out.push_back(kBase64[(v >> 12) & 63]);
    if (rest == 2) out.push_back(kBase64[(v >> 6) & 63]);
    if (pad) out.append(rest == 1 ? "==" : "=");
  }
  return out;
}

bool base64_decode(std::string_view text, bool pad, std::string& out) {
  out.clear();
  if (pad) {
    if (text.size() % 4) return false;
    if (text.ends_with("==")) text.remove_suffix(2);
    else if (text.ends_with("=")) text.remove_suffix(1);
  }
  if (text.size() % 4 == 1) return false;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const char* p = c ? std::strchr(kBase64, c) : nullptr;
    if (!p) return false;
    acc = (acc << 6) | static_cast<uint32_t>(p - kBase64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Canonical: the bits left over must be zero (Go's RawStdEncoding.Strict, which age uses).
  return (acc & ((1u << bits) - 1)) == 0;
}

std::string bech32_encode(std::string_view hrp, std::string_view data) {
  std::string values;
  convert_bits(data, 8, 5, true, values);
  std::string check = hrp_expand(hrp) + values + std::string(6, '\0');
  uint32_t mod = bech32_polymod(check) ^ 1;
  std::string out(hrp);
  out.push_back('1');
  for (char v : values) out.push_back(kBech32[static_cast<int>(v)]);
  for (int i = 0; i < 6; ++i) out.push_back(kBech32[(mod >> (5 * (5 - i))) & 31]);
  return out;
}

bool bech32_decode(std::string_view text, std::string& hrp, std::string& data) {
  bool lower = false, upper = false;
  for (char c : text) {
    if (c < 33 || c > 126) return false;
    lower |= (c >= 'a' && c <= 'z');
    upper |= (c >= 'A' && c <= 'Z');
  }
  if (lower && upper) return false;
  auto sep = text.rfind('1');
  if (sep == std::string_view::npos || sep == 0 || sep + 7 > text.size()) return false;
  hrp.clear();
  for (size_t i = 0; i < sep; ++i) hrp.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(text[i]))));
  std::string values;
  for (size_t i = sep + 1; i < text.size(); ++i) {
    const char* p = std::strchr(kBech32, std::tolower(static_cast<unsigned char>(text[i])));
    if (!p || !*p) return false;
    values.push_back(static_cast<char>(p - kBech32));
  }
  if (bech32_polymod(hrp_expand(hrp) + values) != 1) return false;
  values.resize(values.size() - 6);
  data.clear();
  return convert_bits(values, 5, 8, false, data);
}

namespace {
// Fetched once: EVP_sha256() makes OpenSSL 3 look the implementation up again on every initialisation, which
// costs a fifth of hashing a 1.5 KB Kubernetes object.
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md ? md : EVP_sha256();
}
}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), sha256_md(), nullptr) != 1)
    throw AgeError("SHA-256: initialisation failed");
}
Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Sha256::update(const void* data, size_t size) { EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, size); }
std::string Sha256::finish() {
  unsigned char out[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}
void Sha256::digest(std::string_view data, unsigned char out[32]) {
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  unsigned int len = 0;
  if (EVP_DigestInit_ex(ctx, sha256_md(), nullptr) != 1 || EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != 32)
    throw AgeError("SHA-256 failed");
}

}  // namespace arca::crypt
