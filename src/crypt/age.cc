#include "crypt/age.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "crypt/primitives.h"

namespace arca::crypt {
namespace age_detail {

constexpr size_t kChunk = 64 * 1024;
constexpr size_t kTag = 16;
constexpr size_t kFileKey = 16;
constexpr size_t kMaxHeader = 64 * 1024;  // a header past this is not one arca (or anyone sane) wrote
constexpr std::string_view kX25519Label = "age-encryption.org/v1/X25519";
constexpr std::string_view kIdentityHrp = "age-secret-key-";
constexpr std::string_view kRecipientHrp = "age";

// ChaCha20-Poly1305 (RFC 8439) with one reusable OpenSSL context.
class Aead {
 public:
  Aead() : ctx_(EVP_CIPHER_CTX_new()) {
    if (!ctx_) throw AgeError("ChaCha20-Poly1305: out of memory");
  }
  ~Aead() { EVP_CIPHER_CTX_free(ctx_); }
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;

  // out receives ciphertext || tag.
  void seal(std::string_view key, const unsigned char nonce[12], const char* in, size_t n, std::string& out) {
    out.resize(n + kTag);
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    int len = 0, fin = 0;
    if (EVP_EncryptInit_ex(ctx_, EVP_chacha20_poly1305(), nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                           nonce) != 1 ||
        (n && EVP_EncryptUpdate(ctx_, o, &len, reinterpret_cast<const unsigned char*>(in), static_cast<int>(n)) != 1) ||
        EVP_EncryptFinal_ex(ctx_, o + len, &fin) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, kTag, o + n) != 1)
      throw AgeError("ChaCha20-Poly1305: encryption failed");
  }
  // false when the tag does not authenticate.
  bool open(std::string_view key, const unsigned char nonce[12], const char* in, size_t n, std::string& out) {
    if (n < kTag) return false;
    size_t m = n - kTag;
    out.resize(m);
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    int len = 0, fin = 0;
    if (EVP_DecryptInit_ex(ctx_, EVP_chacha20_poly1305(), nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                           nonce) != 1)
      throw AgeError("ChaCha20-Poly1305: initialisation failed");
    if (m && EVP_DecryptUpdate(ctx_, o, &len, reinterpret_cast<const unsigned char*>(in), static_cast<int>(m)) != 1)
      return false;
    if (EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, kTag,
                            const_cast<unsigned char*>(reinterpret_cast<const unsigned char*>(in + m))) != 1)
      return false;
    return EVP_DecryptFinal_ex(ctx_, o + len, &fin) == 1;
  }

 private:
  EVP_CIPHER_CTX* ctx_;
};

// The STREAM nonce: an 11-byte big-endian chunk counter, then 1 for the last chunk, else 0.
void stream_nonce(uint64_t counter, bool last, unsigned char nonce[12]) {
  std::memset(nonce, 0, 12);
  for (int i = 10; i >= 3 && counter; --i, counter >>= 8) nonce[i] = static_cast<unsigned char>(counter & 0xff);
  nonce[11] = last ? 1 : 0;
}

std::string decode_recipient(const std::string& recipient) {
  std::string hrp, key;
  if (!bech32_decode(recipient, hrp, key) || hrp != kRecipientHrp || key.size() != 32 ||
      recipient != bech32_encode(kRecipientHrp, key))
    throw AgeError("\"" + recipient + "\" is not an age X25519 recipient (age1...)");
  return key;
}

std::string decode_identity(const std::string& identity) {
  std::string hrp, key;
  if (!bech32_decode(identity, hrp, key) || hrp != kIdentityHrp || key.size() != 32)
    throw AgeError("an identity is not an age X25519 secret key (AGE-SECRET-KEY-1...)");
  return key;
}

std::string header_mac(std::string_view file_key, std::string_view header_through_dashes) {
  return hmac_sha256(hkdf_sha256(file_key, "", "header", 32), header_through_dashes);
}

