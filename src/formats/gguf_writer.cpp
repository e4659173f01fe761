// GGUF v3 writer: header, metadata, tensor infos, then each tensor's data padded to the
// alignment (the last one too, as the reference writer does). Written atomically.
#include <set>

#include "qforge/atomic_file.h"
#include "qforge/error.h"
#include "qforge/gguf.h"

namespace qforge {
namespace {

void put_string(std::string& out, const std::string& s) {
  const uint64_t n = s.size();
  out.append(reinterpret_cast<const char*>(&n), 8);
  out += s;
}
template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

void put_value(std::string& out, const GgufValue& v, bool with_type) {
  if (with_type) put<uint32_t>(out, static_cast<uint32_t>(v.type));
  switch (v.type) {
    case GgufType::U8: put<uint8_t>(out, static_cast<uint8_t>(v.u)); break;
    case GgufType::I8: put<int8_t>(out, static_cast<int8_t>(v.i)); break;
    case GgufType::U16: put<uint16_t>(out, static_cast<uint16_t>(v.u)); break;
    case GgufType::I16: put<int16_t>(out, static_cast<int16_t>(v.i)); break;
    case GgufType::U32: put<uint32_t>(out, static_cast<uint32_t>(v.u)); break;
    case GgufType::I32: put<int32_t>(out, static_cast<int32_t>(v.i)); break;
    case GgufType::U64: put<uint64_t>(out, v.u); break;
    case GgufType::I64: put<int64_t>(out, v.i); break;
    case GgufType::F32: put<float>(out, static_cast<float>(v.f)); break;
    case GgufType::F64: put<double>(out, v.f); break;
    case GgufType::Bool: put<uint8_t>(out, v.u ? 1 : 0); break;
    case GgufType::String: put_string(out, v.s); break;
    case GgufType::Array:
      put<uint32_t>(out, static_cast<uint32_t>(v.elem_type));
      put<uint64_t>(out, v.items.size());
      for (const auto& item : v.items) {
        if (item.type != v.elem_type)
          throw Error(ErrorCategory::InvalidArgument, "GGUF array element of type " + std::string(gguf_type_name(item.type)) +
                                                          " in an array of " + std::string(gguf_type_name(v.elem_type)));
        put_value(out, item, false);
      }
      break;
  }
}

}  // namespace

GgufWriter::GgufWriter(uint64_t alignment) : alignment_(alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    throw Error(ErrorCategory::InvalidArgument, "GGUF alignment must be a power of two");
  if (alignment != 32) set("general.alignment", GgufValue::of_u32(static_cast<uint32_t>(alignment)));
}

void GgufWriter::set(const std::string& key, GgufValue v) {
  for (auto& [k, old] : kv_)
    if (k == key) {
      old = std::move(v);
      return;
    }
  kv_.emplace_back(key, std::move(v));
}

void GgufWriter::add_tensor(const std::string& name, const Shape& shape, GgmlType type, std::span<const uint8_t> bytes) {
  if (name.size() > 63) throw Error(ErrorCategory::InvalidArgument, "GGUF tensor name longer than 63 bytes: " + name);
  if (shape.empty() || shape.size() > 4)
    throw Error(ErrorCategory::InvalidArgument, "GGUF tensor '" + name + "' must have 1 to 4 dimensions");
  uint64_t rows = 1;
  for (size_t d = 0; d + 1 < shape.size(); ++d) rows *= static_cast<uint64_t>(shape[d]);
  const uint64_t want = rows * ggml_row_bytes(type, static_cast<uint64_t>(shape.back()));
  if (bytes.size() != want)
    throw Error(ErrorCategory::InvalidArgument, "GGUF tensor '" + name + "': " + std::to_string(bytes.size()) +
                                                    " bytes given, " + std::to_string(want) + " expected");
  for (const auto& t : tensors_)
    if (t.name == name) throw Error(ErrorCategory::InvalidArgument, "duplicate GGUF tensor name '" + name + "'");
  tensors_.push_back({name, shape, type, bytes});
}

void GgufWriter::add_tensor(const std::string& name, const Shape& shape, GgmlType type, std::vector<uint8_t> owned) {
  owned_.push_back(std::make_shared<std::vector<uint8_t>>(std::move(owned)));
  add_tensor(name, shape, type, std::span<const uint8_t>(*owned_.back()));
}

void GgufWriter::write(const std::string& path) const {
  std::string head = "GGUF";
  put<uint32_t>(head, 3);
  put<uint64_t>(head, tensors_.size());
  put<uint64_t>(head, kv_.size());
  for (const auto& [k, v] : kv_) {
    put_string(head, k);
    put_value(head, v, true);
  }
  uint64_t offset = 0;
  auto padded = [&](uint64_t n) { return (n + alignment_ - 1) / alignment_ * alignment_; };
  for (const auto& t : tensors_) {
    put_string(head, t.name);
    put<uint32_t>(head, static_cast<uint32_t>(t.shape.size()));
    for (size_t d = t.shape.size(); d-- > 0;) put<uint64_t>(head, static_cast<uint64_t>(t.shape[d]));  // ne[0] innermost
    put<uint32_t>(head, static_cast<uint32_t>(t.type));
    put<uint64_t>(head, offset);
    offset += padded(t.bytes.size());
  }
  AtomicFile out(path);
  out.write(head.data(), head.size());
  out.write_zeros(padded(head.size()) - head.size());
  for (const auto& t : tensors_) {
    out.write(t.bytes);
    out.write_zeros(padded(t.bytes.size()) - t.bytes.size());
  }
  out.commit();
}

}  // namespace qforge
