// Bulk float conversion throughput per ISA, against the scalar reference measured in the
// same run. Prints GB/s (bytes read + written) and the speed-up over scalar.
//   bench_convert [elements]   (default 4M: 16 MB of f32, beyond the caches)
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "kernels/convert/convert_kernels.h"
#include "timing.h"

using namespace qforge;
using namespace qforge::kernels;

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : (size_t{1} << 22);
  std::vector<float> f(n), back(n);
  std::vector<uint16_t> h(n);
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0, 1);
  for (auto& x : f) x = nd(rng);

  struct Op {
    const char* name;
    double bytes_per_elem;
    double (*run)(const ConvertKernels&, std::vector<float>&, std::vector<uint16_t>&, std::vector<float>&);
  };
  const Op ops[] = {
      {"f32->f16", 6, [](const ConvertKernels& k, auto& a, auto& b, auto&) {
         return bench::median_seconds([&] { k.f32_to_f16(a.data(), b.data(), a.size()); });
       }},
      {"f16->f32", 6, [](const ConvertKernels& k, auto&, auto& b, auto& c) {
         return bench::median_seconds([&] { k.f16_to_f32(b.data(), c.data(), b.size()); });
       }},
      {"f32->bf16", 6, [](const ConvertKernels& k, auto& a, auto& b, auto&) {
         return bench::median_seconds([&] { k.f32_to_bf16(a.data(), b.data(), a.size()); });
       }},
      {"bf16->f32", 6, [](const ConvertKernels& k, auto&, auto& b, auto& c) {
         return bench::median_seconds([&] { k.bf16_to_f32(b.data(), c.data(), b.size()); });
       }},
  };
  std::printf("bulk conversion, %zu elements, median of 7 runs, 1 thread\n", n);
  std::printf("%-10s %-8s %10s %10s %12s\n", "op", "isa", "ms", "GB/s", "vs scalar");
  for (const Op& op : ops) {
    double scalar_s = 0;
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
      const auto k = convert_kernels_for(isa);
      if (!k) {
        std::printf("%-10s %-8s %10s\n", op.name, std::string(isa_name(isa)).c_str(), "(CPU lacks it)");
        continue;
      }
      const double s = op.run(*k, f, h, back);
      if (isa == Isa::Scalar) scalar_s = s;
      std::printf("%-10s %-8s %10.3f %10.2f %11.2fx\n", op.name, std::string(isa_name(isa)).c_str(), s * 1e3,
                  op.bytes_per_elem * static_cast<double>(n) / s / 1e9, scalar_s / s);
    }
  }
  return 0;
}