std::string wrap_file_key(std::string_view file_key, const std::string& recipient_key, Aead& aead) {
  std::string ephemeral = random_bytes(32);
  std::string share = x25519_base(ephemeral);
  std::string shared = x25519(ephemeral, recipient_key);
  std::string wrap_key = hkdf_sha256(shared, share + recipient_key, kX25519Label, 32);
  static const unsigned char zero_nonce[12] = {};
  std::string body;
  aead.seal(wrap_key, zero_nonce, file_key.data(), file_key.size(), body);
  // A 32-byte body is 43 base64 characters: one body line, shorter than 64 as the format requires.
  return "-> X25519 " + base64_encode(share, false) + "\n" + base64_encode(body, false) + "\n";
}

}  // namespace age_detail

using namespace age_detail;

bool is_age(std::string_view head) { return head.starts_with(kAgeMagic); }

AgeKeyPair generate_age_identity() {
  std::string secret = random_bytes(32);
  std::string identity = bech32_encode(kIdentityHrp, secret);
  for (auto& c : identity) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return {identity, bech32_encode(kRecipientHrp, x25519_base(secret))};
}

std::string age_recipient_of(const std::string& identity) {
  return bech32_encode(kRecipientHrp, x25519_base(decode_identity(identity)));
}

std::vector<std::string> parse_age_identities(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.starts_with("AGE-SECRET-KEY-1")) {
      decode_identity(std::string(line));
      out.emplace_back(line);
    }
  }
  return out;
}

