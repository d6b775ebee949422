// The age format against Debian's reference `age` CLI, in both directions, and the failure cases.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <cstring>
#include <random>

#include "crypt/age.h"
#include "crypt/primitives.h"
#include "crypt/sign.h"
#include "tests/support/process.h"

namespace {

using namespace arca::crypt;

std::string random_text(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

int sh(const std::string& cmd, const testsupport::TempDir& dir) {
  return std::system((cmd + " > " + dir.file("sh.log") + " 2>&1").c_str());
}

// Encrypts through the streaming reader, handing out odd-sized pieces to exercise the buffering.
std::string encrypt_streaming(const std::string& plain, const std::vector<std::string>& recipients) {
  size_t pos = 0;
  Source source = age_encrypt(
      [&](char* buffer, size_t capacity) {
        size_t n = std::min({capacity, plain.size() - pos, size_t(7777)});
        std::memcpy(buffer, plain.data() + pos, n);
        pos += n;
        return n;
      },
      recipients);
  std::string out;
  char buffer[1000];
  while (size_t n = source(buffer, sizeof buffer)) out.append(buffer, n);
  return out;
}

TEST(Bech32, RoundTripsAndRejectsBadChecksums) {
  auto keys = generate_age_identity();
  EXPECT_TRUE(keys.identity.starts_with("AGE-SECRET-KEY-1"));
  EXPECT_TRUE(keys.recipient.starts_with("age1"));
  EXPECT_EQ(age_recipient_of(keys.identity), keys.recipient);
  std::string bad = keys.recipient;
  bad[10] = bad[10] == 'q' ? 'p' : 'q';
  EXPECT_THROW(parse_age_recipients(bad), AgeError);
  EXPECT_EQ(parse_age_recipients(keys.recipient + ", " + keys.recipient + "\n").size(), 2u);
}

TEST(Age, ReferenceAgeDecryptsWhatArcaWrote) {
  testsupport::TempDir dir;
  ASSERT_EQ(sh("age-keygen -o " + dir.file("key"), dir), 0) << testsupport::read_file(dir.file("sh.log"));
  auto identities = parse_age_identities(testsupport::read_file(dir.file("key")));
  ASSERT_EQ(identities.size(), 1u);
  auto other = generate_age_identity();
  // Sizes around the 64 KiB chunk boundary, where the last-chunk flag is easiest to get wrong.
  for (size_t size : {size_t(0), size_t(1), size_t(65535), size_t(65536), size_t(65537), size_t(3 * 65536),
                      size_t(200000)}) {
    std::string plain = random_text(size, static_cast<unsigned>(size));
    write_file(dir.file("enc.age"), encrypt_streaming(plain, {other.recipient, age_recipient_of(identities[0])}));
    ASSERT_EQ(sh("age -d -i " + dir.file("key") + " -o " + dir.file("dec") + " " + dir.file("enc.age"), dir), 0)
        << "size " << size << ": " << testsupport::read_file(dir.file("sh.log"));
    EXPECT_TRUE(testsupport::read_file(dir.file("dec")) == plain) << "size " << size;
  }
}

TEST(Age, ArcaDecryptsWhatReferenceAgeWrote) {
  testsupport::TempDir dir;
  auto mine = generate_age_identity();
  auto other = generate_age_identity();
  for (size_t size : {size_t(0), size_t(100), size_t(65536), size_t(65536 * 2 + 5), size_t(1 << 20)}) {
    std::string plain = random_text(size, static_cast<unsigned>(size) + 1);
    write_file(dir.file("plain"), plain);
    ASSERT_EQ(sh("age -r " + other.recipient + " -r " + mine.recipient + " -o " + dir.file("enc.age") + " " +
                     dir.file("plain"),
                 dir),
              0)
        << testsupport::read_file(dir.file("sh.log"));
    std::string cipher = testsupport::read_file(dir.file("enc.age"));
    // Fed in small uneven pieces, as a download arrives.
    std::string out;
    AgeDecryptor d({mine.identity}, [&](const char* p, size_t n) { out.append(p, n); }, "enc.age");
    for (size_t pos = 0; pos < cipher.size(); pos += 4099) d.write(cipher.data() + pos, std::min<size_t>(4099, cipher.size() - pos));
    d.finish();
    EXPECT_TRUE(out == plain) << "size " << size;
  }
}

TEST(Age, WrongKeyTamperingAndTruncationAreOneClearError) {
  auto mine = generate_age_identity();
  auto stranger = generate_age_identity();
  std::string plain = random_text(150000, 9);
  std::string cipher = age_encrypt_string(plain, {mine.recipient});
  ASSERT_EQ(age_decrypt_string(cipher, {stranger.identity, mine.identity}, "x"), plain);

  auto error_of = [&](const std::string& bytes, const std::vector<std::string>& ids) -> std::string {
    try {
      age_decrypt_string(bytes, ids, "backups/b/b.tar.gz");
    } catch (const AgeError& e) {
      return e.what();
    }
    return "";
  };
  std::string wrong = error_of(cipher, {stranger.identity});
  EXPECT_NE(wrong.find("wrong decryption key"), std::string::npos) << wrong;
  EXPECT_NE(wrong.find("backups/b/b.tar.gz"), std::string::npos) << wrong;
  EXPECT_EQ(wrong.find(stranger.identity), std::string::npos) << "an error must not print key material";
  EXPECT_EQ(wrong.find('\n'), std::string::npos);

  EXPECT_NE(error_of(cipher, {}).find("no identity"), std::string::npos);
  // One flipped bit in the payload, in the header's stanza, in the MAC; a cut in every region.
  std::string header_end = "\n--- ";
  size_t mac_at = cipher.find(header_end) + header_end.size();
  for (size_t at : {cipher.size() - 1, cipher.size() / 2, mac_at + 3, size_t(40)}) {
    std::string bad = cipher;
    bad[at] ^= 1;
    EXPECT_NE(error_of(bad, {mine.identity}), "") << "flip at " << at;
  }
  for (size_t cut : {cipher.size() - 1, cipher.size() - 65536 - 16, mac_at + 50, size_t(30)}) {
    std::string e = error_of(cipher.substr(0, cut), {mine.identity});
    EXPECT_NE(e, "") << "cut at " << cut;
  }
  // Dropping the last full chunk leaves a stream whose new last chunk was sealed as "not last".
  std::string two = age_encrypt_string(random_text(65536 * 2, 3), {mine.recipient});
  EXPECT_NE(error_of(two.substr(0, two.size() - 65536 - 16), {mine.identity}).find("truncated"), std::string::npos);
  EXPECT_NE(error_of("hello, not age at all", {mine.identity}).find("not an age file"), std::string::npos);
}

TEST(Age, DecryptingStreamsInBoundedMemory) {
  // 64 MiB of ciphertext passes through a decryptor whose buffer never holds more than a few chunks.
  auto mine = generate_age_identity();
  size_t total = 64u << 20, produced = 0;
  Source source = age_encrypt(
      [&](char* buffer, size_t capacity) {
        size_t n = std::min(capacity, total - produced);
        std::memset(buffer, 'x', n);
        produced += n;
        return n;
      },
      {mine.recipient});
  size_t out = 0, max_piece = 0;
  AgeDecryptor d({mine.identity}, [&](const char*, size_t n) { out += n; max_piece = std::max(max_piece, n); }, "big");
  std::string buffer(1 << 20, '\0');
  while (size_t n = source(buffer.data(), buffer.size())) d.write(buffer.data(), n);
  d.finish();
  EXPECT_EQ(out, total);
  EXPECT_LE(max_piece, 65536u);
}

TEST(Ed25519, SignsAndVerifiesAndRejectsChanges) {
  auto keys = generate_signing_key();
  EXPECT_EQ(signing_public_key_of(keys.private_key), keys.public_key);
  std::string sig = sign_ed25519(keys.private_key, "manifest bytes");
  EXPECT_TRUE(verify_ed25519(keys.public_key, "manifest bytes", sig));
  EXPECT_FALSE(verify_ed25519(keys.public_key, "manifest byteS", sig));
  EXPECT_FALSE(verify_ed25519(generate_signing_key().public_key, "manifest bytes", sig));
  EXPECT_THROW(verify_ed25519("ed25519:short", "m", sig), AgeError);
}

TEST(Ed25519, MatchesOpenSslCommandLine) {
  // The openssl CLI (an independent signer over the same RFC 8032 keys) checks our signature.
  testsupport::TempDir dir;
  ASSERT_EQ(sh("openssl genpkey -algorithm ed25519 -out " + dir.file("k.pem"), dir), 0);
  ASSERT_EQ(sh("openssl pkey -in " + dir.file("k.pem") + " -outform DER -out " + dir.file("k.der"), dir), 0);
  std::string der = testsupport::read_file(dir.file("k.der"));
  ASSERT_GE(der.size(), 32u);
  std::string seed = der.substr(der.size() - 32);  // PKCS#8 ends with the 32-byte seed
  std::string private_key = "ed25519-private:" + base64_encode(seed, true);
  write_file(dir.file("msg"), "signed manifest");
  std::string sig;
  ASSERT_TRUE(base64_decode(sign_ed25519(private_key, "signed manifest"), true, sig));
  write_file(dir.file("sig"), sig);
  ASSERT_EQ(sh("openssl pkey -in " + dir.file("k.pem") + " -pubout -out " + dir.file("pub.pem"), dir), 0);
  EXPECT_EQ(sh("openssl pkeyutl -verify -pubin -inkey " + dir.file("pub.pem") + " -rawin -in " + dir.file("msg") +
                   " -sigfile " + dir.file("sig"),
               dir),
            0)
      << testsupport::read_file(dir.file("sh.log"));
}

}  // namespace
