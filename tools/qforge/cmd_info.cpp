// qforge info [--json]: the CPU's features, the ISA level kernels use, and each kernel
// family's choice.
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "args.h"
#include "commands.h"
#include "kernels/convert/convert_kernels.h"
#include "kernels/dot/dot_kernels.h"
#include "kernels/grid/grid_kernels.h"
#include "kernels/w8a8/w8a8_kernels.h"
#include "model_summary.h"
#include "qforge/cpu.h"
#include "qforge/error.h"

namespace qforge::cli {
namespace {

constexpr const char* kUsage =
    "usage: qforge info [MODEL] [--tensors] [--json]\n"
    "  without MODEL: CPU features (CPUID, with XCR0 for what the OS enables), the ISA level\n"
    "  kernels use and the kernels chosen. QFORGE_ISA=scalar|avx2|avx-vnni|avx512 caps the level.\n"
    "  with MODEL (a Hugging Face folder, .safetensors, .gguf or llama2.c .bin): architecture,\n"
    "  hyper-parameters, parameter count, bits per weight, the memory the weights need in each\n"
    "  type; --tensors lists every tensor.\n";

std::vector<std::pair<const char*, bool>> feature_list(const CpuFeatures& f) {
  return {{"sse4.2", f.sse42},         {"avx", f.avx},           {"avx2", f.avx2},
          {"fma", f.fma},              {"f16c", f.f16c},         {"avx512f", f.avx512f},
          {"avx512bw", f.avx512bw},    {"avx512vl", f.avx512vl}, {"avx512dq", f.avx512dq},
          {"avx512_vnni", f.avx512_vnni}, {"avx512_bf16", f.avx512_bf16}, {"avx_vnni", f.avx_vnni},
          {"amx_tile", f.amx_tile},    {"amx_int8", f.amx_int8}, {"amx_bf16", f.amx_bf16}};
}

}  // namespace

int cmd_info(std::span<const std::string> argv) {
  Args args("info", argv);
  if (args.flag("--help")) {
    std::printf("%s", kUsage);
    return 0;
  }
  const bool json = args.flag("--json");
  const bool tensors = args.flag("--tensors");
  const auto models = args.positionals();
  args.finish();
  if (models.size() > 1) throw Error(ErrorCategory::InvalidArgument, "info: give one model, got " + std::to_string(models.size()));
  if (!models.empty()) {
    print_model_summary(open_model(models.front()), tensors, json);
    return 0;
  }

  const CpuFeatures& f = cpu_features();
  const char* env = std::getenv("QFORGE_ISA");
  const Isa detected = detected_isa();
  const Isa active = active_isa();
  const auto& convert = kernels::convert_kernels();
  // each family's table names the ISA it actually runs (AVX2 kernels serve AVX-512 CPUs where a
  // family has no AVX-512 version)
  const std::string dot(isa_name(kernels::dot_kernels().isa)), grid(isa_name(kernels::grid_kernels().isa));
  const std::string w8a8(isa_name(kernels::w8a8_kernels().isa));
  if (json) {
    nlohmann::json j;
    j["version"] = QFORGE_VERSION;
    j["cpu"] = {{"vendor", f.vendor}, {"brand", f.brand}};
    for (const auto& [name, on] : feature_list(f)) j["features"][name] = on;
    j["os_support"] = {{"avx", f.os_avx}, {"avx512", f.os_avx512}, {"amx", f.os_amx}};
    j["isa"] = {{"detected", isa_name(detected)}, {"active", isa_name(active)}, {"QFORGE_ISA", env ? env : ""}};
    j["kernels"] = {{"convert", isa_name(convert.isa)}, {"dot", dot}, {"grid", grid}, {"w8a8", w8a8}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("qforge %s\n\n", QFORGE_VERSION);
  std::printf("cpu       %s (%s)\n", f.brand.empty() ? "unknown" : f.brand.c_str(), f.vendor.c_str());
  std::string have, lack;
  for (const auto& [name, on] : feature_list(f)) (on ? have : lack) += std::string(" ") + name;
  std::printf("has      %s\n", have.empty() ? " -" : have.c_str());
  std::printf("lacks    %s\n", lack.empty() ? " -" : lack.c_str());
  std::printf("os saves  avx %s, avx512 %s, amx %s\n", f.os_avx ? "yes" : "no", f.os_avx512 ? "yes" : "no",
              f.os_amx ? "yes" : "no");
  std::printf("isa       %s (detected %s%s)\n", std::string(isa_name(active)).c_str(),
              std::string(isa_name(detected)).c_str(),
              env && *env ? (std::string(", capped by QFORGE_ISA=") + env).c_str() : "");
  std::printf("\nkernels\n");
  const auto row = [](const char* family, const std::string& isa) { std::printf("  %-33s %s\n", family, isa.c_str()); };
  row("convert f32<->f16/bf16", std::string(isa_name(convert.isa)));
  row("convert f32<->fp8", "scalar (256-entry decode table)");
  row("dot (f32/f16/bf16, GGUF blocks)", dot);
  row("grid (qforge's packed grids)", grid);
  row("w8a8 (int8 x int8 -> int32)", w8a8);
  return 0;
}

}  // namespace qforge::cli
