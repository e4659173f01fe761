// Test helper for the ml_dtypes oracle: reads raw f32 from stdin and writes, per input,
// f16 (2 B), bf16 (2 B), e4m3 (1 B), e5m2 (1 B), e4m3 saturating (1 B), e5m2 saturating (1 B),
// each from the bulk (dispatched) conversion path.
#include <cstdint>
#include <cstdio>
#include <vector>

#include "qforge/float_convert.h"

int main() {
  std::vector<float> in;
  float buf[4096];
  size_t n;
  while ((n = std::fread(buf, sizeof(float), 4096, stdin)) > 0) in.insert(in.end(), buf, buf + n);
  std::vector<uint16_t> f16(in.size()), bf16(in.size());
  std::vector<uint8_t> e4(in.size()), e5(in.size()), e4s(in.size()), e5s(in.size());
  qforge::convert_f32_to_f16(in, f16);
  qforge::convert_f32_to_bf16(in, bf16);
  qforge::convert_f32_to_f8(in, e4, qforge::DType::f8_e4m3, qforge::Overflow::InfOrNan);
  qforge::convert_f32_to_f8(in, e5, qforge::DType::f8_e5m2, qforge::Overflow::InfOrNan);
  qforge::convert_f32_to_f8(in, e4s, qforge::DType::f8_e4m3, qforge::Overflow::Saturate);
  qforge::convert_f32_to_f8(in, e5s, qforge::DType::f8_e5m2, qforge::Overflow::Saturate);
  std::fwrite(f16.data(), 2, f16.size(), stdout);
  std::fwrite(bf16.data(), 2, bf16.size(), stdout);
  std::fwrite(e4.data(), 1, e4.size(), stdout);
  std::fwrite(e5.data(), 1, e5.size(), stdout);
  std::fwrite(e4s.data(), 1, e4s.size(), stdout);
  std::fwrite(e5s.data(), 1, e5s.size(), stdout);
  return 0;
}
