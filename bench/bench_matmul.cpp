// Weight-format kernels on LLM shapes, against the machine measured in the same run:
// decode (n = 1) as GB/s of weights read and the fraction of the measured read bandwidth;
// prompt (n = 512) as GFLOP/s; and the 2-thread pool's speed while a CPU hog runs beside it.
//   bench_matmul [--quick | --grids]   (--quick: the 4096×4096 shape only, fewer formats;
//                                       --grids: qforge's own grids only)
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>

#include "engine/thread_pool.h"
#include "engine/weight.h"
#include "kernels/w8a8/w8a8_kernels.h"
#include "memory_bandwidth.h"
#include "qforge/float_convert.h"
#include "qforge/weight_quant.h"
#include "timing.h"

using namespace qforge;

namespace {

// W8A8: int8 weights per output channel, activations quantized to int8 per token on the fly.
engine::Weight make_w8a8(int64_t rows, int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> g(0.0f, 0.02f);
  std::vector<float> f(static_cast<size_t>(rows * cols));
  for (auto& v : f) v = g(rng);
  engine::Weight w;
  w.type = w.stored = GgmlType::I8;
  w.rows = rows;
  w.cols = cols;
  w.row_bytes = static_cast<size_t>(cols);
  w.i8 = std::make_shared<const Int8Weights>(quantize_weights_int8(f, rows, cols));
  w.data = reinterpret_cast<const uint8_t*>(w.i8->q.data());
  w.act.mode = ActMode::Dynamic;
  return w;
}

engine::Weight make_weight(GgmlType type, int64_t rows, int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> g(0.0f, 0.02f);
  std::vector<float> f(static_cast<size_t>(cols));
  engine::Weight w;
  w.type = type;
  w.rows = rows;
  w.cols = cols;
  w.row_bytes = static_cast<size_t>(ggml_row_bytes(type, static_cast<uint64_t>(cols)));
  w.owned = Tensor::zeros(DType::u8, {static_cast<int64_t>(w.row_bytes) * rows});
  auto* p = static_cast<uint8_t*>(w.owned.mutable_data());
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : f) v = g(rng);
    uint8_t* dst = p + static_cast<size_t>(r) * w.row_bytes;
    if (type == GgmlType::F32) std::memcpy(dst, f.data(), w.row_bytes);
    else if (type == GgmlType::F16) convert_f32_to_f16(f, {reinterpret_cast<uint16_t*>(dst), f.size()});
    else if (type == GgmlType::BF16) convert_f32_to_bf16(f, {reinterpret_cast<uint16_t*>(dst), f.size()});
    else ggml_quantize(type, f, {dst, w.row_bytes});
  }
  w.data = p;
  engine::interleave_for_kernels(w);  // Q4_0 and Q4_1 as the engine loads them
  return w;
}

// A matrix on one of qforge's own grids (RTN), as the engine runs it from a checkpoint: on the
// grid kernels' integer path where it takes the grid and `integer_path`, else packed codes
// decoded to f32 in registers. `copies` distinct instances.
std::vector<engine::Weight> grid_weights(const WeightGrid& grid, int64_t rows, int64_t cols, int copies, bool integer_path,
                                         std::mt19937& rng) {
  std::normal_distribution<float> g(0.0f, 0.02f);
  std::vector<float> f(static_cast<size_t>(rows * cols));
  for (auto& v : f) v = g(rng);
  const PackedMatrix p = pack_matrix(quantize_rtn(f, rows, cols, grid));
  std::vector<engine::Weight> ws;
  for (int i = 0; i < copies; ++i) {
    engine::Weight w;
    w.rows = rows;
    w.cols = cols;
    w.grid = engine::grid_weights_from(p.view(), integer_path);
    w.row_bytes = w.grid->integer ? w.grid->im.row_group_bytes / 4 : w.grid->m.code_row_bytes;
    w.data = w.grid->codes.data();
    ws.push_back(std::move(w));
  }
  return ws;
}

