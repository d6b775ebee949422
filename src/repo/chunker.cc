#include "repo/chunker.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "repo/crypto.h"

namespace arca::repo {
namespace {

constexpr uint64_t kSplitMask = (1u << 20) - 1;
constexpr size_t kWindow = 64;

// x·y mod m, all over GF(2); x and y already reduced (degree < deg(m) ≤ 62).
Pol mulmod(Pol x, Pol y, Pol m) {
  int d = pol_deg(m);
  Pol result = 0;
  for (int i = pol_deg(y); i >= 0; --i) {
    result <<= 1;
    if (result >> d & 1) result ^= m;
    if (y >> i & 1) result ^= x;
  }
  return result;
}

Pol gcd(Pol a, Pol b) {
  while (b != 0) {
    Pol r = pol_mod(a, b);
    a = b, b = r;
  }
  return a;
}

Pol append_byte(Pol hash, uint8_t b, Pol pol) { return pol_mod(hash << 8 | b, pol); }

}  // namespace

int pol_deg(Pol p) { return p == 0 ? -1 : 63 - __builtin_clzll(p); }

Pol pol_mod(Pol x, Pol d) {
  if (d == 0) throw std::invalid_argument("polynomial division by zero");
  int dd = pol_deg(d);
  for (int dx = pol_deg(x); dx >= dd; dx = pol_deg(x)) x ^= d << (dx - dd);
  return x;
}

// Ben-Or: p of degree n is irreducible iff gcd(p, x^(2^i) − x mod p) = 1 for every i ≤ n/2.
bool pol_irreducible(Pol p) {
  int n = pol_deg(p);
  if (n < 1) return false;
  Pol h = 2;  // x
  for (int i = 1; i <= n / 2; ++i) {
    h = mulmod(h, h, p);
    if (gcd(p, h ^ 2) != 1) return false;
  }
  return true;
}

Pol random_polynomial() {
  for (int attempt = 0; attempt < 1000000; ++attempt) {
    Pol f;
    random_bytes(&f, sizeof f);
    f &= (Pol(1) << 54) - 1;    // degree at most 53 ...
    f |= Pol(1) << 53 | 1;      // ... exactly 53, and not divisible by x
    if (pol_irreducible(f)) return f;
  }
  throw std::runtime_error("no irreducible polynomial found");
}

ChunkerTables::ChunkerTables(Pol p) : pol(p), shift(pol_deg(p) - 8) {
  if (pol_deg(p) < 9 || pol_deg(p) > 53) throw std::invalid_argument("chunker polynomial must have degree 9..53");
  // out[b]: the hash of b followed by 63 zero bytes, which XORed in removes b leaving the window.
  for (int b = 0; b < 256; ++b) {
    Pol h = append_byte(0, static_cast<uint8_t>(b), pol);
    for (size_t i = 0; i < kWindow - 1; ++i) h = append_byte(h, 0, pol);
    out[b] = h;
  }
  // mod[b]: (b·x^k mod pol) | b·x^k, so one XOR both cancels the top byte and reduces.
  int k = pol_deg(pol);
  for (int b = 0; b < 256; ++b) mod[b] = pol_mod(Pol(b) << k, pol) | Pol(b) << k;
}

size_t Chunker::scan_one(const uint8_t* p, size_t from, size_t to) const {
  const int shift = t_.shift;
  const uint64_t* out = t_.out.data();
  const uint64_t* mod = t_.mod.data();
  // Starts from a window of zeros (digest 0, and removing a zero changes nothing): 64 bytes in, it holds
  // p[from-63..from].
  uint64_t d = 0;
  for (size_t j = from - 63; j <= from; ++j) d = (d << 8 | p[j]) ^ mod[d >> shift];
  if ((d & kSplitMask) == 0) return from;
  for (size_t i = from + 1; i < to; ++i) {
    d ^= out[p[i - 64]];
    d = (d << 8 | p[i]) ^ mod[d >> shift];
    if ((d & kSplitMask) == 0) return i;
  }
  return npos;
}

size_t Chunker::scan(const uint8_t* p, size_t from, size_t to) const {
  for (size_t at = from; at < to; at += kScanBlock) {
    size_t cut = scan_lanes(p, at, std::min(to, at + kScanBlock));
    if (cut != npos) return cut;
  }
  return npos;
}

size_t Chunker::scan_lanes(const uint8_t* p, size_t from, size_t to) const {
  constexpr size_t kLanes = 4;
  if (to - from < 4096) return scan_one(p, from, to);
  const int shift = t_.shift;
  const uint64_t* out = t_.out.data();
  const uint64_t* mod = t_.mod.data();
  // Lane k scans [s[k], s[k] + len) (the last one a little less); each lane's first cut is kept, and the
  // first lane with one wins, since lanes are in input order.
  const size_t len = (to - from + kLanes - 1) / kLanes;
  const uint8_t* q[kLanes];
  uint64_t d[kLanes];
  size_t found[kLanes];
  for (size_t k = 0; k < kLanes; ++k) {
    size_t start = from + k * len;
    q[k] = p + start;
    found[k] = npos;
    d[k] = 0;
    for (size_t j = start - 63; j < start; ++j) d[k] = (d[k] << 8 | p[j]) ^ mod[d[k] >> shift];
  }
  const size_t common = to - (from + (kLanes - 1) * len);  // the last lane's length: every lane has this many
  // Locals, not the arrays: the byte loads may alias anything, which would force every digest through memory.
  const uint8_t *q0 = q[0], *q1 = q[1], *q2 = q[2], *q3 = q[3];
  uint64_t d0 = d[0], d1 = d[1], d2 = d[2], d3 = d[3];
  // The first byte of each lane pushes out a zero of the starting window: no removal.
  d0 = (d0 << 8 | q0[0]) ^ mod[d0 >> shift];
  d1 = (d1 << 8 | q1[0]) ^ mod[d1 >> shift];
  d2 = (d2 << 8 | q2[0]) ^ mod[d2 >> shift];
  d3 = (d3 << 8 | q3[0]) ^ mod[d3 >> shift];
  for (size_t i = 0;;) {
    if (((d0 & kSplitMask) == 0) | ((d1 & kSplitMask) == 0) | ((d2 & kSplitMask) == 0) | ((d3 & kSplitMask) == 0)) {
      const uint64_t now[kLanes] = {d0, d1, d2, d3};
      for (size_t k = 0; k < kLanes; ++k)
        if (found[k] == npos && (now[k] & kSplitMask) == 0) found[k] = static_cast<size_t>(q[k] - p) + i;
      if (found[0] != npos) return found[0];
    }
    if (++i == common) break;
    d0 ^= out[q0[i - 64]];
    d1 ^= out[q1[i - 64]];
    d2 ^= out[q2[i - 64]];
    d3 ^= out[q3[i - 64]];
    d0 = (d0 << 8 | q0[i]) ^ mod[d0 >> shift];
    d1 = (d1 << 8 | q1[i]) ^ mod[d1 >> shift];
    d2 = (d2 << 8 | q2[i]) ^ mod[d2 >> shift];
    d3 = (d3 << 8 | q3[i]) ^ mod[d3 >> shift];
  }
  d[0] = d0, d[1] = d1, d[2] = d2, d[3] = d3;
  // The rest of the longer lanes, each on its own (a few bytes), in order.
  for (size_t k = 0; k < kLanes; ++k) {
    if (found[k] != npos) return found[k];
    size_t start = static_cast<size_t>(q[k] - p), end = std::min(to, start + len);
    for (size_t i = start + common; i < end; ++i) {
      d[k] ^= out[p[i - 64]];
      d[k] = (d[k] << 8 | p[i]) ^ mod[d[k] >> shift];
      if ((d[k] & kSplitMask) == 0) return i;
    }
  }
  return npos;
}

size_t Chunker::next_split(const uint8_t* data, size_t size) {
  // Index in `data` of the first byte a chunk may end with (its kMinChunk-th), and the bound kMaxChunk sets.
  size_t first = count_ >= kMinChunk - 1 ? 0 : kMinChunk - 1 - count_;
  size_t limit = kMaxChunk - count_;  // the byte at limit - 1 ends the chunk at the latest
  size_t last = std::min(size, limit);
  size_t cut = npos;
  if (first < last) {
    // The first 64 bytes' windows reach back into earlier calls: scanned from a copy joined to the tail.
    if (first < kWindow) {
      uint8_t joined[2 * kWindow];
      std::memcpy(joined, tail_.data(), kWindow);
      size_t head = std::min(last, kWindow);
      std::memcpy(joined + kWindow, data, head);
      size_t i = scan_one(joined, kWindow + first, kWindow + head);
      if (i != npos) cut = i - kWindow;
    }
    if (cut == npos && last > kWindow) cut = scan(data, std::max(first, kWindow), last);
  }
  if (cut == npos && last == limit) cut = limit - 1;  // kMaxChunk reached
  if (cut != npos) {
    reset();
    return cut + 1;
  }
  if (size >= kWindow) {
    std::memcpy(tail_.data(), data + size - kWindow, kWindow);
  } else {
    std::memmove(tail_.data(), tail_.data() + size, kWindow - size);
    std::memcpy(tail_.data() + kWindow - size, data, size);
  }
  count_ += size;
  return npos;
}

}  // namespace arca::repo
