#pragma once
// The age v1 file format (C2SP age: https://github.com/C2SP/C2SP/blob/main/age.md) with X25519 recipients,
// written over OpenSSL. Streaming both ways: memory stays at one 64 KiB chunk whatever the size.
//
// Encryption needs only recipients (public keys, "age1..."); decryption needs an identity
// ("AGE-SECRET-KEY-1..."), so a server can write backups it cannot read.
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace arca::crypt {

// One line, never containing key material.
class AgeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Pull-style source (the same shape as store::Reader): fills up to `capacity`, returns the count, 0 at the end.
using Source = std::function<size_t(char* buffer, size_t capacity)>;
using Sink = std::function<void(const char* data, size_t size)>;

// "age-encryption.org/v1\n": what every age file starts with.
inline constexpr std::string_view kAgeMagic = "age-encryption.org/v1\n";
bool is_age(std::string_view head);

struct AgeKeyPair {
  std::string identity;   // AGE-SECRET-KEY-1...
  std::string recipient;  // age1...
};
AgeKeyPair generate_age_identity();
// The recipient of an identity; throws AgeError on a malformed identity.
std::string age_recipient_of(const std::string& identity);
// Every AGE-SECRET-KEY-1 line of a key file (age-keygen's output: comments and blank lines are skipped).
std::vector<std::string> parse_age_identities(std::string_view text);
// Recipients separated by commas, spaces or newlines; each checked. Throws AgeError naming a bad one.
std::vector<std::string> parse_age_recipients(std::string_view text);

// The ciphertext of what `plaintext` yields, produced as it is read. At least one recipient.
Source age_encrypt(Source plaintext, const std::vector<std::string>& recipients);
std::string age_encrypt_string(std::string_view plaintext, const std::vector<std::string>& recipients);

// Push-style decryption: write() the ciphertext in any pieces, then finish(); the plaintext goes to `out`
// only after its chunk authenticated. Errors: no matching identity (names the file's recipients' count, not
// keys), a bad header MAC, a tampered or truncated payload. `what` names the file in messages.
class AgeDecryptor {
 public:
  AgeDecryptor(std::vector<std::string> identities, Sink out, std::string what);
  ~AgeDecryptor();
  AgeDecryptor(const AgeDecryptor&) = delete;
  AgeDecryptor& operator=(const AgeDecryptor&) = delete;
  void write(const char* data, size_t size);
  void finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};
std::string age_decrypt_string(std::string_view ciphertext, const std::vector<std::string>& identities,
                               const std::string& what);

}  // namespace arca::crypt
