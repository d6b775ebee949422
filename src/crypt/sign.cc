#include "crypt/sign.h"

#include <openssl/evp.h>

#include <cctype>
#include <memory>

#include "crypt/age.h"
#include "crypt/primitives.h"

namespace arca::crypt {
namespace {

constexpr std::string_view kPublicPrefix = "ed25519:";
constexpr std::string_view kPrivatePrefix = "ed25519-private:";

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

std::string decode_key(std::string_view text, std::string_view prefix, const char* what) {
  std::string raw;
  // Whitespace around a key pasted into a Secret or a config value is not part of it.
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  if (!text.starts_with(prefix) || !base64_decode(text.substr(prefix.size()), true, raw) || raw.size() != 32)
    throw AgeError(std::string("not an Ed25519 ") + what + " (expected " + std::string(prefix) + "BASE64 of 32 bytes)");
  return raw;
}

PkeyPtr private_pkey(std::string_view private_key) {
  std::string seed = decode_key(private_key, kPrivatePrefix, "private key");
  PkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                           reinterpret_cast<const unsigned char*>(seed.data()), seed.size()),
              &EVP_PKEY_free);
  if (!key) throw AgeError("Ed25519: cannot load the private key");
  return key;
}

std::string public_of(EVP_PKEY* key) {
  std::string raw(32, '\0');
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1)
    throw AgeError("Ed25519: cannot derive the public key");
  return std::string(kPublicPrefix) + base64_encode(raw, true);
}

}  // namespace

SigningKeyPair generate_signing_key() {
  std::string private_key = std::string(kPrivatePrefix) + base64_encode(random_bytes(32), true);
  return {private_key, signing_public_key_of(private_key)};
}

std::string signing_public_key_of(std::string_view private_key) { return public_of(private_pkey(private_key).get()); }

std::string sign_ed25519(std::string_view private_key, std::string_view message) {
  PkeyPtr key = private_pkey(private_key);
  MdCtxPtr ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::string sig(64, '\0');
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1)
    throw AgeError("Ed25519: signing failed");
  return base64_encode(sig, true);
}

bool verify_ed25519(std::string_view public_key, std::string_view message, std::string_view signature_b64) {
  std::string raw = decode_key(public_key, kPublicPrefix, "public key");
  std::string sig;
  if (!base64_decode(signature_b64, true, sig) || sig.size() != 64) return false;
  PkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                          reinterpret_cast<const unsigned char*>(raw.data()), raw.size()),
              &EVP_PKEY_free);
  MdCtxPtr ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

}  // namespace arca::crypt
