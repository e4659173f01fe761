// The integer path's repacked block (grid_kernels.h): the writer, and the reader the spec uses.
// Both address each plane by element index, independently of the SIMD unpacking.
#include <array>
#include <cmath>
#include <cstring>

#include "kernels/grid/grid_kernels.h"
#include "qforge/codebook.h"

namespace qforge::kernels {
namespace {

struct Planes {
  int nibbles = -1, pairs = -1, bit = -1;  // byte offsets in the block, −1 when absent
  int pair_shift = 0, bit_shift = 0;       // where their bits go in the code
};

Planes planes_of(int bits) {
  Planes p;
  int at = 0;
  if (bits >= 4) p.nibbles = at, at += 16;
  if (bits % 4 >= 2) p.pairs = at, at += 8, p.pair_shift = bits >= 4 ? 4 : 0;
  if (bits % 2 == 1) p.bit = at, p.bit_shift = bits - 1;
  return p;
}

}  // namespace

void pack_int_grid_block(const uint8_t* codes, int bits, uint8_t* out) {
  std::memset(out, 0, int_grid_block_bytes(bits));
  if (bits == 8) {
    for (int i = 0; i < 32; ++i) out[i] = static_cast<uint8_t>(codes[i] - 128);  // two's complement of c − 128
    return;
  }
  const Planes p = planes_of(bits);
  for (int i = 0; i < 32; ++i) {
    const unsigned c = codes[i];
    if (p.nibbles >= 0) out[p.nibbles + i % 16] |= static_cast<uint8_t>((c & 0xF) << (i < 16 ? 0 : 4));
    if (p.pairs >= 0) out[p.pairs + i % 8] |= static_cast<uint8_t>(((c >> p.pair_shift) & 3) << (2 * (i / 8)));
    if (p.bit >= 0) out[p.bit + i / 8] |= static_cast<uint8_t>(((c >> p.bit_shift) & 1) << (i % 8));
  }
}

int int_grid_weight(const uint8_t* block, int bits, int i) {
  if (bits == 8) return static_cast<int8_t>(block[i]);
  const Planes p = planes_of(bits);
  int c = 0;
  if (p.nibbles >= 0) c |= (block[p.nibbles + i % 16] >> (i < 16 ? 0 : 4)) & 0xF;
  if (p.pairs >= 0) c |= ((block[p.pairs + i % 8] >> (2 * (i / 8))) & 3) << p.pair_shift;
  if (p.bit >= 0) c |= ((block[p.bit + i / 8] >> (i % 8)) & 1) << p.bit_shift;
  return c;
}

const int8_t* nf4_int8_levels() {
  static const std::array<int8_t, 16> levels = [] {
    std::array<int8_t, 16> l{};
    for (size_t c = 0; c < 16; ++c)
      l[c] = static_cast<int8_t>(std::nearbyint(static_cast<double>(nf4_values()[c]) * kLevelDenominator));
    return l;
  }();
  return levels.data();
}

}  // namespace qforge::kernels
