// Unit tests of the format primitives; compatibility with the real restic is in repo_restic_test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <set>

#include "repo/chunker.h"
#include "repo/crypto.h"
#include "repo/format.h"
#include "repo/goquote.h"

using namespace arca::repo;

TEST(RepoCrypto, EncryptDecryptRoundTripAndTamperDetection) {
  Key key = Key::random();
  std::string sealed = encrypt(key, "hello restic");
  ASSERT_EQ(sealed.size(), 12 + kCryptoOverhead);
  std::string plain;
  ASSERT_TRUE(decrypt(key, sealed, plain));
  EXPECT_EQ(plain, "hello restic");
  sealed[20] ^= 1;
  EXPECT_FALSE(decrypt(key, sealed, plain));
  EXPECT_FALSE(decrypt(Key::random(), encrypt(key, "x"), plain));
}

// AES-256-CTR and Poly1305-AES computed from scratch with fresh OpenSSL contexts, for one sealed message.
std::string open_from_scratch(const Key& key, std::string_view sealed, bool& mac_ok) {
  auto* p = reinterpret_cast<const unsigned char*>(sealed.data());
  size_t size = sealed.size() - kCryptoOverhead;
  unsigned char one_time[32];
  std::memcpy(one_time, key.mac_r.data(), 16);
  one_time[3] &= 15, one_time[7] &= 15, one_time[11] &= 15, one_time[15] &= 15;
  one_time[4] &= 252, one_time[8] &= 252, one_time[12] &= 252;
  int n = 0;
  EVP_CIPHER_CTX* ecb = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ecb, EVP_aes_128_ecb(), nullptr, key.mac_k.data(), nullptr);
  EVP_CIPHER_CTX_set_padding(ecb, 0);
  EVP_EncryptUpdate(ecb, one_time + 16, &n, p, 16);
  EVP_CIPHER_CTX_free(ecb);
  EVP_MAC* poly = EVP_MAC_fetch(nullptr, "POLY1305", nullptr);
  EVP_MAC_CTX* mac = EVP_MAC_CTX_new(poly);
  unsigned char tag[16];
  size_t len = 0;
  EVP_MAC_init(mac, one_time, 32, nullptr);
  EVP_MAC_update(mac, p + 16, size);
  EVP_MAC_final(mac, tag, &len, sizeof tag);
  EVP_MAC_CTX_free(mac);
  EVP_MAC_free(poly);
  mac_ok = len == 16 && std::memcmp(tag, p + 16 + size, 16) == 0;
  std::string plain(size, '\0');
  EVP_CIPHER_CTX* ctr = EVP_CIPHER_CTX_new();
  EVP_DecryptInit_ex(ctr, EVP_aes_256_ctr(), nullptr, key.encrypt.data(), p);
  EVP_DecryptUpdate(ctr, reinterpret_cast<unsigned char*>(plain.data()), &n, p + 16, static_cast<int>(size));
  EVP_CIPHER_CTX_free(ctr);
  return plain;
}

// The sealing code keeps its cipher contexts keyed between calls: messages of odd lengths (a CTR stream left
// mid-block) and alternating keys must each still be what fresh contexts compute.
TEST(RepoCrypto, SealingWithKeptContextsMatchesFreshOnes) {
  Key a = Key::random(), b = Key::random();
  std::mt19937 rng(7);
  std::set<std::string> ivs;
  for (size_t size : {0, 1, 15, 17, 2001, 100003, 33, 4096}) {
    for (const Key* key : {&a, &b, &a}) {
      std::string plain(size, '\0');
      for (auto& c : plain) c = static_cast<char>(rng());
      std::string sealed = encrypt(*key, plain);
      std::string buf(16 + size + 16, '\0');
      std::memcpy(buf.data() + 16, plain.data(), size);
      seal_in_place(*key, reinterpret_cast<uint8_t*>(buf.data()), size);
      for (const std::string& s : {sealed, buf}) {
        bool mac_ok = false;
        EXPECT_EQ(open_from_scratch(*key, s, mac_ok), plain) << size;
        EXPECT_TRUE(mac_ok) << size;
        std::string opened;
        EXPECT_TRUE(decrypt(*key, s, opened));
        EXPECT_EQ(opened, plain);
        EXPECT_TRUE(ivs.insert(s.substr(0, 16)).second) << "an IV came twice";
      }
    }
  }
}

