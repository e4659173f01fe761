// Kernel family "dot": one row of weights · one row of activations, for every weight format
// the engine executes directly, and the matmul kernels that compute many such dots at once
// (register tiles of rows × tokens). Two kinds:
//  - float: f32 activations against f32 / f16 / bf16 weights: lane j of eight accumulates
//    acc[j] = fma(x[i], w[i], acc[j]) for i ≡ j (mod 8) over the whole multiples of 8, in order;
//    then reduce8, then the leftover elements s = fma(x[i], w[i], s) in order;
//  - integer: activations first quantized to BlockA8 (int8, one f32 scale per 32), then, per
//    block of 32, eight lanes of exact int32 sums of 4 products each, and
//    acc[k] = fma(d_w·d_a, lane[k], acc[k]) over blocks, then reduce8; Q4_0, Q4_1, Q5_0, Q5_1, whose
//    kernels read four rows interleaved, take two lanes instead — lane h sums the 16 products
//    of elements i with bit 2 of i equal to h — and end with acc[0] + acc[1];
//  - integer over 256-element super-blocks (TQ1_0, TQ2_0): activations quantized to BlockA8K
//    (one f32 scale per 256, as the super-block's own); per super-block, eight lanes of exact
//    int32 sums over all its sub-blocks: lane k adds, for each sub-block j (elements
//    32j..32j+31), the sum of elements 32j+4k..32j+4k+3 (exact: |lane| < 2^24); then
//    acc[k] = fma(d·d_a, lane[k], acc[k]);
//  - Q4_K, whose kernels read four rows interleaved, on BlockA8K too, in two lanes: per
//    super-block, lane h sums over the sub-blocks j sc_j times the products of elements
//    32j + i with bit 2 of i equal to h (|lane| < 2^24), and its minimum term
//    min_h = Σ m_j·bsum_j over j = 4h..4h+3 (exact in int32); then
//    acc[h] = fma(−(dmin·d_a), min_h, fma(d·d_a, lane_h, acc[h])), and acc[0] + acc[1];
//  - Q6_K, whose own error is small enough for one activation scale per 256 to show (SmolLM2's
//    KLD 0.0102 → 0.0123), keeps BlockA8 and runs interleaved too: per sub-block j, lane h sums
//    sc·(q − 32)·a over the elements 32j + i with bit 2 of i equal to h (sc the int8 scale of
//    the element's 16), and inner[h] = fma(d_a, lane_h, inner[h]) with activation block 8b + j;
//    per super-block acc[h] = fma(d, inner[h], acc[h]); then acc[0] + acc[1].
// The spec (reference.cpp) fixes every float operation, so every ISA and every tile shape returns
// the same bits for an output element: results do not depend on the ISA, the tiling or the
// thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "formats/ggml/blocks.h"
#include "qforge/cpu.h"

