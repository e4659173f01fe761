// k-quants: 256-element super-blocks with quantized sub-block scales. Dequantizers for
// Q2_K..Q6_K; quantizers for Q4_K and Q6_K that reproduce llama.cpp's *_ref routines
// (no importance matrix), operation order included, since the outputs are compared bit for bit.
#include <algorithm>
#include <utility>

#include "formats/ggml/blocks.h"
#include "formats/ggml/common.h"

namespace qforge::ggml {
namespace {

constexpr float kGroupMaxEps = 1e-15f;

// Sub-block j's effective scale d·sc and offset dmin·m (Q4_K and Q5_K).
std::pair<float, float> scale_and_min(int j, const uint8_t* scales, float d, float dmin) {
  uint8_t sc, m;
  unpack_scale_min(j, scales, &sc, &m);
  return {d * sc, dmin * m};
}

// Affine fit of x ≈ scale·L + min (min ≤ 0) on levels 0..nmax, minimising the weighted
// squared (or absolute) error over a small grid of candidate scales, each refined by least
// squares. Returns the scale; *neg_min receives −min.
float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float* neg_min, uint8_t* Laux,
                    float rmin, float rdelta, int nstep, bool use_mad) {
  float mn = x[0], mx = x[0];
  float sum_w = w[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    mn = std::min(mn, x[i]);
    mx = std::max(mx, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (mn > 0) mn = 0;
  if (mx == mn) {
    std::fill(L, L + n, uint8_t{0});
    *neg_min = -mn;
    return 0.0f;
  }
  float iscale = static_cast<float>(nmax) / (mx - mn);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = nearest_int(iscale * (x[i] - mn));
    L[i] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
    float diff = scale * L[i] + mn - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best_error += w[i] * diff;
  }
  if (nstep < 1) {
    *neg_min = -mn;
    return scale;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (mx - mn);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::max(0, std::min(nmax, nearest_int(iscale * (x[i] - mn))));
      Laux[i] = static_cast<uint8_t>(l);
      const auto fl = static_cast<float>(l);
      sum_l += w[i] * fl;
      sum_l2 += w[i] * fl * fl;
      sum_xl += w[i] * fl * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * Laux[i] + this_min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        cur_error += w[i] * diff;
      }
      if (cur_error < best_error) {
        std::copy(Laux, Laux + n, L);
        best_error = cur_error;
        scale = this_scale;
        mn = this_min;
      }
    }
  }
  *neg_min = -mn;
  return scale;
}

// Symmetric fit x ≈ scale·(L − nmax) weighted by x² (rmse_type 1 of the reference): start
// from the absmax grid, then try 18 nearby scales and keep the best least-squares fit.
float fit_scale_symmetric(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, int8_t{0});
    return 0.0f;
  }
  auto fit = [&](float iscale, bool store, float* sumlx, float* suml2) {
    *sumlx = 0;
    *suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::max(-nmax, std::min(nmax - 1, nearest_int(iscale * x[i])));
      if (store) L[i] = static_cast<int8_t>(l + nmax);
      const float w = x[i] * x[i];
      const auto fl = static_cast<float>(l);
      *sumlx += w * x[i] * fl;
      *suml2 += w * fl * fl;
    }
  };
  float sumlx, suml2;
  fit(-static_cast<float>(nmax) / max, true, &sumlx, &suml2);
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    const float iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
    fit(iscale, false, &sumlx, &suml2);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      fit(iscale, true, &sumlx, &suml2);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

}  // namespace

void quantize_q4_k(const float* x, std::span<uint8_t> dst, size_t n) {
  uint8_t L[QK_K], Laux[32];
  float weights[32], mins[QK_K / 32], scales[QK_K / 32];
  for (size_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 32; ++j) {
      float sum_x2 = 0;
      for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
      const float av_x = std::sqrt(sum_x2 / 32);
      for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
      scales[j] = fit_scale_min(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -1.0f, 0.1f, 20, false);
      max_scale = std::max(max_scale, scales[j]);
      max_min = std::max(max_min, mins[j]);
    }
    BlockQ4_K b{};
    const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    for (int j = 0; j < QK_K / 32; ++j) {
      const auto ls = static_cast<uint8_t>(std::min(63, nearest_int(inv_scale * scales[j]) & 0xFF));
      const auto lm = static_cast<uint8_t>(std::min(63, nearest_int(inv_min * mins[j]) & 0xFF));
      pack_scale_min(j, ls, lm, b.scales);
    }
    b.d = fp16(max_scale / 63.0f);
    b.dmin = fp16(max_min / 63.0f);
    // Codes are recomputed against the fp16-rounded super-block scales.
    for (int j = 0; j < QK_K / 32; ++j) {
      uint8_t sc, m;
      unpack_scale_min(j, b.scales, &sc, &m);
      const float d = fp32(b.d) * sc;
      if (d == 0.0f) continue;
      const float dm = fp32(b.dmin) * m;
      for (int ii = 0; ii < 32; ++ii)
        L[32 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(15, nearest_int((x[32 * j + ii] + dm) / d))));
    }
    for (int j = 0, q = 0; j < QK_K; j += 64, q += 32)
      for (int l = 0; l < 32; ++l) b.qs[q + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
    store_block(dst, i, b);
  }
}

