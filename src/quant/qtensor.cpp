#include "qforge/qtensor.h"

namespace qforge {

uint64_t QTensor::nbytes() const {
  return packed.size() + params.scale.size() * sizeof(float) + params.zero_point.size() * sizeof(int32_t);
}

double QTensor::bits_per_weight() const {
  const int64_t n = numel();
  return n == 0 ? 0.0 : 8.0 * static_cast<double>(nbytes()) / static_cast<double>(n);
}

std::vector<int32_t> QTensor::codes() const {
  std::vector<uint8_t> u(static_cast<size_t>(numel()));
  unpack_codes(packed, scheme.bits, u, order);
  return from_unsigned_codes(u, scheme.qmin());
}

QTensor quantize_tensor(const Tensor& w, const QScheme& scheme, std::string name) {
  if (w.dtype() != DType::f32)
    throw Error(ErrorCategory::InvalidArgument, "quantize_tensor: " + name + " is " + std::string(dtype_name(w.dtype())) +
                                                    "; convert it to f32 first");
  QTensor q;
  q.name = std::move(name);
  q.shape = w.shape();
  q.scheme = scheme;
  const auto x = w.span<float>();
  q.params = choose_qparams(x, q.shape, scheme, q.name);
  const std::vector<int32_t> codes = quantize(x, q.shape, scheme, q.params);
  q.order = scheme.codebook == Codebook::NF4 ? BitOrder::MsbFirst : BitOrder::LsbFirst;
  q.packed = pack_codes(to_unsigned_codes(codes, scheme.qmin(), scheme.bits), scheme.bits, q.order);
  return q;
}

Tensor dequantize_tensor(const QTensor& q) {
  const std::vector<float> r = dequantize(q.codes(), q.shape, q.scheme, q.params);
  return Tensor::from_vector(q.shape, r);
}

}  // namespace qforge