// Byte-for-byte copies of w at distinct addresses, enough to exceed `bytes` in all, so that a
// decode measurement reads from memory and not from the 32 MB last-level cache.
std::vector<engine::Weight> copies_exceeding(const engine::Weight& w, uint64_t bytes) {
  std::vector<engine::Weight> v;
  for (uint64_t total = 0; total < bytes || v.empty(); total += w.bytes()) {
    engine::Weight c = w;
    c.owned = Tensor::zeros(DType::u8, {static_cast<int64_t>(w.bytes())});
    std::memcpy(c.owned.mutable_data(), w.data, w.bytes());
    c.data = static_cast<const uint8_t*>(c.owned.data());
    v.push_back(std::move(c));
  }
  return v;
}

// Median seconds of one linear call; the calls cycle through `ws` (each a copy of the same weight).
double gemv_seconds(engine::ThreadPool& pool, const std::vector<engine::Weight>& ws, int64_t n, int runs) {
  const engine::Weight& w = ws.front();
  std::vector<float> x(static_cast<size_t>(n * w.cols), 0.5f), y(static_cast<size_t>(n * w.rows));
  size_t next = 0;
  return bench::median_seconds(
      [&] { engine::linear(pool, ws[next++ % ws.size()], x.data(), n, nullptr, y.data()); },
      std::max(runs, 2 * static_cast<int>(ws.size()) + 1));
}

