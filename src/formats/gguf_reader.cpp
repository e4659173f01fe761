// GGUF reader. The file is hostile input: every count, length and offset is checked
// against the bytes that remain before anything is allocated or read.
#include <algorithm>
#include <set>

#include "formats/byte_reader.h"
#include "qforge/gguf.h"
#include "qforge/mapped_file.h"

namespace qforge {
namespace {

using formats::ByteReader;

constexpr uint64_t kMaxKeyLen = 65535;
constexpr uint64_t kMaxNameLen = 63;  // ggml's GGML_MAX_NAME (64) includes the NUL
constexpr int kMaxArrayDepth = 8;
constexpr uint32_t kMaxDims = 4;

// Smallest encoding of one value of a type, so a count can be checked before allocating.
uint64_t min_encoded_size(GgufType t) {
  switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::Bool: return 1;
    case GgufType::U16: case GgufType::I16: return 2;
    case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
    case GgufType::U64: case GgufType::I64: case GgufType::F64: case GgufType::String: return 8;
    case GgufType::Array: return 12;
  }
  return 1;
}

bool valid_type(uint32_t t) { return t <= 12; }

GgufValue read_value(ByteReader& r, GgufType type, const std::string& key, int depth) {
  GgufValue v;
  v.type = type;
  const std::string field = "metadata '" + key + "'";
  switch (type) {
    case GgufType::U8: v.u = r.read<uint8_t>(field); break;
    case GgufType::I8: v.i = r.read<int8_t>(field); break;
    case GgufType::U16: v.u = r.read<uint16_t>(field); break;
    case GgufType::I16: v.i = r.read<int16_t>(field); break;
    case GgufType::U32: v.u = r.read<uint32_t>(field); break;
    case GgufType::I32: v.i = r.read<int32_t>(field); break;
    case GgufType::U64: v.u = r.read<uint64_t>(field); break;
    case GgufType::I64: v.i = r.read<int64_t>(field); break;
    case GgufType::F32: v.f = r.read<float>(field); break;
    case GgufType::F64: v.f = r.read<double>(field); break;
    case GgufType::Bool: {
      const auto b = r.read<uint8_t>(field);
      if (b > 1) r.fail(field, "bool value " + std::to_string(b) + " is neither 0 nor 1");
      v.u = b;
      break;
    }
    case GgufType::String: v.s = std::string(r.read_string(field, r.remaining())); break;
    case GgufType::Array: {
      if (depth >= kMaxArrayDepth) r.fail(field, "arrays nested deeper than " + std::to_string(kMaxArrayDepth));
      const auto et = r.read<uint32_t>(field);
      if (!valid_type(et)) r.fail(field, "unknown array element type " + std::to_string(et));
      v.elem_type = static_cast<GgufType>(et);
      const auto n = r.read<uint64_t>(field);
      if (n > r.remaining() / min_encoded_size(v.elem_type))
        r.fail(field, "array of " + std::to_string(n) + " elements cannot fit in the " + std::to_string(r.remaining()) +
                          " bytes that remain");
      v.items.reserve(static_cast<size_t>(n));
      for (uint64_t k = 0; k < n; ++k) v.items.push_back(read_value(r, v.elem_type, key, depth + 1));
      break;
    }
  }
  return v;
}

}  // namespace

const GgufValue* GgufFile::find(std::string_view key) const {
  for (const auto& [k, v] : metadata)
    if (k == key) return &v;
  return nullptr;
}

const GgufTensor* GgufFile::find_tensor(std::string_view name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v || v->type != GgufType::String) return std::nullopt;
  return v->s;
}
std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = find(key);
  return v ? v->as_int() : std::nullopt;
}
std::optional<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  return v ? v->as_float() : std::nullopt;
}

Tensor GgufFile::to_f32(const GgufTensor& t) const {
  Tensor out = Tensor::zeros(DType::f32, t.shape);
  ggml_dequantize(t.type, t.data, out.mutable_span<float>());
  return out;
}

