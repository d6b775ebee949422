#pragma once
// Ed25519 signatures (RFC 8032) over OpenSSL, with keys as text: the public key is "ed25519:" + base64 of its
// 32 bytes (short enough for a BSL config value), the private key the same over its 32-byte seed.
#include <string>
#include <string_view>

namespace arca::crypt {

struct SigningKeyPair {
  std::string private_key;  // ed25519-private:BASE64
  std::string public_key;   // ed25519:BASE64
};
SigningKeyPair generate_signing_key();
// Throws AgeError (one line, no key material) on a malformed key.
std::string signing_public_key_of(std::string_view private_key);
std::string sign_ed25519(std::string_view private_key, std::string_view message);  // base64 signature
bool verify_ed25519(std::string_view public_key, std::string_view message, std::string_view signature_b64);

}  // namespace arca::crypt
