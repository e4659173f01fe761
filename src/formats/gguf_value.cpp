// GgufValue constructors, conversions and display.
#include <cstdio>

#include "qforge/gguf.h"

namespace qforge {

std::string_view gguf_type_name(GgufType t) {
  switch (t) {
    case GgufType::U8: return "u8";
    case GgufType::I8: return "i8";
    case GgufType::U16: return "u16";
    case GgufType::I16: return "i16";
    case GgufType::U32: return "u32";
    case GgufType::I32: return "i32";
    case GgufType::F32: return "f32";
    case GgufType::Bool: return "bool";
    case GgufType::String: return "string";
    case GgufType::Array: return "array";
    case GgufType::U64: return "u64";
    case GgufType::I64: return "i64";
    case GgufType::F64: return "f64";
  }
  return "?";
}

GgufValue GgufValue::of_u32(uint32_t v) { GgufValue x; x.type = GgufType::U32; x.u = v; return x; }
GgufValue GgufValue::of_i32(int32_t v) { GgufValue x; x.type = GgufType::I32; x.i = v; return x; }
GgufValue GgufValue::of_u64(uint64_t v) { GgufValue x; x.type = GgufType::U64; x.u = v; return x; }
GgufValue GgufValue::of_f32(float v) { GgufValue x; x.type = GgufType::F32; x.f = v; return x; }
GgufValue GgufValue::of_bool(bool v) { GgufValue x; x.type = GgufType::Bool; x.u = v; return x; }
GgufValue GgufValue::of_string(std::string v) { GgufValue x; x.type = GgufType::String; x.s = std::move(v); return x; }
GgufValue GgufValue::of_array(GgufType elem, std::vector<GgufValue> items) {
  GgufValue x;
  x.type = GgufType::Array;
  x.elem_type = elem;
  x.items = std::move(items);
  return x;
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufType::U8: case GgufType::U16: case GgufType::U32: case GgufType::U64:
    case GgufType::I8: case GgufType::I16: case GgufType::I32: case GgufType::I64: return true;
    default: return false;
  }
}

std::optional<int64_t> GgufValue::as_int() const {
  switch (type) {
    case GgufType::U8: case GgufType::U16: case GgufType::U32: case GgufType::U64:
      if (u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
      return static_cast<int64_t>(u);
    case GgufType::I8: case GgufType::I16: case GgufType::I32: case GgufType::I64: return i;
    default: return std::nullopt;
  }
}

std::optional<double> GgufValue::as_float() const {
  if (type == GgufType::F32 || type == GgufType::F64) return f;
  if (auto v = as_int()) return static_cast<double>(*v);
  return std::nullopt;
}

std::string GgufValue::to_display(size_t max_items) const {
  char b[64];
  switch (type) {
    case GgufType::String: return "\"" + (s.size() > 60 ? s.substr(0, 57) + "..." : s) + "\"";
    case GgufType::Bool: return u ? "true" : "false";
    case GgufType::F32:
    case GgufType::F64: std::snprintf(b, sizeof b, "%g", f); return b;
    case GgufType::Array: {
      std::string out = "[" + std::to_string(items.size()) + " x " + std::string(gguf_type_name(elem_type)) + "]";
      for (size_t k = 0; k < items.size() && k < max_items; ++k) out += (k ? ", " : " ") + items[k].to_display(0);
      if (items.size() > max_items) out += ", ...";
      return out;
    }
    default: break;
  }
  if (type == GgufType::I8 || type == GgufType::I16 || type == GgufType::I32 || type == GgufType::I64)
    return std::to_string(i);
  return std::to_string(u);
}

}  // namespace qforge
