// choose_qparams / quantize / dequantize for QScheme; the math is in docs/linear-quantization.md.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>

#include "qforge/codebook.h"
#include "qforge/error.h"
#include "qforge/quant.h"

namespace qforge {
namespace {

int normalize_axis(int axis, int rank) {
  const int a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw Error(ErrorCategory::InvalidArgument, "QScheme: per-channel axis " + std::to_string(axis) +
                                                    " is out of range for a rank-" + std::to_string(rank) + " tensor");
  return a;
}

void check_size(size_t n, const Shape& shape, const char* what) {
  if (static_cast<int64_t>(n) != shape_numel(shape))
    throw Error(ErrorCategory::InvalidArgument, std::string(what) + ": " + std::to_string(n) +
                                                    " elements for shape " + shape_to_string(shape));
}

void check_params(const QParams& p, const Shape& shape, const QScheme& scheme) {
  const Shape want = qparams_shape(shape, scheme);
  const size_t cells = static_cast<size_t>(shape_numel(want));
  if (p.shape != want || p.scale.size() != cells ||
      (scheme.has_zero_point() && p.zero_point.size() != cells))
    throw Error(ErrorCategory::InvalidArgument, "QParams of shape " + shape_to_string(p.shape) +
                                                    " do not fit a tensor of shape " + shape_to_string(shape) +
                                                    " under scheme " + scheme.describe() + " (expected " +
                                                    shape_to_string(want) + ")");
}

float clamp_scale(double s) {
  if (!(s <= FLT_MAX))
    throw Error(ErrorCategory::Numeric, "quantization scale overflows f32 (range too wide for the bit width)");
  // A positive scale is kept normal: subnormal or zero scales lose r/s.
  return s > 0 ? std::max(static_cast<float>(s), FLT_MIN) : 0.0f;
}

}  // namespace

float round_with(float x, Rounding mode) {
  return mode == Rounding::HalfEven ? std::nearbyint(x) : std::round(x);
}

ScaleZero choose_scale_zero(float rmin, float rmax, const QScheme& scheme) {
  if (rmin > rmax) rmin = rmax = 0;  // nothing observed (an empty cell starts at [+Inf, −Inf])
  if (!std::isfinite(rmin) || !std::isfinite(rmax))
    throw Error(ErrorCategory::Numeric, "choose_scale_zero: range is not finite");
  const int32_t qmin = scheme.qmin(), qmax = scheme.qmax();
  if (scheme.codebook != Codebook::None) {
    const double amax = std::max(std::fabs(static_cast<double>(rmin)), std::fabs(static_cast<double>(rmax)));
    return {clamp_scale(amax / codebook_absmax(scheme.codebook)), 0};
  }
  if (scheme.mode == QMode::Symmetric) {
    const double amax = std::max(std::fabs(static_cast<double>(rmin)), std::fabs(static_cast<double>(rmax)));
    const int b = scheme.effective_bits();
    const double half = std::ldexp(1.0, b - 1);
    const double denom = scheme.sym_range == SymRange::Restricted ? half - 1 : half - 0.5;
    const int32_t z = scheme.is_signed ? 0 : static_cast<int32_t>(half);
    return {clamp_scale(amax / denom), z};
  }
  // Affine.
  double lo = rmin, hi = rmax;
  if (scheme.include_zero || lo == hi) {  // a constant c is widened to [min(c,0), max(c,0)]
    lo = std::min(lo, 0.0);
    hi = std::max(hi, 0.0);
  }
  if (lo == hi) return {0.0f, std::clamp<int32_t>(0, qmin, qmax)};  // all zero
  const float s = clamp_scale((hi - lo) / static_cast<double>(qmax - qmin));
  const float zf = round_with(static_cast<float>(qmin) - static_cast<float>(lo) / s, scheme.rounding);
  if (!(std::fabs(zf) < 2147483520.0f))
    throw Error(ErrorCategory::Numeric, "zero point out of int32 range: the range [" + std::to_string(rmin) + ", " +
                                            std::to_string(rmax) +
                                            "] is too narrow for its offset; quantize with include_zero");
  int32_t z = static_cast<int32_t>(zf);
  if (scheme.include_zero) z = std::clamp(z, qmin, qmax);  // only float noise can push it out
  return {s, z};
}

Shape qparams_shape(const Shape& shape, const QScheme& scheme) {
  scheme.validate();
  switch (scheme.granularity) {
    case Granularity::PerTensor: return {};
    case Granularity::PerChannel: {
      const int a = normalize_axis(scheme.axis, static_cast<int>(shape.size()));
      return {shape[static_cast<size_t>(a)]};
    }
    case Granularity::PerGroup: {
      if (shape.empty())
        throw Error(ErrorCategory::InvalidArgument, "per-group quantization needs a tensor of rank >= 1");
      const int64_t k = shape.back(), g = scheme.group_size;
      if (k % g != 0 && scheme.partial_group == PartialGroup::Reject)
        throw Error(ErrorCategory::InvalidArgument,
                    "last dimension " + std::to_string(k) + " of shape " + shape_to_string(shape) +
                        " is not a multiple of group size " + std::to_string(g) +
                        "; choose a divisor or allow a partial last group");
      Shape p(shape.begin(), shape.end() - 1);
      p.push_back((k + g - 1) / g);
      return p;
    }
  }
  return {};
}

std::vector<uint32_t> qparams_index(const Shape& shape, const QScheme& scheme) {
  const Shape pshape = qparams_shape(shape, scheme);
  if (shape_numel(pshape) > std::numeric_limits<uint32_t>::max())
    throw Error(ErrorCategory::InvalidArgument, "too many quantization groups for shape " + shape_to_string(shape));
  const size_t n = static_cast<size_t>(shape_numel(shape));
  std::vector<uint32_t> idx(n, 0);
  if (scheme.granularity == Granularity::PerChannel) {
    const auto a = static_cast<size_t>(normalize_axis(scheme.axis, static_cast<int>(shape.size())));
    size_t inner = 1;
    for (size_t d = a + 1; d < shape.size(); ++d) inner *= static_cast<size_t>(shape[d]);
    const auto channels = static_cast<size_t>(shape[a]);
    for (size_t i = 0; i < n; ++i) idx[i] = static_cast<uint32_t>((i / inner) % channels);
  } else if (scheme.granularity == Granularity::PerGroup) {
    const auto k = static_cast<size_t>(shape.back());
    const auto g = static_cast<size_t>(scheme.group_size);
    const size_t groups = (k + g - 1) / g;
    for (size_t i = 0; i < n; ++i) idx[i] = static_cast<uint32_t>((i / k) * groups + (i % k) / g);
  }
  return idx;
}

QParams choose_qparams(std::span<const float> x, const Shape& shape, const QScheme& scheme, std::string_view name) {
  check_size(x.size(), shape, "choose_qparams");
  QParams p;
  p.shape = qparams_shape(shape, scheme);
  const auto cells = static_cast<size_t>(shape_numel(p.shape));
  const std::vector<uint32_t> idx = qparams_index(shape, scheme);
  std::vector<float> lo(cells, std::numeric_limits<float>::infinity());
  std::vector<float> hi(cells, -std::numeric_limits<float>::infinity());
  for (size_t i = 0; i < x.size(); ++i) {
    const float v = x[i];
    if (!std::isfinite(v))
      throw Error(ErrorCategory::Numeric, std::string(name) + ": element " + std::to_string(i) + " is " +
                                              (std::isnan(v) ? "NaN" : "Inf") + "; refusing to quantize");
    lo[idx[i]] = std::min(lo[idx[i]], v);
    hi[idx[i]] = std::max(hi[idx[i]], v);
  }
  p.scale.resize(cells);
  if (scheme.has_zero_point()) p.zero_point.resize(cells);
  for (size_t c = 0; c < cells; ++c) {
    const ScaleZero sz = choose_scale_zero(lo[c], hi[c], scheme);
    p.scale[c] = sz.scale;
    if (scheme.has_zero_point()) p.zero_point[c] = sz.zero_point;
  }
  return p;
}

int32_t quantize_value(float r, ScaleZero sz, const QScheme& scheme) {
  if (std::isnan(r)) throw Error(ErrorCategory::Numeric, "quantize_value: NaN input");
  if (scheme.codebook != Codebook::None)
    return codebook_nearest(sz.scale == 0 ? 0.0f : r / sz.scale, scheme.codebook);
  const int32_t qmin = scheme.qmin(), qmax = scheme.qmax();
  if (sz.scale == 0) return std::clamp(sz.zero_point, qmin, qmax);
  // Clamp in float (r/s may be huge or Inf), then shift by the integer zero point.
  float t = round_with(r / sz.scale, scheme.rounding);
  t = std::clamp(t, static_cast<float>(static_cast<int64_t>(qmin) - sz.zero_point),
                 static_cast<float>(static_cast<int64_t>(qmax) - sz.zero_point));
  return std::clamp(static_cast<int32_t>(t) + sz.zero_point, qmin, qmax);
}

float dequantize_value(int32_t q, ScaleZero sz, const QScheme& scheme) {
  if (scheme.codebook != Codebook::None) return sz.scale * codebook_values(scheme.codebook)[static_cast<size_t>(q) & 15];
  return sz.scale * static_cast<float>(q - sz.zero_point);
}

std::vector<int32_t> quantize(std::span<const float> x, const Shape& shape, const QScheme& scheme,
                              const QParams& params) {
  check_size(x.size(), shape, "quantize");
  check_params(params, shape, scheme);
  const std::vector<uint32_t> idx = qparams_index(shape, scheme);
  std::vector<int32_t> q(x.size());
  for (size_t i = 0; i < x.size(); ++i) q[i] = quantize_value(x[i], params.at(idx[i]), scheme);
  return q;
}

std::vector<float> dequantize(std::span<const int32_t> q, const Shape& shape, const QScheme& scheme,
                              const QParams& params) {
  check_size(q.size(), shape, "dequantize");
  check_params(params, shape, scheme);
  const std::vector<uint32_t> idx = qparams_index(shape, scheme);
  std::vector<float> r(q.size());
  for (size_t i = 0; i < q.size(); ++i) r[i] = dequantize_value(q[i], params.at(idx[i]), scheme);
  return r;
}

}  // namespace qforge
