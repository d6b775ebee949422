// age encryption and decryption MB/s of src/crypt against Debian's reference `age` CLI on the same data, and
// SHA-256 (the manifest's digests): what protecting a backup costs per stored byte.
//   age_bench [MiB]   (default 256)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include "crypt/age.h"
#include "crypt/primitives.h"
#include "tests/support/process.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

int main(int argc, char** argv) {
  size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
  std::string data(mib << 20, '\0');
  std::mt19937_64 rng(1);
  for (size_t i = 0; i + 8 <= data.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(data.data() + i, &v, 8);
  }
  auto keys = arca::crypt::generate_age_identity();

  // Streamed into a reused buffer, as an upload does (a growing output string would measure page faults).
  size_t pos = 0, produced = 0;
  auto start = Clock::now();
  arca::crypt::Source encrypted = arca::crypt::age_encrypt(
      [&](char* buffer, size_t capacity) {
        size_t n = std::min(capacity, data.size() - pos);
        std::memcpy(buffer, data.data() + pos, n);
        pos += n;
        return n;
      },
      {keys.recipient});
  std::string buffer(1 << 20, '\0');
  while (size_t n = encrypted(buffer.data(), buffer.size())) produced += n;
  double enc = seconds_since(start);
  std::string cipher = arca::crypt::age_encrypt_string(data, {keys.recipient});
  if (produced != cipher.size()) return 1;
  start = Clock::now();
  size_t out = 0;
  arca::crypt::AgeDecryptor d({keys.identity}, [&](const char*, size_t n) { out += n; }, "bench");
  for (size_t pos = 0; pos < cipher.size(); pos += 1 << 20) d.write(cipher.data() + pos, std::min<size_t>(1 << 20, cipher.size() - pos));
  d.finish();
  double dec = seconds_since(start);
  if (out != data.size()) {
    std::fprintf(stderr, "decrypted %zu bytes, expected %zu\n", out, data.size());
    return 1;
  }
  start = Clock::now();
  arca::crypt::Sha256 h;
  h.update(cipher.data(), cipher.size());
  h.finish();
  double sha = seconds_since(start);

  testsupport::TempDir dir;
  std::ofstream(dir.file("plain"), std::ios::binary) << data;
  std::ofstream(dir.file("key")) << keys.identity << "\n";
  std::string enc_cmd = "age -r " + keys.recipient + " -o " + dir.file("c.age") + " " + dir.file("plain");
  start = Clock::now();
  if (std::system(enc_cmd.c_str()) != 0) return 1;
  double ref_enc = seconds_since(start);
  std::string dec_cmd = "age -d -i " + dir.file("key") + " -o /dev/null " + dir.file("c.age");
  start = Clock::now();
  if (std::system(dec_cmd.c_str()) != 0) return 1;
  double ref_dec = seconds_since(start);

  double m = static_cast<double>(mib);
  std::printf("age encrypt: arca %.0f MB/s, reference age CLI %.0f MB/s (%zu MiB, file to file for the CLI)\n",
              m / enc, m / ref_enc, mib);
  std::printf("age decrypt: arca %.0f MB/s, reference age CLI %.0f MB/s\n", m / dec, m / ref_dec);
  std::printf("SHA-256 (manifest digests): %.0f MB/s\n", m / sha);
  return 0;
}
