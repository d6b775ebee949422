#include "repo/chunker.h"

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

void Chunker::reset() {
  window_.fill(0);
  // restic slides a single 1 byte in before each chunk.
  window_[0] = 1;
  digest_ = (t_.out[0] << 8 | 1) ^ t_.mod[t_.out[0] >> t_.shift];
  wpos_ = 1;
  count_ = 0;
  pre_ = kMinChunk - kWindow;  // the first bytes of a chunk cannot end it: skip hashing them
}

size_t Chunker::next_split(const uint8_t* data, size_t size) {
  size_t idx = 0;
  if (pre_ > 0) {
    if (pre_ >= size) {
      pre_ -= size;
      count_ += size;
      return npos;
    }
    idx = pre_;
    count_ += pre_;
    pre_ = 0;
  }
  // Locals, not members: `data` is a byte pointer that may alias anything, which would otherwise force the
  // compiler to reload the state on every byte.
  uint64_t digest = digest_;
  size_t wpos = wpos_, add = count_;
  const int shift = t_.shift;
  const uint64_t* out = t_.out.data();
  const uint64_t* mod = t_.mod.data();
  uint8_t window[kWindow];
  std::memcpy(window, window_.data(), kWindow);
  for (size_t i = idx; i < size; ++i) {
    uint8_t b = data[i];
    digest ^= out[window[wpos]];
    window[wpos] = b;
    wpos = (wpos + 1) & (kWindow - 1);
    digest = (digest << 8 | b) ^ mod[digest >> shift];
    ++add;
    if (((digest & kSplitMask) == 0 || add >= kMaxChunk) && add >= kMinChunk) {
      reset();
      return i + 1;
    }
  }
  std::memcpy(window_.data(), window, kWindow);
  digest_ = digest;
  wpos_ = wpos;
  count_ = add;
  return npos;
}

}  // namespace arca::repo