void quantize_q6_k(const float* x, std::span<uint8_t> dst, size_t n) {
  int8_t L[QK_K];
  float scales[QK_K / 16];
  for (size_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < QK_K / 16; ++ib) {
      scales[ib] = fit_scale_symmetric(16, 32, x + 16 * ib, L + 16 * ib);
      if (std::fabs(scales[ib]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[ib]);
        max_scale = scales[ib];
      }
    }
    BlockQ6_K b{};
    if (max_abs_scale < kGroupMaxEps) {  // an all-zero block is all-zero bytes
      store_block(dst, i, b);
      continue;
    }
    const float iscale = -128.0f / max_scale;
    b.d = fp16(1 / iscale);
    for (int ib = 0; ib < QK_K / 16; ++ib)
      b.scales[ib] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[ib])));
    for (int j = 0; j < QK_K / 16; ++j) {
      const float d = fp32(b.d) * b.scales[j];
      if (d == 0.0f) continue;
      for (int ii = 0; ii < 16; ++ii)
        L[16 * j + ii] = static_cast<int8_t>(std::max(-32, std::min(31, nearest_int(x[16 * j + ii] / d))) + 32);
    }
    uint8_t* ql = b.ql;
    uint8_t* qh = b.qh;
    for (int j = 0; j < QK_K; j += 128, ql += 64, qh += 32)
      for (int l = 0; l < 32; ++l) {
        const int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
        ql[l] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
      }
    store_block(dst, i, b);
  }
}

void dequantize_q2_k(std::span<const uint8_t> src, float* y, size_t n) {
  for (size_t i = 0; i < n / QK_K; ++i) {
    const auto b = load_block<BlockQ2_K>(src, i);
    const float d = fp32(b.d), dmin = fp32(b.dmin);
    int is = 0;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* q = b.qs + 32 * half;
      for (int shift = 0; shift < 8; shift += 2)
        for (int part = 0; part < 2; ++part) {
          const uint8_t sc = b.scales[is++];
          const float dl = d * static_cast<float>(sc & 0xF), ml = dmin * static_cast<float>(sc >> 4);
          for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((q[l + 16 * part] >> shift) & 3) - ml;
        }
    }
  }
}

void dequantize_q3_k(std::span<const uint8_t> src, float* y, size_t n) {
  for (size_t i = 0; i < n / QK_K; ++i) {
    const auto b = load_block<BlockQ3_K>(src, i);
    const float d_all = fp32(b.d);
    // 16 six-bit scales: low 4 bits in scales[0..7] (two per byte), high 2 bits in scales[8..11].
    int8_t sc[16];
    for (int j = 0; j < 16; ++j) {
      const int lo = j < 8 ? (b.scales[j] & 0xF) : (b.scales[j - 8] >> 4);
      const int hi = (b.scales[8 + j % 4] >> (2 * (j / 4))) & 3;
      sc[j] = static_cast<int8_t>((lo | (hi << 4)) - 32);
    }
    int is = 0;
    uint8_t m = 1;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* q = b.qs + 32 * half;
      for (int shift = 0; shift < 8; shift += 2, m = static_cast<uint8_t>(m << 1))
        for (int part = 0; part < 2; ++part) {
          const float dl = d_all * static_cast<float>(sc[is++]);
          for (int l = 0; l < 16; ++l) {
            const int idx = l + 16 * part;
            const int v = ((q[idx] >> shift) & 3) - ((b.hmask[idx] & m) ? 0 : 4);
            *y++ = dl * static_cast<float>(v);
          }
        }
    }
  }
}

void dequantize_q4_k(std::span<const uint8_t> src, float* y, size_t n) {
  for (size_t i = 0; i < n / QK_K; ++i) {
    const auto b = load_block<BlockQ4_K>(src, i);
    const float d = fp32(b.d), dmin = fp32(b.dmin);
    for (int j = 0; j < QK_K / 64; ++j) {
      const auto [d1, m1] = scale_and_min(2 * j, b.scales, d, dmin);
      const auto [d2, m2] = scale_and_min(2 * j + 1, b.scales, d, dmin);
      const uint8_t* q = b.qs + 32 * j;
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

void dequantize_q5_k(std::span<const uint8_t> src, float* y, size_t n) {
  for (size_t i = 0; i < n / QK_K; ++i) {
    const auto b = load_block<BlockQ5_K>(src, i);
    const float d = fp32(b.d), dmin = fp32(b.dmin);
    for (int j = 0; j < QK_K / 64; ++j) {
      const auto [d1, m1] = scale_and_min(2 * j, b.scales, d, dmin);
      const auto [d2, m2] = scale_and_min(2 * j + 1, b.scales, d, dmin);
      const uint8_t* ql = b.qs + 32 * j;
      const auto u1 = static_cast<uint8_t>(1u << (2 * j)), u2 = static_cast<uint8_t>(2u << (2 * j));
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>((ql[l] & 0xF) + ((b.qh[l] & u1) ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>((ql[l] >> 4) + ((b.qh[l] & u2) ? 16 : 0)) - m2;
    }
  }
}

void dequantize_q6_k(std::span<const uint8_t> src, float* y, size_t n) {
  for (size_t i = 0; i < n / QK_K; ++i) {
    const auto b = load_block<BlockQ6_K>(src, i);
    const float d = fp32(b.d);
    for (int half = 0; half < 2; ++half, y += 128) {
      const uint8_t* ql = b.ql + 64 * half;
      const uint8_t* qh = b.qh + 32 * half;
      const int8_t* sc = b.scales + 8 * half;
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
        y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
        y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
        y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
      }
    }
  }
}

}  // namespace qforge::ggml
