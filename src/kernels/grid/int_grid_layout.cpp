// The integer path's four-row record (grid_kernels.h): the writer, and the reader the spec uses.
// Both address each plane by row and element index, independently of the SIMD unpacking.
#include <array>
#include <cmath>
#include <cstring>

#include "kernels/dot/interleaved4.h"
#include "kernels/grid/grid_kernels.h"
#include "qforge/codebook.h"

namespace qforge::kernels {
namespace {

struct Planes {
  int nibbles = -1, pairs = -1, bit = -1;  // byte offsets in the record, −1 when absent
  int pair_shift = 0, bit_shift = 0;       // where their bits go in the code
};

Planes planes_of(int bits) {
  Planes p;
  int at = 0;
  if (bits >= 4) p.nibbles = at, at += 64;
  if (bits % 4 >= 2) p.pairs = at, at += 32, p.pair_shift = bits >= 4 ? 4 : 0;
  if (bits % 2 == 1) p.bit = at, p.bit_shift = bits - 1;
  return p;
}

// Where element i of row r sits: its register K and its byte p in that register.
struct Place {
  int reg, pos;
};
Place place(int r, int i) { return {interleaved_register(i), interleaved_pos(r, i % 16) % 32}; }

}  // namespace

void pack_int_grid_record(const uint8_t* codes, int bits, uint8_t* out) {
  std::memset(out, 0, int_grid_record_bytes(bits));
  const Planes p = planes_of(bits);
  for (int r = 0; r < 4; ++r)
    for (int i = 0; i < 32; ++i) {
      const unsigned c = codes[32 * r + i];
      const Place at = place(r, i);
      if (bits == 8) {
        out[32 * at.reg + at.pos] = static_cast<uint8_t>(c - 128);  // two's complement of c − 128
        continue;
      }
      if (p.nibbles >= 0) out[p.nibbles + interleaved_pos(r, i % 16)] |= static_cast<uint8_t>((c & 0xF) << (i < 16 ? 0 : 4));
      if (p.pairs >= 0) out[p.pairs + at.pos] |= static_cast<uint8_t>(((c >> p.pair_shift) & 3) << (2 * at.reg));
      if (p.bit >= 0) out[p.bit + 4 * at.reg + at.pos / 8] |= static_cast<uint8_t>(((c >> p.bit_shift) & 1) << (at.pos % 8));
    }
}

int int_grid_weight(const uint8_t* record, int bits, int r, int i) {
  const Place at = place(r, i);
  if (bits == 8) return static_cast<int8_t>(record[32 * at.reg + at.pos]);
  const Planes p = planes_of(bits);
  int c = 0;
  if (p.nibbles >= 0) c |= (record[p.nibbles + interleaved_pos(r, i % 16)] >> (i < 16 ? 0 : 4)) & 0xF;
  if (p.pairs >= 0) c |= ((record[p.pairs + at.pos] >> (2 * at.reg)) & 3) << p.pair_shift;
  if (p.bit >= 0) c |= ((record[p.bit + 4 * at.reg + at.pos / 8] >> (at.pos % 8)) & 1) << p.bit_shift;
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