std::vector<std::string> parse_age_recipients(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  auto flush = [&] {
    if (current.empty()) return;
    decode_recipient(current);
    out.push_back(current);
    current.clear();
  };
  for (char c : text) {
    if (c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t') flush();
    else current.push_back(c);
  }
  flush();
  return out;
}

Source age_encrypt(Source plaintext, const std::vector<std::string>& recipients) {
  if (recipients.empty()) throw AgeError("age: encryption needs at least one recipient");
  struct State {
    Aead aead;
    std::string payload_key;
    std::string out;  // bytes produced but not handed out yet
    size_t out_pos = 0;
    std::string chunk;
    char peek = 0;
    bool has_peek = false, done = false;
    uint64_t counter = 0;
  };
  auto state = std::make_shared<State>();
  std::string file_key = random_bytes(kFileKey);
  std::string header(kAgeMagic);
  for (const auto& r : recipients) header += wrap_file_key(file_key, decode_recipient(r), state->aead);
  header += "---";
  header += " " + base64_encode(header_mac(file_key, header), false) + "\n";
  std::string nonce = random_bytes(16);
  state->payload_key = hkdf_sha256(file_key, nonce, "payload", 32);
  state->out = header + nonce;
  state->chunk.reserve(kChunk);

  return [state, source = std::move(plaintext)](char* buffer, size_t capacity) -> size_t {
    State& s = *state;
    size_t written = 0;
    while (written < capacity) {
      if (s.out_pos < s.out.size()) {
        size_t n = std::min(capacity - written, s.out.size() - s.out_pos);
        std::memcpy(buffer + written, s.out.data() + s.out_pos, n);
        s.out_pos += n;
        written += n;
        continue;
      }
      if (s.done) break;
      // Fill one chunk, then look one byte ahead: the last chunk is sealed with the last-chunk flag.
      s.chunk.resize(kChunk);
      size_t used = 0;
      if (s.has_peek) s.chunk[used++] = s.peek;
      s.has_peek = false;
      while (used < kChunk) {
        size_t n = source(s.chunk.data() + used, kChunk - used);
        if (n == 0) break;
        used += n;
      }
      bool last = true;
      if (used == kChunk) {
        char c;
        size_t n = 0;
        n = source(&c, 1);
        if (n == 1) {
          s.peek = c;
          s.has_peek = true;
          last = false;
        }
      }
      unsigned char nonce[12];
      stream_nonce(s.counter++, last, nonce);
      s.aead.seal(s.payload_key, nonce, s.chunk.data(), used, s.out);
      s.out_pos = 0;
      s.done = last;
    }
    return written;
  };
}

std::string age_encrypt_string(std::string_view plaintext, const std::vector<std::string>& recipients) {
  size_t pos = 0;
  Source source = age_encrypt(
      [&](char* buffer, size_t capacity) {
        size_t n = std::min(capacity, plaintext.size() - pos);
        std::memcpy(buffer, plaintext.data() + pos, n);
        pos += n;
        return n;
      },
      recipients);
  std::string out;
  char buffer[64 * 1024];
  while (size_t n = source(buffer, sizeof buffer)) out.append(buffer, n);
  return out;
}

struct AgeDecryptor::State {
  std::vector<std::string> identities;
  Sink out;
  std::string what;
  enum class Phase { Header, Nonce, Payload, Done } phase = Phase::Header;
  std::string buf;
  std::string payload_key;
  std::string plain;
  uint64_t counter = 0;
  Aead aead;

  [[noreturn]] void fail(const std::string& why) { throw AgeError(what + ": " + why); }

  // Parses and authenticates the header held in buf[0, end); `dashes` is where "---" starts.
  void read_header(size_t dashes, size_t end) {
    std::string_view text(buf.data(), end);
    std::string_view mac_b64 = text.substr(dashes + 4, end - dashes - 5);
    std::string mac;
    if (!base64_decode(mac_b64, false, mac) || mac.size() != 32) fail("malformed age header (the MAC line)");
    // Stanzas: "-> TYPE ARGS..." then body lines, every one 64 columns but the last, which is shorter.
    struct Stanza {
      std::vector<std::string> args;
      std::string body;
    };
    std::vector<Stanza> stanzas;
    size_t pos = kAgeMagic.size();
    auto next_line = [&](std::string_view& line) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos || nl > dashes) fail("malformed age header");
      line = text.substr(pos, nl - pos);
      pos = nl + 1;
    };
    while (pos < dashes) {
      std::string_view line;
      next_line(line);
      if (!line.starts_with("-> ")) fail("malformed age header (a stanza line)");
      Stanza st;
      std::string_view rest = line.substr(3);
      while (!rest.empty()) {
        auto sp = rest.find(' ');
        std::string_view arg = rest.substr(0, sp);
        if (arg.empty()) fail("malformed age header (an empty stanza argument)");
        st.args.emplace_back(arg);
        rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
      }
      if (st.args.empty()) fail("malformed age header (a stanza without type)");
      std::string b64;
      for (;;) {
        std::string_view body_line;
        next_line(body_line);
        if (body_line.size() > 64) fail("malformed age header (a body line longer than 64 columns)");
        b64 += body_line;
        if (body_line.size() < 64) break;
      }
      if (!base64_decode(b64, false, st.body)) fail("malformed age header (a stanza body)");
      stanzas.push_back(std::move(st));
    }
    if (stanzas.empty()) fail("malformed age header (no recipient stanza)");
    std::string file_key;
    int x25519_stanzas = 0;
    for (const auto& st : stanzas) {
      if (st.args[0] != "X25519") continue;  // other recipient types (and age's "grease") are skipped
      ++x25519_stanzas;
      std::string share;
      if (st.args.size() != 2 || !base64_decode(st.args[1], false, share) || share.size() != 32 ||
          st.body.size() != kFileKey + kTag)
        fail("malformed age header (an X25519 stanza)");
      for (const auto& identity : identities) {
        std::string secret = decode_identity(identity);
        std::string shared;
        try {
          shared = x25519(secret, share);
        } catch (const AgeError&) {
          fail("malformed age header (an X25519 share of low order)");
        }
        std::string wrap_key = hkdf_sha256(shared, share + x25519_base(secret), kX25519Label, 32);
        static const unsigned char zero_nonce[12] = {};
        std::string candidate;
        if (aead.open(wrap_key, zero_nonce, st.body.data(), st.body.size(), candidate)) {
          file_key = candidate;
          break;
        }
      }
      if (!file_key.empty()) break;
    }
    if (file_key.empty())
      fail(identities.empty() ? "encrypted with age, and no identity (decryption key) was given"
                              : "none of the " + std::to_string(identities.size()) +
                                    " identities given matches any of its " + std::to_string(x25519_stanzas) +
                                    " X25519 recipients (wrong decryption key)");
    std::string expected = header_mac(file_key, text.substr(0, dashes + 3));
    if (CRYPTO_memcmp(expected.data(), mac.data(), 32) != 0) fail("age header MAC mismatch (the header was tampered with)");
    payload_key = file_key;  // the payload key needs the nonce that follows the header
  }

  void process(bool at_end) {
    size_t off = 0;
    if (phase == Phase::Header) {
      std::string_view head(buf.data(), std::min(buf.size(), kAgeMagic.size()));
      if (!kAgeMagic.starts_with(head)) fail("not an age file (encrypted data expected)");
      size_t dashes = buf.find("\n--- ");
      if (dashes == std::string::npos) {
        if (buf.size() > kMaxHeader) fail("not an age file (no header end within 64 KiB)");
        if (at_end) fail("truncated (the age header is incomplete)");
        return;
      }
      size_t end = buf.find('\n', dashes + 1);
      if (end == std::string::npos) {
        if (at_end) fail("truncated (the age header is incomplete)");
        return;
      }
      read_header(dashes + 1, end + 1);
      off = end + 1;
      phase = Phase::Nonce;
    }
    if (phase == Phase::Nonce) {
      if (buf.size() - off < 16) {
        if (at_end) fail("truncated (the age payload nonce is missing)");
        buf.erase(0, off);
        return;
      }
      payload_key = hkdf_sha256(payload_key, std::string_view(buf.data() + off, 16), "payload", 32);
      off += 16;
      phase = Phase::Payload;
    }
    if (phase == Phase::Payload) {
      // A chunk is known not to be the last only once bytes follow it.
      while (buf.size() - off > kChunk + kTag) {
        open_chunk(buf.data() + off, kChunk + kTag, false);
        off += kChunk + kTag;
      }
      if (at_end) {
        size_t n = buf.size() - off;
        if (n < kTag) fail("truncated (the age payload ends early)");
        open_chunk(buf.data() + off, n, true);
        off = buf.size();
        phase = Phase::Done;
      }
    }
    buf.erase(0, off);
  }

  void open_chunk(const char* data, size_t n, bool last) {
    unsigned char nonce[12];
    stream_nonce(counter, last, nonce);
    if (!aead.open(payload_key, nonce, data, n, plain))
      fail(last ? "the age payload does not authenticate (tampered with, or truncated)"
                : "the age payload does not authenticate (tampered with)");
    if (last && plain.empty() && counter > 0) fail("the age payload ends with an empty chunk (not allowed)");
    ++counter;
    if (!plain.empty()) out(plain.data(), plain.size());
  }
};

