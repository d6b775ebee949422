// Uploads (and downloads) one large object to s3rver through the aws driver, from a generator, and reports
// throughput and this process's peak RSS. The streaming put holds at most two 8 MiB parts in flight, so the upload
// may raise the peak RSS by at most kUploadGrowthMiB whatever the size; the exit status checks that, and refuses a
// size too small for a buffering upload to break the bound (the smoke test runs 128 MiB).
// Usage: s3_upload_bench [MiB, default 1024]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "store/location.h"
#include "tests/support/object_servers.h"

namespace {

constexpr long kUploadGrowthMiB = 40;  // two 8 MiB parts in flight, their request buffers, the HTTP stack

long peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace arca::store;
  uint64_t size = (argc > 1 ? std::stoull(argv[1]) : 1024) << 20;
  if (size < uint64_t(2 * kUploadGrowthMiB) << 20) {
    std::fprintf(stderr, "s3_upload_bench: %llu MiB is too small to check the %ld MiB bound; use at least %ld\n",
                 static_cast<unsigned long long>(size >> 20), kUploadGrowthMiB, 2 * kUploadGrowthMiB);
    return 2;
  }
  setenv("ARCA_SOURCE_DIR", ARCA_SOURCE_DIR, 0);  // where node_modules is, when not run by ctest
  testsupport::TempDir dir;
  auto server = testsupport::start_s3rver(dir);
  testsupport::create_bucket(server, "bench");
  std::ofstream(dir.file("credentials")) << "[default]\naws_access_key_id=S3RVER\naws_secret_access_key=S3RVER\n";
  auto store =
      open_store({"aws", "bench", {{"s3Url", server.url}, {"s3ForcePathStyle", "true"}}, dir.file("credentials")});
  long rss_before = peak_rss_mib();

  // Compressed-looking bytes without holding them: a cheap xorshift stream.
  uint64_t produced = 0, state = 88172645463325252ull;
  auto start = std::chrono::steady_clock::now();
  store->put("backups/big/big.tar.gz", [&](char* buffer, size_t capacity) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(capacity, size - produced)) & ~size_t(7);
    if (n == 0 && produced < size) n = static_cast<size_t>(size - produced);
    for (size_t i = 0; i + 8 <= n; i += 8) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      std::memcpy(buffer + i, &state, 8);
    }
    produced += n;
    return n;
  });
  double up = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  long rss_after_put = peak_rss_mib();

  uint64_t received = 0;
  start = std::chrono::steady_clock::now();
  store->get("backups/big/big.tar.gz", [&](const char*, size_t n) { received += n; });
  double down = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::printf("s3 upload: %.0f MiB in %.2f s = %.0f MB/s (multipart, 8 MiB parts, two in flight)\n", size / 1048576.0,
              up, size / 1e6 / up);
  std::printf("s3 download: %.0f MiB in %.2f s = %.0f MB/s\n", received / 1048576.0, down, received / 1e6 / down);
  long growth = rss_after_put - rss_before;
  std::printf("peak RSS: %ld MiB before, %ld MiB after the upload (+%ld MiB, limit +%ld MiB for a %.0f MiB object), "
              "%ld MiB at the end\n",
              rss_before, rss_after_put, growth, kUploadGrowthMiB, size / 1048576.0, peak_rss_mib());
  if (received != size) std::fprintf(stderr, "s3_upload_bench: downloaded %llu bytes of %llu\n",
                                     static_cast<unsigned long long>(received), static_cast<unsigned long long>(size));
  if (growth > kUploadGrowthMiB) std::fprintf(stderr, "s3_upload_bench: the upload was not streamed\n");
  return received == size && growth <= kUploadGrowthMiB ? 0 : 1;
}
