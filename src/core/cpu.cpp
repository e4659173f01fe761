#include "qforge/cpu.h"

#include <cpuid.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "qforge/error.h"

namespace qforge {
namespace {

struct Regs {
  uint32_t a = 0, b = 0, c = 0, d = 0;
};

Regs cpuid(uint32_t leaf, uint32_t sub) {
  Regs r;
  __cpuid_count(leaf, sub, r.a, r.b, r.c, r.d);
  return r;
}

uint64_t read_xcr0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t{hi} << 32) | lo;
}

bool bit(uint32_t v, int i) { return (v >> i) & 1u; }

CpuFeatures detect() {
  CpuFeatures f;
  const uint32_t max_leaf = __get_cpuid_max(0, nullptr);
  if (max_leaf == 0) return f;
  Regs r0 = cpuid(0, 0);
  char vendor[13] = {};
  std::memcpy(vendor + 0, &r0.b, 4);
  std::memcpy(vendor + 4, &r0.d, 4);
  std::memcpy(vendor + 8, &r0.c, 4);
  f.vendor = vendor;

  const Regs r1 = cpuid(1, 0);
  f.sse42 = bit(r1.c, 20);
  f.fma = bit(r1.c, 12);
  f.avx = bit(r1.c, 28);
  f.f16c = bit(r1.c, 29);
  const bool osxsave = bit(r1.c, 27);
  if (osxsave) {
    const uint64_t xcr0 = read_xcr0();
    f.os_avx = (xcr0 & 0x6) == 0x6;             // XMM and YMM state
    f.os_avx512 = f.os_avx && (xcr0 & 0xE0) == 0xE0;  // opmask, ZMM_Hi256, Hi16_ZMM
    f.os_amx = (xcr0 & 0x60000) == 0x60000;     // XTILECFG, XTILEDATA
  }
  if (max_leaf >= 7) {
    const Regs r7 = cpuid(7, 0);
    f.avx2 = bit(r7.b, 5);
    f.avx512f = bit(r7.b, 16);
    f.avx512dq = bit(r7.b, 17);
    f.avx512bw = bit(r7.b, 30);
    f.avx512vl = bit(r7.b, 31);
    f.avx512_vnni = bit(r7.c, 11);
    f.amx_bf16 = bit(r7.d, 22);
    f.amx_tile = bit(r7.d, 24);
    f.amx_int8 = bit(r7.d, 25);
    if (r7.a >= 1) {
      const Regs r71 = cpuid(7, 1);
      f.avx_vnni = bit(r71.a, 4);
      f.avx512_bf16 = bit(r71.a, 5);
    }
  }
  const uint32_t max_ext = __get_cpuid_max(0x80000000u, nullptr);
  if (max_ext >= 0x80000004u) {
    char brand[49] = {};
    for (uint32_t i = 0; i < 3; ++i) {
      const Regs r = cpuid(0x80000002u + i, 0);
      std::memcpy(brand + 16 * i + 0, &r.a, 4);
      std::memcpy(brand + 16 * i + 4, &r.b, 4);
      std::memcpy(brand + 16 * i + 8, &r.c, 4);
      std::memcpy(brand + 16 * i + 12, &r.d, 4);
    }
    std::string s = brand;
    const auto first = s.find_first_not_of(' ');
    const auto last = s.find_last_not_of(' ');
    f.brand = first == std::string::npos ? "" : s.substr(first, last - first + 1);
  }
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::AvxVnni: return "avx-vnni";
    case Isa::Avx512: return "avx512";
  }
  return "unknown";
}

bool isa_supported(Isa isa, const CpuFeatures& f) {
  const bool avx2 = f.os_avx && f.avx && f.avx2 && f.fma && f.f16c;
  switch (isa) {
    case Isa::Scalar: return true;
    case Isa::Avx2: return avx2;
    case Isa::AvxVnni: return avx2 && f.avx_vnni;
    case Isa::Avx512: return avx2 && f.os_avx512 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
  }
  return false;
}

namespace {
constexpr Isa kLevels[] = {Isa::Scalar, Isa::Avx2, Isa::AvxVnni, Isa::Avx512};

Isa highest_supported_up_to(Isa top, const CpuFeatures& f) {
  Isa best = Isa::Scalar;
  for (const Isa i : kLevels)
    if (static_cast<int>(i) <= static_cast<int>(top) && isa_supported(i, f)) best = i;
  return best;
}
}  // namespace

Isa detected_isa() { return highest_supported_up_to(Isa::Avx512, cpu_features()); }

Isa cap_isa(const CpuFeatures& f, std::string_view requested) {
  if (requested.empty()) return highest_supported_up_to(Isa::Avx512, f);
  for (const Isa i : kLevels)
    if (isa_name(i) == requested) return highest_supported_up_to(i, f);
  throw Error(ErrorCategory::InvalidArgument,
              "QFORGE_ISA='" + std::string(requested) + "' is not an ISA level; supported: scalar, avx2, avx-vnni, avx512");
}

Isa active_isa() {
  static const Isa isa = [] {
    const char* env = std::getenv("QFORGE_ISA");
    return cap_isa(cpu_features(), env ? env : "");
  }();
  return isa;
}

}  // namespace qforge
