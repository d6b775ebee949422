#pragma once
// Content-defined chunking as restic does it (github.com/restic/chunker): a Rabin fingerprint over a 64-byte
// window with the repository's random irreducible polynomial of degree 53; a cut where the low 20 bits of the
// digest are zero, chunks 512 KiB to 8 MiB, about 1 MiB on average. The same cuts as restic's are what lets
// data written by one tool deduplicate against the other's.
#include <array>
#include <cstddef>
#include <cstdint>

namespace arca::repo {

using Pol = uint64_t;  // a polynomial over GF(2), bit i the coefficient of x^i

int pol_deg(Pol p);
Pol pol_mod(Pol x, Pol d);
bool pol_irreducible(Pol p);
// A random irreducible polynomial of degree 53, as `restic init` picks one.
Pol random_polynomial();

constexpr size_t kMinChunk = 512 * 1024, kMaxChunk = 8 * 1024 * 1024;

struct ChunkerTables {
  explicit ChunkerTables(Pol pol);
  Pol pol;
  int shift;
  std::array<uint64_t, 256> out{}, mod{};
};

// Whether a cut follows a byte depends only on the 64 bytes ending at it: the digest of a full window is the
// window's bytes as a polynomial mod pol, whatever came before (restic's rolling update keeps it so, and no cut
// is tested before a chunk's first 64 bytes). That lets the scan run several independent stretches of the input
// at once: the rolling update is one long chain of dependent table lookups, so one stretch at a time leaves the
// CPU mostly waiting (it was a fifth of a backup's CPU), while four chains interleave.
class Chunker {
 public:
  explicit Chunker(const ChunkerTables& tables) : t_(tables) { reset(); }
  // Call at the start of each file (restic chunks each file on its own).
  void reset() { count_ = 0; }
  // Feeds `size` bytes; returns the count that completes the current chunk (the cut is after them and the
  // chunker is reset), or npos when all of them belong to the current chunk.
  static constexpr size_t npos = static_cast<size_t>(-1);
  size_t next_split(const uint8_t* data, size_t size);

 private:
  // The first i in [from, to) whose window p[i-63..i] ends a chunk, or npos; p[from-64] must be readable.
  // In blocks of kScanBlock, each with four lanes (scan_lanes): the lanes past a cut are wasted work, up to
  // three quarters of what is scanned at once (a whole 1 MiB read at once wasted about a quarter of the
  // chunker's time; 64 KiB blocks scan 25 % faster).
  size_t scan(const uint8_t* p, size_t from, size_t to) const;
  size_t scan_lanes(const uint8_t* p, size_t from, size_t to) const;
  static constexpr size_t kScanBlock = 64 * 1024;
  size_t scan_one(const uint8_t* p, size_t from, size_t to) const;

  const ChunkerTables& t_;
  size_t count_ = 0;                  // bytes of the current chunk fed so far
  std::array<uint8_t, 64> tail_{};    // the last 64 of them (the windows of the next call's first bytes)
};

}  // namespace arca::repo