GgufFile parse_gguf(std::span<const uint8_t> bytes, const std::string& path, std::shared_ptr<const void> keepalive) {
  ByteReader r(bytes, path);
  GgufFile f;
  f.path = path;
  f.keepalive = std::move(keepalive);
  const auto magic = r.take(4, "magic");
  if (std::memcmp(magic.data(), "GGUF", 4) != 0) r.fail("magic", "not a GGUF file (expected \"GGUF\")");
  f.version = r.read<uint32_t>("version");
  if (f.version == 0x03000000u || f.version == 0x02000000u) r.fail("version", "big-endian GGUF is not supported");
  if (f.version == 1) r.fail("version", "GGUF version 1 is obsolete and not supported; supported: 2, 3");
  if (f.version != 2 && f.version != 3) r.fail("version", std::to_string(f.version) + " is not supported; supported: 2, 3");
  const auto n_tensors = r.read<uint64_t>("tensor_count");
  const auto n_kv = r.read<uint64_t>("metadata_kv_count");
  if (n_kv > r.remaining() / 13) r.fail("metadata_kv_count", std::to_string(n_kv) + " entries cannot fit in the file");
  if (n_tensors > r.remaining() / 24) r.fail("tensor_count", std::to_string(n_tensors) + " tensors cannot fit in the file");

  std::set<std::string> keys;
  for (uint64_t k = 0; k < n_kv; ++k) {
    const std::string key(r.read_string("metadata key", kMaxKeyLen));
    if (!formats::is_valid_utf8(key)) r.fail("metadata key", "is not valid UTF-8");
    if (!keys.insert(key).second) r.fail("metadata '" + key + "'", "duplicate key");
    const auto t = r.read<uint32_t>("metadata '" + key + "' type");
    if (!valid_type(t)) r.fail("metadata '" + key + "'", "unknown value type " + std::to_string(t));
    f.metadata.emplace_back(key, read_value(r, static_cast<GgufType>(t), key, 0));
  }
  if (const GgufValue* a = f.find("general.alignment")) {
    const auto v = a->as_int();
    if (a->type != GgufType::U32 || !v || *v == 0 || (*v & (*v - 1)) != 0)
      r.fail("general.alignment", "must be a u32 power of two");
    f.alignment = static_cast<uint64_t>(*v);
  }

  std::set<std::string> names;
  for (uint64_t k = 0; k < n_tensors; ++k) {
    GgufTensor t;
    t.name = std::string(r.read_string("tensor name", 1 << 16));
    const std::string field = "tensor '" + t.name + "'";
    if (t.name.size() > kMaxNameLen) r.fail(field, "name longer than 63 bytes");
    if (!formats::is_valid_utf8(t.name)) r.fail("tensor name", "is not valid UTF-8");
    if (!names.insert(t.name).second) r.fail(field, "duplicate tensor name");
    const auto n_dims = r.read<uint32_t>(field + " n_dims");
    if (n_dims == 0 || n_dims > kMaxDims) r.fail(field, "n_dims " + std::to_string(n_dims) + " is outside 1..4");
    uint64_t count = 1;
    std::vector<uint64_t> ne(n_dims);
    for (uint32_t d = 0; d < n_dims; ++d) {
      ne[d] = r.read<uint64_t>(field + " ne");
      if (ne[d] > static_cast<uint64_t>(INT64_MAX) || formats::mul_overflows(count, ne[d], &count) ||
          count > static_cast<uint64_t>(INT64_MAX))
        r.fail(field, "dimensions overflow the element count");
    }
    const auto type_id = r.read<uint32_t>(field + " type");
    const GgmlTypeInfo* info = ggml_type_info(type_id);
    if (!info) r.fail(field, "unknown ggml type id " + std::to_string(type_id));
    t.type = info->type;
    if (ne[0] % static_cast<uint64_t>(info->block_elems) != 0)
      r.fail(field, "row length " + std::to_string(ne[0]) + " is not a multiple of the " + std::string(info->name) +
                        " block size " + std::to_string(info->block_elems));
    t.offset = r.read<uint64_t>(field + " offset");
    if (t.offset % f.alignment != 0)
      r.fail(field, "offset " + std::to_string(t.offset) + " is not a multiple of the alignment " + std::to_string(f.alignment));
    for (size_t d = ne.size(); d-- > 0;) t.shape.push_back(static_cast<int64_t>(ne[d]));
    f.tensors.push_back(std::move(t));
  }
  // The data section starts at the next multiple of the alignment.
  const uint64_t data_start = (r.offset() + f.alignment - 1) / f.alignment * f.alignment;
  if (data_start > bytes.size() && !f.tensors.empty()) r.fail("data", "file ends before its tensor data");
  const auto data = data_start <= bytes.size() ? bytes.subspan(static_cast<size_t>(data_start)) : std::span<const uint8_t>{};
  std::vector<const GgufTensor*> by_offset;
  for (auto& t : f.tensors) {
    const std::string field = "tensor '" + t.name + "'";
    uint64_t nbytes = 0, rows = 1;
    for (size_t d = 0; d + 1 < t.shape.size(); ++d) rows *= static_cast<uint64_t>(t.shape[d]);
    if (formats::mul_overflows(ggml_row_bytes(t.type, static_cast<uint64_t>(t.shape.back())), rows, &nbytes))
      r.fail(field, "byte size overflows");
    uint64_t end;
    if (formats::add_overflows(t.offset, nbytes, &end) || end > data.size())
      r.fail(field, "data [" + std::to_string(t.offset) + ", +" + std::to_string(nbytes) + ") runs past the end of the file");
    t.data = data.subspan(static_cast<size_t>(t.offset), static_cast<size_t>(nbytes));
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t k = 1; k < by_offset.size(); ++k)
    if (by_offset[k]->offset < by_offset[k - 1]->offset + by_offset[k - 1]->data.size() && !by_offset[k - 1]->data.empty())
      r.fail("tensor '" + by_offset[k]->name + "'", "overlaps tensor '" + by_offset[k - 1]->name + "'");
  return f;
}

GgufFile read_gguf(const std::string& path) {
  auto m = MappedFile::open(path);
  const auto bytes = m->bytes();
  return parse_gguf(bytes, path, std::move(m));
}

}  // namespace qforge