// IVs are handed out from a per-thread buffer: a forked child must not seal with the ones its parent will use.
TEST(RepoCrypto, AForkedChildGetsOtherIvsThanItsParent) {
  Key key = Key::random();
  encrypt(key, "fills this thread's buffer");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    std::string ivs;
    for (int i = 0; i < 8; ++i) ivs += encrypt(key, "child").substr(0, 16);
    _exit(::write(fds[1], ivs.data(), ivs.size()) == static_cast<ssize_t>(ivs.size()) ? 0 : 1);
  }
  ::close(fds[1]);
  std::string child(8 * 16, '\0');
  size_t got = 0;
  while (got < child.size()) {
    ssize_t n = ::read(fds[0], child.data() + got, child.size() - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_EQ(got, child.size());
  std::set<std::string> parent;
  for (int i = 0; i < 8; ++i) parent.insert(encrypt(key, "parent").substr(0, 16));
  for (size_t i = 0; i < child.size(); i += 16) EXPECT_EQ(parent.count(child.substr(i, 16)), 0u);
}

// RFC 7914's scrypt test vector ("password", "NaCl", N=1024, r=8, p=16): the first 64 bytes split as restic does.
TEST(RepoCrypto, ScryptMatchesRfc7914) {
  Key k = derive_key("password", "NaCl", 1024, 8, 16);
  Id first;
  std::memcpy(first.bytes.data(), k.encrypt.data(), 32);
  EXPECT_EQ(first.hex(), "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162");
  EXPECT_EQ(k.mac_k[0], 0x2e);  // byte 32 of the vector
}

TEST(RepoCrypto, Base64AndIds) {
  EXPECT_EQ(base64_encode("restic"), "cmVzdGlj");
  EXPECT_EQ(base64_decode("cmVzdGk="), "resti");
  EXPECT_EQ(sha256("").hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_THROW(Id::parse("abc"), std::invalid_argument);
}

TEST(RepoChunker, PolynomialsAndIrreducibility) {
  // restic/chunker's test polynomial is irreducible; x^2+1 = (x+1)^2 is not.
  EXPECT_TRUE(pol_irreducible(0x3DA3358B4DC173));
  EXPECT_FALSE(pol_irreducible(0x5));
  EXPECT_EQ(pol_deg(0x3DA3358B4DC173), 53);
  Pol p = random_polynomial();
  EXPECT_EQ(pol_deg(p), 53);
  EXPECT_TRUE(pol_irreducible(p));
}

// Chunk lengths a Chunker finds in `data` fed `step` bytes at a time, the last (unfinished) chunk included.
std::vector<size_t> fed_cuts(const ChunkerTables& tables, std::string_view data, size_t step) {
  Chunker c(tables);
  std::vector<size_t> out;
  size_t pos = 0, start = 0;
  while (pos < data.size()) {
    size_t n = std::min(step, data.size() - pos);
    size_t k = c.next_split(reinterpret_cast<const uint8_t*>(data.data()) + pos, n);
    pos += k == Chunker::npos ? n : k;
    if (k != Chunker::npos || pos == data.size()) {
      out.push_back(pos - start);
      start = pos;
    }
  }
  return out;
}

TEST(RepoChunker, CutsAreContentDefinedAndWithinBounds) {
  ChunkerTables tables(0x3DA3358B4DC173);
  std::mt19937_64 rng(7);
  std::string data(24 << 20, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  auto a = fed_cuts(tables, data, 1 << 20), b = fed_cuts(tables, data, 4093);
  EXPECT_EQ(a, b);  // independent of how the input is fed
  ASSERT_GE(a.size(), 8u);
  for (size_t i = 0; i + 1 < a.size(); ++i) {  // the last chunk is what is left
    EXPECT_GE(a[i], kMinChunk);
    EXPECT_LE(a[i], kMaxChunk);
  }
  // Inserting bytes at the front shifts the data: later cuts realign (deduplication survives inserts).
  auto shifted = fed_cuts(tables, "abc" + data, 1 << 20);
  size_t common = 0;
  std::set<size_t> ends_a, ends_s;
  size_t e = 0;
  for (size_t len : a) ends_a.insert(e += len);
  e = 0;
  for (size_t len : shifted) ends_s.insert((e += len) - 3);
  for (size_t x : ends_a) common += ends_s.count(x);
  EXPECT_GE(common, a.size() - 2);
}

// restic's chunker (github.com/restic/chunker, chunker.go) byte at a time: a rolling 64-byte window whose first
// byte is a 1, the first kMinChunk-64 bytes of a chunk not hashed. The interleaved scan must cut where it does.
std::vector<size_t> rolling_cuts(const ChunkerTables& t, std::string_view data) {
  std::vector<size_t> cuts;
  size_t pos = 0;
  while (pos < data.size()) {
    uint8_t window[64] = {1};
    uint64_t digest = (t.out[0] << 8 | 1) ^ t.mod[t.out[0] >> t.shift];
    size_t wpos = 1, count = std::min(kMinChunk - 64, data.size() - pos), end = data.size();
    for (size_t i = pos + count; i < data.size(); ++i) {
      uint8_t b = static_cast<uint8_t>(data[i]);
      digest ^= t.out[window[wpos]];
      window[wpos] = b;
      wpos = (wpos + 1) % 64;
      digest = (digest << 8 | b) ^ t.mod[digest >> t.shift];
      if (++count >= kMinChunk && ((digest & ((1u << 20) - 1)) == 0 || count >= kMaxChunk)) {
        end = i + 1;
        break;
      }
    }
    cuts.push_back(end - pos);
    pos = end;
  }
  return cuts;
}

TEST(RepoChunker, CutsWhereResticsRollingHashCuts) {
  ChunkerTables tables(0x3DA3358B4DC173);
  std::mt19937_64 rng(11);
  std::string data(40 << 20, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  std::fill(data.begin() + (20 << 20), data.begin() + (30 << 20), 'z');  // no cut: kMaxChunk ends the chunks
  auto expected = rolling_cuts(tables, data);
  ASSERT_GE(expected.size(), 15u);
  EXPECT_NE(std::find(expected.begin(), expected.end(), kMaxChunk), expected.end());
  for (size_t step : {size_t(1) << 20, size_t(8191), size_t(64), size_t(63), size_t(5000000)})
    EXPECT_EQ(fed_cuts(tables, data, step), expected) << "fed " << step << " bytes at a time";
}

TEST(RepoFormat, TimesRoundTripLikeGo) {
  EXPECT_EQ(format_time({1418222879, 912418701}), "2014-12-10T14:47:59.912418701Z");
  EXPECT_EQ(format_time({1418222879, 500000000}), "2014-12-10T14:47:59.5Z");
  EXPECT_EQ(format_time({1418222879, 0}), "2014-12-10T14:47:59Z");
  EXPECT_EQ(parse_time("2014-12-10T15:47:59.912418701+01:00"), (Time{1418222879, 912418701}));
  EXPECT_EQ(parse_time("2014-12-10T14:47:59Z"), (Time{1418222879, 0}));
  EXPECT_THROW(parse_time("yesterday"), std::invalid_argument);
}

TEST(RepoFormat, PackHeaderAndIndexRoundTrip) {
  std::vector<PackedBlob> blobs = {{sha256("a"), BlobType::Data, 0, 40, 0}, {sha256("b"), BlobType::Tree, 40, 60, 99}};
  std::string h = encode_pack_header(blobs);
  EXPECT_EQ(h.size(), 37u + 41u);
  auto back = decode_pack_header(h);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].offset, 40u);
  EXPECT_EQ(back[1].uncompressed_length, 99u);
  EXPECT_EQ(back[1].type, BlobType::Tree);
  EXPECT_THROW(decode_pack_header(h.substr(0, 50)), std::runtime_error);

  IndexFile idx;
  idx.packs.push_back({sha256("pack"), blobs});
  auto parsed = parse_index(index_json(idx));
  ASSERT_EQ(parsed.packs.size(), 1u);
  EXPECT_EQ(parsed.packs[0].blobs[1].uncompressed_length, 99u);
  EXPECT_EQ(parsed.packs[0].blobs[0].id, sha256("a"));
  EXPECT_EQ(decode_unpacked(encode_unpacked("{\"a\":1}", 2)), "{\"a\":1}");
  EXPECT_EQ(encode_unpacked("{}", 2)[0], 2);
}

// Found while writing repo_readers_fuzz (a hand-made input under its malloc limit): an index file of 17 bytes (0x02, then a zstd frame header claiming 768 GiB and an
// empty last block) made the reader allocate the claimed size. A size no frame of that length can produce is
// refused before anything is allocated; the most compressible data there is still decodes.
TEST(RepoFormat, AZstdFrameClaimingMoreThanItsBlocksCanHoldIsRefused) {
  const std::string bomb("\x02\x28\xb5\x2f\xfd\xe0\x00\x00\x00\x00\xc0\x00\x00\x00\x01\x00\x00", 17);
  try {
    decode_unpacked(bomb);
    FAIL() << "accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("is more than 16 compressed bytes can hold"));
  }
  EXPECT_THROW(zstd_decompress(zstd_compress("abc", 3), 0xF0000000u), std::runtime_error);  // an index's lie
  std::string zeros(8 << 20, '\0');  // restic's largest chunk, of the most compressible data
  EXPECT_EQ(zstd_decompress(zstd_compress(zeros, 3), zeros.size()), zeros);
  EXPECT_EQ(zstd_decompress(zstd_compress(zeros, 19), zeros.size()), zeros);
}

// Found by repo_readers_fuzz (corpus/regress-tree-float-mode): a tree node's "mode" of -388888889.8 was converted
// to an unsigned int, which is undefined behaviour. Integers out of range are refused by name.
TEST(RepoFormat, NumbersOutOfRangeAreRefused) {
  EXPECT_THROW(parse_tree(R"({"nodes":[{"name":"a","type":"dir","mode":-388888889.8}]})"), std::runtime_error);
  EXPECT_THROW(parse_tree(R"({"nodes":[{"name":"a","type":"dir","uid":-1}]})"), std::runtime_error);
  EXPECT_THROW(parse_tree(R"({"nodes":[{"name":"a","type":"dir","mode":4294967296}]})"), std::runtime_error);
  EXPECT_EQ(parse_tree(R"({"nodes":[{"name":"a","type":"dir","mode":2147484141}]})")[0].mode, 2147484141u);
}

TEST(RepoFormat, TreeJsonKeepsEveryField) {
  Node f;
  f.name = "a \"q\"\n";
  f.type = "file";
  f.mode = 0644;
  f.mtime = {100, 5};
  f.size = 3;
  f.links = 2;
  f.inode = 9;
  f.content = {sha256("abc")};
  f.xattrs = {{"user.x", std::string("\0\1", 2)}};
  Node l;
  l.name = "link";
  l.type = "symlink";
  l.mode = kModeSymlink | 0777;
  l.linktarget = "../../etc/passwd";
  auto nodes = parse_tree(tree_json({f, l}));
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].name, f.name);
  EXPECT_EQ(nodes[0].content, f.content);
  EXPECT_EQ(nodes[0].mtime, f.mtime);
  EXPECT_EQ(nodes[0].xattrs, f.xattrs);
  EXPECT_EQ(nodes[1].linktarget, l.linktarget);
  EXPECT_EQ(posix_mode(nodes[1].mode), 0777u);
  EXPECT_EQ(go_mode(S_IFDIR | 0755), kModeDir | 0755);
}