AgeDecryptor::AgeDecryptor(std::vector<std::string> identities, Sink out, std::string what)
    : state_(std::make_unique<State>()) {
  state_->identities = std::move(identities);
  for (const auto& identity : state_->identities) decode_identity(identity);
  state_->out = std::move(out);
  state_->what = std::move(what);
}

AgeDecryptor::~AgeDecryptor() = default;

void AgeDecryptor::write(const char* data, size_t size) {
  if (state_->phase == State::Phase::Done) state_->fail("data after the end");
  state_->buf.append(data, size);
  // Bounded memory: with no complete chunk yet, wait for more; a full chunk plus one byte is processed.
  if (state_->phase != State::Phase::Payload || state_->buf.size() > 2 * (kChunk + kTag)) state_->process(false);
}

void AgeDecryptor::finish() {
  if (state_->phase == State::Phase::Done) return;
  state_->process(true);
}

std::string age_decrypt_string(std::string_view ciphertext, const std::vector<std::string>& identities,
                               const std::string& what) {
  std::string out;
  AgeDecryptor decryptor(identities, [&](const char* data, size_t size) { out.append(data, size); }, what);
  decryptor.write(ciphertext.data(), ciphertext.size());
  decryptor.finish();
  return out;
}

}  // namespace arca::crypt