// qforge's own grids without a GGUF twin, on the grid kernels: the integer path (int8
// activations) where it takes the grid, and the f32 path (codes decoded in registers).
void grid_section(engine::ThreadPool& pool, bool quick, double bw2, std::mt19937& rng) {
  std::printf("\nqforge grids on the grid kernels, 4096x4096, 2 threads: decode from memory (copies > 256 MB) and n = 512\n"
              "%-22s %-4s %7s %9s %9s %7s %10s %9s\n", "grid", "path", "bits/w", "n=1 ms", "GB/s", "of bw", "n=512 ms", "G(FL)OP/s");
  for (const WeightGrid& grid : quick ? std::vector<WeightGrid>{WeightGrid::integer(4, 128, false), WeightGrid::nf4(64, true)}
                                      : std::vector<WeightGrid>{WeightGrid::integer(4, 128, false), WeightGrid::integer(4, 32, false),
                                                                WeightGrid::integer(3, 128, false), WeightGrid::integer(2, 64, false),
                                                                WeightGrid::integer(8, 0, false), WeightGrid::nf4(64, false),
                                                                WeightGrid::nf4(64, true), WeightGrid::ternary(), WeightGrid::fp8(0)})
    for (const bool integer_path : {true, false}) {
      const int64_t rows = 4096, cols = 4096;
      const auto probe = grid_weights(grid, rows, cols, 1, integer_path, rng);
      if (integer_path && !probe.front().grid->integer) continue;
      const uint64_t bytes = probe.front().grid->kernel_bytes();
      const auto ws = grid_weights(grid, rows, cols, static_cast<int>((uint64_t{256} << 20) / bytes) + 1, integer_path, rng);
      const double s1 = gemv_seconds(pool, ws, 1, 9), s512 = gemv_seconds(pool, probe, 512, 3);
      const double gbs = static_cast<double>(bytes) / s1 / 1e9;
      std::printf("%-22s %-4s %7.2f %9.3f %9.1f %6.0f%% %10.1f %9.1f\n", grid.describe().c_str(), integer_path ? "int8" : "f32",
                  8.0 * static_cast<double>(bytes) / (rows * cols), s1 * 1e3, gbs, 100 * gbs / bw2, s512 * 1e3,
                  2.0 * rows * cols * 512 / s512 / 1e9);
    }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  const bool quick = mode == "--quick";
  const double bw1 = bench::read_bandwidth_gbs(size_t{512} << 20, 1);
  const double bw2 = bench::read_bandwidth_gbs(size_t{512} << 20, 2);
  std::printf("memory read bandwidth: %.1f GB/s (1 thread), %.1f GB/s (2 threads)\n", bw1, bw2);
  std::mt19937 rng(1);
  engine::ThreadPool pool(2);
  if (mode == "--grids") {
    grid_section(pool, false, bw2, rng);
    return 0;
  }
  const std::vector<std::pair<int64_t, int64_t>> shapes =
      quick ? std::vector<std::pair<int64_t, int64_t>>{{4096, 4096}}
            : std::vector<std::pair<int64_t, int64_t>>{{4096, 4096}, {11008, 4096}, {4096, 11008}, {1536, 576}};
  const std::vector<GgmlType> types =
      quick ? std::vector<GgmlType>{GgmlType::F32, GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_1, GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::TQ2_0}
            : std::vector<GgmlType>{GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q5_1,
                                    GgmlType::Q5_0, GgmlType::Q4_1, GgmlType::Q4_0, GgmlType::Q6_K, GgmlType::Q4_K,
                                    GgmlType::TQ2_0, GgmlType::TQ1_0};
  std::printf("\ndecode GEMV, n = 1, 2 threads (median; calls cycle through copies > 256 MB, so weights come from memory)\n%-12s %-6s %9s %9s %9s %7s\n", "shape", "type", "bits/w",
              "ms", "GB/s", "of bw");
  for (const auto& [rows, cols] : shapes)
    for (const GgmlType t : types) {
      if (cols % ggml_type_info(t).block_elems != 0) continue;  // k-quants need rows of 256
      const auto ws = copies_exceeding(make_weight(t, rows, cols, rng), uint64_t{256} << 20);
      const engine::Weight& w = ws.front();
      const double s = gemv_seconds(pool, ws, 1, 9);
      const double gbs = static_cast<double>(w.bytes()) / s / 1e9;
      std::printf("%5lldx%-6lld %-6s %9.2f %9.3f %9.1f %6.0f%%\n", static_cast<long long>(rows), static_cast<long long>(cols),
                  std::string(ggml_type_info(t).name).c_str(), ggml_type_info(t).bits_per_weight(), s * 1e3, gbs,
                  100 * gbs / bw2);
    }
  grid_section(pool, quick, bw2, rng);
  std::printf("\nprompt GEMM, n = 512, 2 threads (median of 3); AVX2 peak ~200 GFLOP/s f32 on this machine class\n");
  const std::vector<GgmlType> prompt_types =
      quick ? std::vector<GgmlType>{GgmlType::F32, GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_K}
            : std::vector<GgmlType>{GgmlType::F32, GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q6_K,
                                    GgmlType::Q4_K, GgmlType::TQ2_0, GgmlType::TQ1_0};
  for (const GgmlType t : prompt_types) {
    const double s = gemv_seconds(pool, {make_weight(t, 4096, 4096, rng)}, 512, 3);
    std::printf("4096x4096   %-6s %9.1f ms %9.1f GFLOP/s\n", std::string(ggml_type_info(t).name).c_str(), s * 1e3,
                2.0 * 4096 * 4096 * 512 / s / 1e9);
  }
  // W8A8 dynamic against f32 on the same shapes, in the same run (the ratio is the figure).
  // a7: the same weights with 7-bit activation codes (reduce_range), on the maddubs kernel.
  // The int8 peak of the kernel's instructions on two cores: ~400 GOP/s for AVX2's maddubs + madd
  // (Zen 3), ~935 for AVX-512 VNNI's vpdpbusd (Zen 4: one zmm per cycle per core, timed in a
  // scratch loop); AVX-VNNI's is unmeasured (no such CPU timed yet), its "of peak" shown as "-".
  const Isa isa = kernels::w8a8_kernels().isa;
  const double peak = isa == Isa::Avx512 ? 935 : isa == Isa::Avx2 ? 400 : 0;
  const char* kernel = isa == Isa::Avx512 ? "AVX-512 VNNI" : isa == Isa::AvxVnni ? "AVX-VNNI" : isa == Isa::Avx2 ? "AVX2" : "scalar";
  const auto of_peak = [&](double gops) {
    char buf[16];
    std::snprintf(buf, sizeof buf, peak > 0 ? "%.0f%%" : "-", 100 * gops / peak);
    return std::string(buf);
  };
  std::printf("\nW8A8 dynamic (int8 weights per channel × int8 activations per token, int32 sums) vs f32, 2 threads (median of 5);\n"
              "a7: the same with 7-bit activation codes (--reduce-range); w8a8 kernels: %s, int8 peak %s\n"
              "%-12s %6s %10s %10s %9s %10s %10s %9s %10s %9s\n", kernel, peak > 0 ? ("~" + std::to_string(static_cast<int>(peak)) + " GOP/s").c_str() : "unmeasured", "shape", "n", "w8a8 ms", "GOP/s",
              "of peak", "a7 ms", "GOP/s", "of peak", "f32 ms", "speed-up");
  std::printf("(n = 1 reads weights from memory: copies > 256 MB, like the decode table above)\n");
  for (const auto& [rows, cols] : shapes)
    for (const int64_t n : {int64_t{1}, int64_t{512}}) {
      const engine::Weight w8 = make_w8a8(rows, cols, rng);
      std::vector<engine::Weight> w8s{w8};  // decode: distinct copies > 256 MB, read from memory
      for (uint64_t total = w8.bytes(); n == 1 && total < (uint64_t{256} << 20); total += w8.bytes()) {
        w8s.push_back(w8);
        w8s.back().i8 = std::make_shared<const Int8Weights>(*w8.i8);
        w8s.back().data = reinterpret_cast<const uint8_t*>(w8s.back().i8->q.data());
      }
      const double s8 = gemv_seconds(pool, w8s, n, 5);
      std::vector<engine::Weight> w7s = w8s;
      for (engine::Weight& w : w7s) w.act.scheme.reduce_range = true;
      const double s7 = gemv_seconds(pool, w7s, n, 5);
      const engine::Weight w32 = make_weight(GgmlType::F32, rows, cols, rng);
      const double s32 = gemv_seconds(pool, n == 1 ? copies_exceeding(w32, uint64_t{256} << 20) : std::vector{w32}, n, 5);
      const double ops = 2.0 * static_cast<double>(rows * cols * n), gops = ops / s8 / 1e9, gops7 = ops / s7 / 1e9;
      std::printf("%5lldx%-6lld %6lld %10.3f %10.1f %9s %10.3f %10.1f %9s %10.3f %8.2fx\n", static_cast<long long>(rows),
                  static_cast<long long>(cols), static_cast<long long>(n), s8 * 1e3, gops, of_peak(gops).c_str(), s7 * 1e3, gops7,
                  of_peak(gops7).c_str(), s32 * 1e3, s32 / s8);
    }
  // A busy thread competing for the 2 vCPUs: the pool must degrade gracefully, not collapse.
  const auto ws = copies_exceeding(make_weight(GgmlType::Q4_0, 4096, 4096, rng), uint64_t{256} << 20);
  const double idle = gemv_seconds(pool, ws, 1, 31);
  std::atomic<bool> stop{false};
  std::thread hog([&] {
    volatile uint64_t spin = 0;
    while (!stop.load(std::memory_order_relaxed)) spin = spin + 1;
  });
  const double busy = gemv_seconds(pool, ws, 1, 31);
  stop = true;
  hog.join();
  std::printf("\nq4_0 4096x4096 GEMV, 2 threads: idle %.3f ms, beside a CPU hog %.3f ms (%.2fx slower)\n", idle * 1e3,
              busy * 1e3, busy / idle);
  return 0;
}