// Go's strconv.Quote, as restic 0.14 applies it to every name in a tree (the expected strings are Go's output).
TEST(RepoFormat, NamesAreGoQuotedAsResticDoes) {
  std::vector<std::pair<std::string, std::string>> cases = {
      {"plain.txt", "plain.txt"},
      {"caf\xe9-\xff.txt", "caf\\xe9-\\xff.txt"},
      {"a\"b\\c", "a\\\"b\\\\c"},
      {"\n\t\x01\x7f\a", "\\n\\t\\x01\\x7f\\a"},
      {"na\xc3\xafve-\xe6\x97\xa5", "na\xc3\xafve-\xe6\x97\xa5"},        // printable UTF-8 stays
      {"\xc2\xa0\xc2\x85\xe2\x80\xa8", "\\u00a0\\u0085\\u2028"},      // NBSP, C1 NEL, line separator
      {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},                            // an emoji is printable
      {"\xf3\xb0\x80\x80", "\\U000f0000"},                                   // private use, plane 15
      {"\xed\xa0\x80", "\\xed\\xa0\\x80"},                                 // a surrogate is invalid UTF-8
      {"\xc0\xaf", "\\xc0\\xaf"},                                             // overlong
  };
  for (const auto& [name, quoted] : cases) {
    EXPECT_EQ(go_quote_name(name), quoted);
    EXPECT_EQ(go_unquote_name(quoted), name);
  }
  EXPECT_EQ(go_unquote_name("\\101\\u00e9\\U0001F600"), "A\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_THROW(go_unquote_name("bad\\q"), std::invalid_argument);
  EXPECT_THROW(go_unquote_name("cut\\x4"), std::invalid_argument);
  EXPECT_THROW(go_unquote_name("\\ud800"), std::invalid_argument);
  // A tree carries the quoted form and reads back the original bytes.
  Node n;
  n.name = "caf\xe9\\";
  n.type = "file";
  std::string json = tree_json({n});
  EXPECT_NE(json.find("\"name\":\"caf\\\\xe9\\\\\\\\\""), std::string::npos) << json;
  EXPECT_EQ(parse_tree(json).at(0).name, n.name);
}
