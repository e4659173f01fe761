// qforge dtypes [--value X] [--saturate] [--json]: the iinfo/finfo table of every DType,
// and what one value becomes when stored in each float type.
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "args.h"
#include "commands.h"
#include "core/exact_decimal.h"
#include "qforge/dtype.h"
#include "qforge/float_format.h"

namespace qforge::cli {
namespace {

constexpr const char* kUsage =
    "usage: qforge dtypes [--value X] [--saturate] [--json]\n"
    "  --value X    show X (a decimal such as 0.1, a ratio such as 1/3, inf or nan) as stored in\n"
    "               f64, f32, f16, bf16, f8_e4m3, f8_e5m2 and fp4_e2m1, each correctly rounded\n"
    "               from X itself (ties to even), printed with 60 significant digits\n"
    "  --saturate   fp8 overflow clamps to the largest finite value instead of Inf/NaN\n"
    "  --json       machine-readable output\n";

const char* kind_name(DTypeKind k) {
  switch (k) {
    case DTypeKind::Float: return "float";
    case DTypeKind::Integer: return "integer";
    case DTypeKind::Codebook: return "codebook";
  }
  return "?";
}

std::string num(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.7g", v);
  return b;
}

std::string range_value(const DTypeInfo& i, bool is_max) {
  if (i.kind == DTypeKind::Integer) return is_max ? std::to_string(i.int_max) : std::to_string(i.int_min);
  return num(is_max ? i.max : i.min);
}

// Exact decimal of v with 60 significant digits; "…" marks digits cut off.
std::string digits60(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char exact[1200];
  std::snprintf(exact, sizeof exact, "%.1100g", v);  // glibc prints the exact binary value
  char shown[128];
  std::snprintf(shown, sizeof shown, "%#.60g", v);
  std::string s = shown;
  // Count significant digits of the exact form to know whether 60 of them said it all.
  size_t sig = 0;
  bool started = false;
  for (const char* p = exact; *p && *p != 'e'; ++p) {
    if (*p >= '1' && *p <= '9') started = true;
    if (started && *p >= '0' && *p <= '9') ++sig;
  }
  if (sig > 60) s += "…";
  return s;
}

struct Stored {
  DType dtype;
  uint64_t bits;
  double value;
};

void print_table(bool json) {
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (DType t : kAllDTypes) {
      const DTypeInfo& i = dtype_info(t);
      nlohmann::json j = {{"dtype", i.name},
                          {"kind", kind_name(i.kind)},
                          {"bits", i.bits},
                          {"bits_per_element", i.packed_bits},
                          {"bytes", i.byte_size()},
                          {"signed", i.is_signed},
                          {"description", i.description}};
      if (i.kind == DTypeKind::Integer) {
        j["min"] = i.int_min;
        j["max"] = i.int_max;
      } else {
        j["min"] = i.min;
        j["max"] = i.max;
      }
      if (i.is_float()) {
        j["eps"] = i.eps;
        j["smallest_normal"] = i.smallest_normal;
        j["smallest_subnormal"] = i.smallest_subnormal;
        j["exponent_bits"] = i.exponent_bits;
        j["mantissa_bits"] = i.mantissa_bits;
        j["exponent_bias"] = i.exponent_bias;
        j["has_inf"] = i.has_inf;
        j["has_nan"] = i.has_nan;
      } else if (i.kind == DTypeKind::Codebook && t == DType::nf4) {
        j["smallest_positive"] = i.smallest_normal;
      }
      out.push_back(j);
    }
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("%-9s %-8s %4s %9s %5s %-20s %-20s %-13s %-13s %-13s %-7s %s\n", "dtype", "kind", "bits", "bits/elem",
              "bytes", "min", "max", "eps", "tiny", "subnormal", "e/m", "inf/nan");
  for (DType t : kAllDTypes) {
    const DTypeInfo& i = dtype_info(t);
    char bpe[16];
    std::snprintf(bpe, sizeof bpe, "%g", i.packed_bits);
    const std::string bytes = i.byte_size() ? std::to_string(i.byte_size()) : "-";
    std::string eps = "-", tiny = "-", sub = "-", em = "-", infnan = "-";
    if (i.is_float()) {
      eps = num(i.eps);
      tiny = num(i.smallest_normal);
      sub = num(i.smallest_subnormal);
      em = std::to_string(i.exponent_bits) + "/" + std::to_string(i.mantissa_bits);
      infnan = std::string(i.has_inf ? "inf" : "-") + "/" + (i.has_nan ? "nan" : "-");
    } else if (t == DType::nf4) {
      tiny = num(i.smallest_normal);  // smallest positive code value
    }
    std::printf("%-9s %-8s %4d %9s %5s %-20s %-20s %-13s %-13s %-13s %-7s %s\n", std::string(i.name).c_str(),
                kind_name(i.kind), i.bits, bpe, bytes.c_str(), range_value(i, false).c_str(),
                range_value(i, true).c_str(), eps.c_str(), tiny.c_str(), sub.c_str(), em.c_str(), infnan.c_str());
  }
  std::printf(
      "\ntiny = smallest positive normal (torch.finfo.tiny); nf4's is its smallest positive code.\n"
      "bits/elem = bits per element in qforge's densest packing (ternary: 5 trits per byte).\n");
}

void print_value(const std::string& text, bool saturate, bool json) {
  const ExactValue v = parse_exact_value(text);
  const Overflow o = saturate ? Overflow::Saturate : Overflow::InfOrNan;
  std::vector<Stored> rows;
  for (DType t : kAllDTypes) {
    const DTypeInfo& i = dtype_info(t);
    if (!i.is_float()) continue;
    const FloatFormat f = *i.format;
    if (t == DType::fp4_e2m1 && v.kind == ExactValue::Kind::NaN) continue;  // no NaN in fp4
    const uint64_t bits = encode_exact(v, f, t == DType::fp4_e2m1 ? Overflow::Saturate : o);
    rows.push_back({t, bits, decode_bits(bits, f)});
  }
  const double ref = rows.front().value;  // the f64 row: within 2^-53 of X
  if (json) {
    nlohmann::json out = {{"input", text}, {"saturate", saturate}, {"stored", nlohmann::json::array()}};
    for (const auto& r : rows) {
      nlohmann::json j = {{"dtype", dtype_name(r.dtype)}, {"bits", r.bits}, {"decimal", digits60(r.value)}};
      if (std::isfinite(r.value)) j["value"] = r.value;
      out["stored"].push_back(j);
    }
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("%s stored in each float type (round to nearest, ties to even%s):\n\n", text.c_str(),
              saturate ? ", fp8 saturating" : "");
  std::printf("%-9s %-18s %-66s %s\n", "dtype", "bits", "value (60 significant digits)", "rel. error");
  for (const auto& r : rows) {
    const int hex_digits = (dtype_info(r.dtype).bits + 3) / 4;
    char hex[32];
    std::snprintf(hex, sizeof hex, "0x%0*" PRIx64, hex_digits, r.bits);
    std::string err = "-";
    if (r.dtype == DType::f64) {
      // f64 is the yardstick for the other rows; say whether it holds X exactly.
      const ExactValue back = exact_from_double(r.value);
      const bool exact = back.kind == v.kind && (v.kind != ExactValue::Kind::Finite ||
                                                 (back.mant == v.mant && back.exp == v.exp && !v.sticky));
      if (std::isfinite(r.value)) err = exact ? "0 (exact)" : "< 1.2e-16";
    } else if (std::isfinite(r.value) && std::isfinite(ref) && ref != 0) {
      char b[32];
      std::snprintf(b, sizeof b, "%.3e", (r.value - ref) / ref);
      err = b;
    }
    std::printf("%-9s %-18s %-66s %s\n", std::string(dtype_name(r.dtype)).c_str(), hex, digits60(r.value).c_str(),
                err.c_str());
  }
}

}  // namespace

int cmd_dtypes(std::span<const std::string> argv) {
  Args args("dtypes", argv);
  if (args.flag("--help")) {
    std::printf("%s", kUsage);
    return 0;
  }
  const auto value = args.option("--value");
  const bool saturate = args.flag("--saturate");
  const bool json = args.flag("--json");
  args.finish();
  if (value) print_value(*value, saturate, json);
  else print_table(json);
  return 0;
}

}  // namespace qforge::cli
