#include "kernels/dot/interleaved4.h"

#include <cstring>

namespace qforge::kernels {
namespace {

// Copies one GGUF block of row r into its place in the group block, or back (to_group false).
// A fifth bit i of row r goes to bit interleaved_pos(r, i mod 16) mod 32 of the qh word of the
// register that holds element i.
template <class Block, class Group>
void move_block(Block& row, Group& group, int r, bool to_group) {
  if constexpr (sizeof(row.qs) == 32) {  // Q8_0: element i to its register's place, in runs of 4 bytes
    if (to_group) group.d[r] = row.d;
    else row.d = group.d[r];
    for (int i = 0; i < 32; i += 4) {
      int8_t* in_group = &group.qs[32 * interleaved_register(i) + interleaved_pos(r, i % 16) % 32];
      if (to_group) std::memcpy(in_group, &row.qs[i], 4);
      else std::memcpy(&row.qs[i], in_group, 4);
    }
  } else if (to_group) {
    group.d[r] = row.d;
    if constexpr (requires { row.m; }) group.m[r] = row.m;
    for (int j = 0; j < 16; j += 4) std::memcpy(&group.qs[interleaved_pos(r, j)], &row.qs[j], 4);  // runs of 4 bytes
    if constexpr (requires { row.qh; }) {
      uint32_t bits;
      std::memcpy(&bits, row.qh, 4);
      for (uint32_t& word : group.qh) word &= ~(0x000F000Fu << (4 * r));  // row r's bytes: 4r..4r+3, 16+4r..16+4r+3
      for (int i = 0; i < 32; ++i) group.qh[interleaved_register(i)] |= ((bits >> i) & 1u) << (interleaved_pos(r, i % 16) % 32);
    }
  } else {
    row.d = group.d[r];
    if constexpr (requires { row.m; }) row.m = group.m[r];
    for (int j = 0; j < 16; j += 4) std::memcpy(&row.qs[j], &group.qs[interleaved_pos(r, j)], 4);
    if constexpr (requires { row.qh; }) {
      uint32_t bits = 0;
      for (int i = 0; i < 32; ++i) bits |= ((group.qh[interleaved_register(i)] >> (interleaved_pos(r, i % 16) % 32)) & 1u) << i;
      std::memcpy(row.qh, &bits, 4);
    }
  }
}

// Q4_K's GGUF block of row r into its group block (zeroed before the first row), or back.
void move_q4_k(ggml::BlockQ4_K& row, BlockQ4_Kx4& group, int r, bool to_group) {
  if (to_group) {
    group.d[r] = row.d, group.dmin[r] = row.dmin;
  } else {
    row.d = group.d[r], row.dmin = group.dmin[r];
    std::memset(row.scales, 0, sizeof(row.scales));
  }
  for (int j = 0; j < 8; ++j) {
    const int es = q4_kx4_scale_entry(r, j), em = q4_kx4_min_entry(r, j);
    uint8_t& high_s = group.scales_high[es % 16];
    uint8_t& high_m = group.scales_high[em % 16];
    const int shift_s = 4 * (es / 16), shift_m = 4 * (em / 16) + 2;
    if (to_group) {
      uint8_t sc, m;
      ggml::unpack_scale_min(j, row.scales, &sc, &m);
      group.scales_low[es] = static_cast<uint8_t>(group.scales_low[es] | (sc & 15));
      group.scales_low[em] = static_cast<uint8_t>(group.scales_low[em] | (m & 15) << 4);
      high_s = static_cast<uint8_t>(high_s | (sc >> 4) << shift_s);
      high_m = static_cast<uint8_t>(high_m | (m >> 4) << shift_m);
    } else {
      const auto sc = static_cast<uint8_t>((group.scales_low[es] & 15) | ((high_s >> shift_s) & 3) << 4);
      const auto m = static_cast<uint8_t>((group.scales_low[em] >> 4) | ((high_m >> shift_m) & 3) << 4);
      ggml::pack_scale_min(j, sc, m, row.scales);
    }
    // element i of the sub-block: nibble j % 2 of the GGUF qs[32(j/2) + i]; in the group, the
    // low (i < 16) or high nibble of byte interleaved_pos(r, i % 16) of the sub-block's 64
    uint8_t* gguf = row.qs + 32 * (j / 2);
    uint8_t* grouped = group.qs + 64 * j;
    const int shift = 4 * (j % 2);
    if (to_group) {
      for (int p = 0; p < 16; ++p)
        grouped[interleaved_pos(r, p)] = static_cast<uint8_t>(((gguf[p] >> shift) & 15) | ((gguf[p + 16] >> shift) & 15) << 4);
    } else {
      for (int p = 0; p < 16; ++p) {
        const uint8_t b = grouped[interleaved_pos(r, p)];
        if (j % 2 == 0) gguf[p] = b & 15, gguf[p + 16] = b >> 4;
        else gguf[p] = static_cast<uint8_t>(gguf[p] | (b & 15) << 4), gguf[p + 16] = static_cast<uint8_t>(gguf[p + 16] | (b >> 4) << 4);
      }
    }
  }
}

// Q6_K's GGUF block of row r into its group block (zeroed before the first row), or back.
// Element i of sub-block j = 4h + g: low bits nibble g/2 of ql[64h + 32(g%2) + i], top bits
// 2g..2g+1 of qh[32h + i]; scale scales[2j + i/16]. Elements p and p + 16 share group byte
// interleaved_pos(r, p) (low and high nibble; registers 2(p/8) and 2(p/8) + 1 of the top bits).
void move_q6_k(ggml::BlockQ6_K& row, BlockQ6_Kx4& group, int r, bool to_group) {
  if (to_group) {
    group.d[r] = row.d;
  } else {
    row.d = group.d[r];
    std::memset(row.ql, 0, sizeof(row.ql));
    std::memset(row.qh, 0, sizeof(row.qh));
  }
  for (int j = 0; j < 8; ++j) {
    const int h = j / 4, g = j % 4;
    for (int u = 0; u < 2; ++u) {
      if (to_group) group.scales[j][4 * u + r] = row.scales[2 * j + u];
      else row.scales[2 * j + u] = group.scales[j][4 * u + r];
    }
    uint8_t* ql = row.ql + 64 * h + 32 * (g % 2);
    uint8_t* qh = row.qh + 32 * h;
    const int ql_shift = 4 * (g / 2), qh_shift = 2 * g;
    BlockQ6_Kx4::Sub& sub = group.sub[j];
    for (int p = 0; p < 16; ++p) {
      const int pos = interleaved_pos(r, p), top_shift = 4 * (p / 8);  // 2·register of element p
      if (to_group) {
        sub.ql[pos] = static_cast<uint8_t>(((ql[p] >> ql_shift) & 15) | ((ql[p + 16] >> ql_shift) & 15) << 4);
        sub.qh[pos % 32] = static_cast<uint8_t>(sub.qh[pos % 32] | ((qh[p] >> qh_shift) & 3) << top_shift |
                                                ((qh[p + 16] >> qh_shift) & 3) << (top_shift + 2));
      } else {
        const uint8_t low = sub.ql[pos], top = sub.qh[pos % 32];
        ql[p] = static_cast<uint8_t>(ql[p] | (low & 15) << ql_shift);
        ql[p + 16] = static_cast<uint8_t>(ql[p + 16] | (low >> 4) << ql_shift);
        qh[p] = static_cast<uint8_t>(qh[p] | ((top >> top_shift) & 3) << qh_shift);
        qh[p + 16] = static_cast<uint8_t>(qh[p + 16] | ((top >> (top_shift + 2)) & 3) << qh_shift);
      }
    }
  }
}

// `nrows` GGUF rows into groups of four, group by group, writing in order and reading four
// rows side by side (a padding row is a zero block); kElems elements per block, Move copies
// one row's block into the group's or back.
template <class Block, class Group, int kElems, auto Move>
void interleave(const uint8_t* rows, int64_t nrows, int64_t k, uint8_t* out) {
  const int64_t nb = k / kElems, groups = (nrows + 3) / 4;
  for (int64_t gi = 0; gi < groups; ++gi)
    for (int64_t b = 0; b < nb; ++b) {
      Group group{};
      for (int r = 0; r < 4; ++r) {
        Block row{};
        if (4 * gi + r < nrows) std::memcpy(&row, rows + static_cast<size_t>((4 * gi + r) * nb + b) * sizeof(Block), sizeof(Block));
        Move(row, group, r, true);
      }
      std::memcpy(out + static_cast<size_t>(gi * nb + b) * sizeof(Group), &group, sizeof(Group));
    }
}

template <class Block, class Group, int kElems, auto Move>
void extract(const uint8_t* groups, int64_t r, int64_t k, uint8_t* out) {
  const int64_t nb = k / kElems;
  for (int64_t b = 0; b < nb; ++b) {
    Block row;
    Group group;
    std::memcpy(&group, groups + static_cast<size_t>((r / 4) * nb + b) * sizeof(Group), sizeof(Group));
    Move(row, group, static_cast<int>(r % 4), false);
    std::memcpy(out + static_cast<size_t>(b) * sizeof(Block), &row, sizeof(Block));
  }
}

}  // namespace

bool runs_interleaved(GgmlType t) {
  return t == GgmlType::Q8_0 || t == GgmlType::Q4_0 || t == GgmlType::Q4_1 || t == GgmlType::Q5_0 || t == GgmlType::Q5_1 ||
         t == GgmlType::Q4_K || t == GgmlType::Q6_K;
}

Matmul4Kernel interleaved_kernel(const MatmulKernels& mm, GgmlType t) {
  return t == GgmlType::Q8_0   ? mm.q8_0x4
         : t == GgmlType::Q4_0 ? mm.q4_0x4
         : t == GgmlType::Q4_1 ? mm.q4_1x4
         : t == GgmlType::Q5_0 ? mm.q5_0x4
         : t == GgmlType::Q5_1 ? mm.q5_1x4
                               : mm.q6_kx4;
}

size_t interleaved_group_bytes(GgmlType t, int64_t k) {
  if (t == GgmlType::Q4_K) return static_cast<size_t>(k / 256) * sizeof(BlockQ4_Kx4);
  if (t == GgmlType::Q6_K) return static_cast<size_t>(k / 256) * sizeof(BlockQ6_Kx4);
  const size_t group = t == GgmlType::Q8_0   ? sizeof(BlockQ8_0x4)
                       : t == GgmlType::Q4_0 ? sizeof(BlockQ4_0x4)
                       : t == GgmlType::Q4_1 ? sizeof(BlockQ4_1x4)
                       : t == GgmlType::Q5_0 ? sizeof(BlockQ5_0x4)
                                             : sizeof(BlockQ5_1x4);
  return static_cast<size_t>(k / 32) * group;
}

void interleave_rows(GgmlType t, const uint8_t* rows, int64_t nrows, int64_t k, uint8_t* out) {
  if (t == GgmlType::Q4_K) interleave<ggml::BlockQ4_K, BlockQ4_Kx4, 256, move_q4_k>(rows, nrows, k, out);
  else if (t == GgmlType::Q6_K) interleave<ggml::BlockQ6_K, BlockQ6_Kx4, 256, move_q6_k>(rows, nrows, k, out);
  else if (t == GgmlType::Q8_0) interleave<ggml::BlockQ8_0, BlockQ8_0x4, 32, move_block<ggml::BlockQ8_0, BlockQ8_0x4>>(rows, nrows, k, out);
  else if (t == GgmlType::Q4_0) interleave<ggml::BlockQ4_0, BlockQ4_0x4, 32, move_block<ggml::BlockQ4_0, BlockQ4_0x4>>(rows, nrows, k, out);
  else if (t == GgmlType::Q4_1) interleave<ggml::BlockQ4_1, BlockQ4_1x4, 32, move_block<ggml::BlockQ4_1, BlockQ4_1x4>>(rows, nrows, k, out);
  else if (t == GgmlType::Q5_0) interleave<ggml::BlockQ5_0, BlockQ5_0x4, 32, move_block<ggml::BlockQ5_0, BlockQ5_0x4>>(rows, nrows, k, out);
  else interleave<ggml::BlockQ5_1, BlockQ5_1x4, 32, move_block<ggml::BlockQ5_1, BlockQ5_1x4>>(rows, nrows, k, out);
}

void extract_row(GgmlType t, const uint8_t* groups, int64_t r, int64_t k, uint8_t* out) {
  if (t == GgmlType::Q4_K) extract<ggml::BlockQ4_K, BlockQ4_Kx4, 256, move_q4_k>(groups, r, k, out);
  else if (t == GgmlType::Q6_K) extract<ggml::BlockQ6_K, BlockQ6_Kx4, 256, move_q6_k>(groups, r, k, out);
  else if (t == GgmlType::Q8_0) extract<ggml::BlockQ8_0, BlockQ8_0x4, 32, move_block<ggml::BlockQ8_0, BlockQ8_0x4>>(groups, r, k, out);
  else if (t == GgmlType::Q4_0) extract<ggml::BlockQ4_0, BlockQ4_0x4, 32, move_block<ggml::BlockQ4_0, BlockQ4_0x4>>(groups, r, k, out);
  else if (t == GgmlType::Q4_1) extract<ggml::BlockQ4_1, BlockQ4_1x4, 32, move_block<ggml::BlockQ4_1, BlockQ4_1x4>>(groups, r, k, out);
  else if (t == GgmlType::Q5_0) extract<ggml::BlockQ5_0, BlockQ5_0x4, 32, move_block<ggml::BlockQ5_0, BlockQ5_0x4>>(groups, r, k, out);
  else extract<ggml::BlockQ5_1, BlockQ5_1x4, 32, move_block<ggml::BlockQ5_1, BlockQ5_1x4>>(groups, r, k, out);
}

void expand_a8x4(const BlockA8* a, BlockA8x4* out, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b) {
    BlockA8x4& x = out[b];
    x = BlockA8x4{};
    // element i = j + 16·hi (j the qs byte, hi the nibble) meets register 2·(j/8) + hi
    for (int i = 0; i < 32; ++i) {
      for (int r = 0; r < 4; ++r) x.qs[interleaved_register(i)][interleaved_pos(r, i % 16) % 32] = a[b].qs[i];
    }
    int32_t half[2] = {0, 0}, quarter[4] = {0, 0, 0, 0};
    for (int i = 0; i < 32; ++i) half[(i >> 2) & 1] += a[b].qs[i], quarter[2 * ((i >> 2) & 1) + i / 16] += a[b].qs[i];
    for (int l = 0; l < 8; ++l) x.sums[l] = half[l / 4];
    for (int q = 0; q < 4; ++q) x.quarters[q] = static_cast<int16_t>(quarter[q]);
    x.d = a[b].d;
    x.s = a[b].s;
  }
}

void expand_a8kx4(const BlockA8K* a, BlockA8Kx4* out, int64_t nsb) {
  for (int64_t sb = 0; sb < nsb; ++sb) {
    BlockA8Kx4& x = out[sb];
    x = BlockA8Kx4{};
    for (int j = 0; j < 8; ++j)
      for (int i = 0; i < 32; ++i)
        for (int r = 0; r < 4; ++r) x.qs[j][interleaved_register(i)][interleaved_pos(r, i % 16) % 32] = a[sb].qs[32 * j + i];
    for (int u = 0; u < 2; ++u)
      for (int l = 0; l < 8; ++l)
        for (int p = 0; p < 2; ++p) x.bsums[u][2 * l + p] = a[sb].bsums[4 * (l / 4) + 2 * u + p];
    x.d = a[sb].d;
  }
}

}  // namespace qforge::kernels
