// libFuzzer target for the tarball reader: any input must end in entries or one ArchiveError, never a crash,
// leak or out-of-bounds access (built with -fsanitize=fuzzer,address by run_fuzz.sh).
#include <cstdint>
#include <cstring>

#include "archive/tarball_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  size_t offset = 0;
  // Uneven chunks exercise the refill paths of the inflater.
  arca::archive::ByteSource source = [&](char* buffer, size_t capacity) {
    size_t chunk = 1 + (offset * 7919 + size) % 4093;
    size_t n = std::min({capacity, size - offset, chunk});
    std::memcpy(buffer, data + offset, n);
    offset += n;
    return n;
  };
  try {
    arca::archive::TarballReader reader(source, {1 << 20, 4096});
    int entries = 0;
    while (auto entry = reader.next()) {
      if (++entries % 2 == 0) reader.read_content();  // and leave every other one unread
    }
  } catch (const arca::archive::ArchiveError&) {
  }
  return 0;
}