namespace qforge::kernels {

// A row of activations quantized per 32: x ≈ d·q, d = amax/127, q = round-half-even(x·127/amax)
// clamped to −127..127 (never −128, so products fit maddubs' int16 pairs; NaN → 0);
// s = d·Σq for the formats with a minimum.
struct BlockA8 {
  float d, s;
  int8_t qs[32];
};
static_assert(sizeof(BlockA8) == 40, "BlockA8 is 40 bytes");

// A row of activations quantized per 256 for the super-block formats: BlockA8's rule with one
// d = amax/127 over the 256 values, and bsums[j] = Σ q over elements 32j..32j+31 (Q4_K's
// minimums and the ternary formats' offset need them). One scale per super-block keeps every
// sub-block's sum in int32 until the super-block's end; 288 bytes, 32-aligned, keep every qs aligned.
struct alignas(32) BlockA8K {
  int8_t qs[256];
  int16_t bsums[8];
  float d;
  uint8_t pad[12];
};
static_assert(sizeof(BlockA8K) == 288, "BlockA8K is 288 bytes");

// Q4_0, Q4_1 (and Q5_0, Q5_1 below) as their matmul kernels read them: four rows interleaved per block of 32,
// repacked once at load (interleaved4.h), so one 8-byte load brings the four rows' scales and
// each 32-byte half of qs holds 8 bytes of every row, row r in the 4-byte lanes r and r + 4:
// byte j of row r's GGUF qs sits at qs[32·(j/8) + 16·((j/4)%2) + 4r + j%4]. After maddubs and
// madd, lane l holds row l%4's elements i with bit 2 of i equal to l/4 — the spec's two halves.
struct BlockQ4_0x4 {
  uint16_t d[4];
  uint8_t qs[64];
};
static_assert(sizeof(BlockQ4_0x4) == 72, "four Q4_0 blocks");
struct BlockQ4_1x4 {
  uint16_t d[4], m[4];
  uint8_t qs[64];
};
static_assert(sizeof(BlockQ4_1x4) == 80, "four Q4_1 blocks");
// Q5_0 and Q5_1 the same, their fifth bits rearranged to the nibbles' places: bit p of qh[g]
// is the fifth bit of the code at byte p of unpacked register g (x86_avx2_interleaved.cpp).
struct BlockQ5_0x4 {
  uint16_t d[4];
  uint32_t qh[4];
  uint8_t qs[64];
};
static_assert(sizeof(BlockQ5_0x4) == 88, "four Q5_0 blocks");
struct BlockQ5_1x4 {
  uint16_t d[4], m[4];
  uint32_t qh[4];
  uint8_t qs[64];
};
static_assert(sizeof(BlockQ5_1x4) == 96, "four Q5_1 blocks");
// Q8_0 the same way, its bytes already the registers the others unpack to: element i of row r
// sits at qs[32·g + p] with g = interleaved_register(i) and p = interleaved_pos(r, i % 16) % 32
// (interleaved4.h), so lane l of the byte dot product again holds row l%4's half l/4.
struct BlockQ8_0x4 {
  uint16_t d[4];
  int8_t qs[128];
};
static_assert(sizeof(BlockQ8_0x4) == 136, "four Q8_0 blocks");

// One token's BlockA8 as the interleaved kernels read it (built by expand_a8x4): qs[g] meets
// unpacked weight register g (low nibbles of qs half 0, high nibbles of half 0, low and high of
// half 1), the 4 codes of each row lane repeated for the four rows; sums[l] = Σ of the block's
// codes i with bit 2 of i equal to l/4 (the offset of Q4_0's codes: Σ (q − 8)·a = Σ q·a − 8·sums);
// quarters[2h + u] = Σ of the codes i with bit 2 of i equal to h and i/16 = u (Q6_K's offset,
// whose scales change at i = 16).
struct alignas(32) BlockA8x4 {
  int8_t qs[4][32];
  int32_t sums[8];
  float d, s;
  int16_t quarters[4];
  uint8_t pad[16];
};
static_assert(sizeof(BlockA8x4) == 192, "BlockA8x4 is 192 bytes");

// Q4_K as its matmul kernels read it: four rows interleaved per super-block, the size of four
// GGUF blocks (interleaved4.h repacks them at load). Sub-block j's codes sit in
// qs[64j..64j+63] as BlockQ4_0x4's qs hold a block's (element p and p + 16 of the sub-block in
// the low and high nibble of byte interleaved_pos(r, p)). The 6-bit scales and minimums are
// split into a low-nibble plane (32 bytes) and a top-two-bits plane (16 bytes) so that one pass
// unpacks the 32 of each, in two orders:
//   scale order, entry 4j + r: sc of row r, sub-block j (the four rows of a sub-block side by side);
//   minimum order, entry 16u + 2l + p (u, p < 2, l < 8): m of row l%4, sub-block 4(l/4) + 2u + p
//     (entries 0–15 and 16–31 widened to int16 are madd's partners of BlockA8Kx4's bsums[0], [1]).
// With sc_e and m_e the entries e of the two orders: scales_low[e] = (sc_e & 15) | (m_e & 15) << 4;
// byte b of scales_high holds entry b in its low nibble and b + 16 in its high one, each nibble
// (sc_e >> 4) | (m_e >> 4) << 2.
struct BlockQ4_Kx4 {
  uint16_t d[4], dmin[4];
  uint8_t scales_low[32];
  uint8_t scales_high[16];
  uint8_t qs[512];
};
static_assert(sizeof(BlockQ4_Kx4) == 4 * sizeof(ggml::BlockQ4_K), "four Q4_K blocks");

// Q6_K the same way, four rows interleaved per super-block, the size of four GGUF blocks: sub-block
// j's 6-bit codes q (x = d·sc·(q − 32)) as a low-nibble plane laid out as BlockQ4_0x4's qs and a
// top-bits plane in which byte p holds, in bits 2g..2g+1, the top bits of the code that unpacked
// register g holds at byte p; scales[j][r] and scales[j][4 + r] are row r's int8 scales of the
// sub-block's elements 0–15 and 16–31.
struct BlockQ6_Kx4 {
  uint16_t d[4];
  int8_t scales[8][8];
  struct Sub {
    uint8_t ql[64];
    uint8_t qh[32];
  } sub[8];
};
static_assert(sizeof(BlockQ6_Kx4) == 4 * sizeof(ggml::BlockQ6_K), "four Q6_K blocks");

// One token's BlockA8K as the Q4_K kernels read it (built by expand_a8kx4): qs[j] is sub-block
// j's 32 codes as BlockA8x4 lays a block out; bsums[u][2l + p] = bsum of sub-block
// 4(l/4) + 2u + p, so madd by the minimum order's entries gives lane l row l%4's half of Σ m·bsum.
struct alignas(32) BlockA8Kx4 {
  int8_t qs[8][4][32];
  int16_t bsums[2][16];
  float d;
  uint8_t pad[28];
};
static_assert(sizeof(BlockA8Kx4) == 1120, "BlockA8Kx4 is 1120 bytes");

// One matmul over interleaved groups: y[t·ldy + r] = W[r] · x_t for r < rows, t < n, where w is
// the first group of the range and x token 0's activations. Rows past `rows` in the last group
// are padding and are not written.
template <class Act>
struct GroupMatmulArgs {
  const uint8_t* w;
  int64_t rows;
  const Act* x;
  int64_t n;
  int64_t k;
  float* y;
  int64_t ldy;
};
// k/32 blocks of BlockQ8_0x4 … BlockQ5_1x4, or k/256 BlockQ6_Kx4, per group of four rows;
// k/32 BlockA8x4 per token.
using Matmul4Args = GroupMatmulArgs<BlockA8x4>;
using Matmul4Kernel = void (*)(const Matmul4Args&);
// Q4_K's: k/256 BlockQ4_Kx4 per group, k/256 BlockA8Kx4 per token.
using MatmulK4Args = GroupMatmulArgs<BlockA8Kx4>;
using MatmulK4Kernel = void (*)(const MatmulK4Args&);

// One matmul over a range of weight rows: y[t·ldy + r] = W[r] · x_t for r < rows, t < n.
// x is token 0's activations: k floats per token, k/256 BlockA8K for TQ1_0 and TQ2_0; rows are
// row_bytes apart.
struct MatmulArgs {
  const uint8_t* w;
  size_t row_bytes;
  int64_t rows;
  const void* x;
  int64_t n;
  int64_t k;
  float* y;
  int64_t ldy;
};
using MatmulKernel = void (*)(const MatmulArgs&);

struct MatmulKernels {
  MatmulKernel f32, f16, bf16;
  MatmulKernel tq1_0, tq2_0;
  Matmul4Kernel q8_0x4, q4_0x4, q4_1x4, q5_0x4, q5_1x4, q6_kx4;  // these formats and Q4_K run interleaved only
  MatmulK4Kernel q4_kx4;
};

struct DotKernels {
  Isa isa;
  // n floats of x quantized into n/32 blocks (n a multiple of 32)
  void (*quantize_a8)(const float* x, BlockA8* out, int64_t n);
  // n floats of x quantized into n/256 blocks (n a multiple of 256)
  void (*quantize_a8k)(const float* x, BlockA8K* out, int64_t n);
  // nb blocks of one token laid out for the interleaved kernels (interleaved4.h's
  // expand_a8x4 is the spec)
  void (*expand_a8x4)(const BlockA8* a, BlockA8x4* out, int64_t nb);
  // nsb super-blocks of one token laid out for the Q4_K kernels (interleaved4.h's expand_a8kx4)
  void (*expand_a8kx4)(const BlockA8K* a, BlockA8Kx4* out, int64_t nsb);
  // integer dots over nb blocks of 32
  float (*q8_0)(const ggml::BlockQ8_0* w, const BlockA8* a, int64_t nb);
  float (*q4_0)(const ggml::BlockQ4_0* w, const BlockA8* a, int64_t nb);
  float (*q4_1)(const ggml::BlockQ4_1* w, const BlockA8* a, int64_t nb);
  float (*q5_0)(const ggml::BlockQ5_0* w, const BlockA8* a, int64_t nb);
  float (*q5_1)(const ggml::BlockQ5_1* w, const BlockA8* a, int64_t nb);
  // integer dots over nsb super-blocks of 256
  float (*q4_k)(const ggml::BlockQ4_K* w, const BlockA8K* a, int64_t nsb);  // the spec in every table
  float (*q6_k)(const ggml::BlockQ6_K* w, const BlockA8* a, int64_t nsb);  // 8·nsb blocks of 32; the spec in every table
  float (*tq1_0)(const ggml::BlockTQ1_0* w, const BlockA8K* a, int64_t nsb);
  float (*tq2_0)(const ggml::BlockTQ2_0* w, const BlockA8K* a, int64_t nsb);
  // float dots over n elements (any n)
  float (*f32)(const float* x, const float* w, int64_t n);
  float (*f16)(const float* x, const uint16_t* w, int64_t n);
  float (*bf16)(const float* x, const uint16_t* w, int64_t n);
  // the same dots, for many rows and tokens at once
  MatmulKernels matmul;
};

// The table for active_isa(), chosen on first use.
const DotKernels& dot_kernels();
// The table of one ISA, or nullopt when this CPU (or build) lacks it; for tests and benches.
std::optional<DotKernels> dot_kernels_for(Isa isa);

DotKernels dot_kernels_scalar();
DotKernels dot_kernels_avx2();
DotKernels dot_kernels_avx_vnni();      // AVX-VNNI: the block formats' integer tiles on VEX vpdpbusd
DotKernels dot_kernels_avx512_vnni();  // AVX-512 with VNNI: the block formats' integer tiles on vpdpbusd
// Fills the super-block entries of an AVX2 table (their own translation unit).
void add_superblock_kernels_avx2(DotKernels& k);
// Fills the interleaved matmul entries of an AVX2 table (their own translation unit).
void add_interleaved_kernels_avx2(DotKernels& k);

// The spec's final reduction of eight lane accumulators, shared by every ISA:
// ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7)).
inline float reduce8(const float a[8]) { return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7])); }

}  // namespace qforge::kernels
