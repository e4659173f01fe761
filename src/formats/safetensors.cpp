#include "qforge/safetensors.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "formats/byte_reader.h"
#include "qforge/atomic_file.h"

namespace qforge {
namespace {

using formats::ByteReader;
using nlohmann::json;

constexpr uint64_t kMaxHeader = 100'000'000;  // the reference implementation's limit

struct StDtype {
  const char* name;
  DType dtype;
  int rank;  // position in the reference writer's enum (it sorts by this, descending)
};
// Supported subset of the spec's dtypes, with their place in the Rust enum
// (BOOL, F4, F6_E2M3, F6_E3M2, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ,
//  I16, U16, F16, BF16, I32, U32, F32, C64, F64, I64, U64).
constexpr StDtype kDtypes[] = {
    {"BOOL", DType::boolean, 0}, {"U8", DType::u8, 4},       {"I8", DType::i8, 5},
    {"F8_E5M2", DType::f8_e5m2, 6}, {"F8_E4M3", DType::f8_e4m3, 7}, {"I16", DType::i16, 11},
    {"U16", DType::u16, 12},     {"F16", DType::f16, 13},    {"BF16", DType::bf16, 14},
    {"I32", DType::i32, 15},     {"U32", DType::u32, 16},    {"F32", DType::f32, 17},
    {"F64", DType::f64, 19},     {"I64", DType::i64, 20},    {"U64", DType::u64, 21}};
constexpr const char* kKnownButUnsupported[] = {"F4", "F6_E2M3", "F6_E3M2", "F8_E8M0", "F8_E4M3FNUZ",
                                                "F8_E5M2FNUZ", "C64"};

const StDtype* find_dtype(const std::string& s) {
  for (const auto& d : kDtypes)
    if (s == d.name) return &d;
  return nullptr;
}
const StDtype& dtype_entry(DType t) {
  for (const auto& d : kDtypes)
    if (d.dtype == t) return d;
  throw Error(ErrorCategory::Unsupported, "safetensors cannot store dtype " + std::string(dtype_name(t)));
}

std::string supported_list() {
  std::string s;
  for (const auto& d : kDtypes) s += std::string(s.empty() ? "" : ", ") + d.name;
  return s;
}

// JSON string escaping as serde_json does it (so headers match the reference byte for byte).
void append_json_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          static const char* hex = "0123456789abcdef";
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

}  // namespace

std::optional<std::string> safetensors_dtype_name(DType t) {
  for (const auto& d : kDtypes)
    if (d.dtype == t) return std::string(d.name);
  return std::nullopt;
}

const Tensor* SafetensorsFile::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t.tensor;
  return nullptr;
}

SafetensorsFile parse_safetensors(std::span<const uint8_t> bytes, const std::string& path,
                                  std::shared_ptr<const void> keepalive) {
  ByteReader r(bytes, path);
  const auto n = r.read<uint64_t>("header length");
  if (n > kMaxHeader) r.fail("header length", std::to_string(n) + " exceeds the 100000000-byte limit");
  const auto header = r.take(n, "header");
  const auto buffer = bytes.subspan(r.offset());
  if (n == 0 || header[0] != '{') r.fail("header", "JSON must start with '{'");

  // Duplicate top-level keys are an error, so watch the parser's key events.
  std::set<std::string> seen;
  std::string duplicate;
  const json::parser_callback_t watch = [&](int depth, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::key && depth == 1) {
      const std::string& k = parsed.get_ref<const std::string&>();
      if (!seen.insert(k).second && duplicate.empty()) duplicate = k;
    }
    return true;
  };
  const json h = json::parse(header.begin(), header.end(), watch, /*allow_exceptions=*/false);
  if (h.is_discarded()) r.fail("header", "is not valid JSON (or not UTF-8)");
  if (!h.is_object()) r.fail("header", "is not a JSON object");
  if (!duplicate.empty()) r.fail("header", "duplicate tensor name '" + duplicate + "'");

  SafetensorsFile f;
  f.path = path;
  struct Span {
    uint64_t begin, end;
    size_t index;
  };
  std::vector<Span> spans;
  for (const auto& [name, v] : h.items()) {
    const std::string where = "tensor '" + name + "'";
    if (name == "__metadata__") {
      if (!v.is_object()) r.fail("__metadata__", "must be an object of strings");
      for (const auto& [k, mv] : v.items()) {
        if (!mv.is_string()) r.fail("__metadata__", "value of '" + k + "' is not a string");
        f.metadata[k] = mv.get<std::string>();
      }
      continue;
    }
    if (!v.is_object()) r.fail(where, "entry is not an object");
    if (!v.contains("dtype") || !v["dtype"].is_string()) r.fail(where, "missing string 'dtype'");
    const std::string ds = v["dtype"].get<std::string>();
    const StDtype* dt = find_dtype(ds);
    if (!dt) {
      const bool known = std::any_of(std::begin(kKnownButUnsupported), std::end(kKnownButUnsupported),
                                     [&](const char* k) { return ds == k; });
      r.fail(where, (known ? "dtype " + ds + " is not supported yet" : "unknown dtype '" + ds + "'") +
                        "; supported: " + supported_list());
    }
    if (!v.contains("shape") || !v["shape"].is_array()) r.fail(where, "missing array 'shape'");
    Shape shape;
    uint64_t count = 1;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) r.fail(where, "shape entries must be non-negative integers");
      const auto dim = d.get<uint64_t>();
      if (formats::mul_overflows(count, dim, &count) || dim > static_cast<uint64_t>(INT64_MAX))
        r.fail(where, "element count of the shape overflows");
      shape.push_back(static_cast<int64_t>(dim));
    }
    if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2 ||
        !v["data_offsets"][0].is_number_unsigned() || !v["data_offsets"][1].is_number_unsigned())
      r.fail(where, "'data_offsets' must be [begin, end] with non-negative integers");
    const auto begin = v["data_offsets"][0].get<uint64_t>();
    const auto end = v["data_offsets"][1].get<uint64_t>();
    if (end < begin) r.fail(where, "data_offsets end " + std::to_string(end) + " is before begin " + std::to_string(begin));
    if (end > buffer.size())
      r.fail(where, "data_offsets end " + std::to_string(end) + " is past the end of the data (" +
                        std::to_string(buffer.size()) + " bytes)");
    uint64_t nbytes;
    if (formats::mul_overflows(count, static_cast<uint64_t>(dtype_info(dt->dtype).byte_size()), &nbytes))
      r.fail(where, "byte size overflows");
    if (nbytes != end - begin)
      r.fail(where, "shape " + shape_to_string(shape) + " of " + ds + " needs " + std::to_string(nbytes) +
                        " bytes but data_offsets span " + std::to_string(end - begin));
    spans.push_back({begin, end, f.tensors.size()});
    f.tensors.push_back({name, Tensor::borrow(dt->dtype, std::move(shape), buffer.data() + begin, keepalive)});
  }
  // The buffer must be covered exactly: sorted by offset, each tensor starts where the last ended.
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expect = 0;
  for (const Span& s : spans) {
    const std::string where = "tensor '" + f.tensors[s.index].name + "'";
    if (s.begin < expect) r.fail(where, "overlaps the previous tensor (begins at " + std::to_string(s.begin) + ")");
    if (s.begin > expect) r.fail(where, "leaves a hole: data " + std::to_string(expect) + ".." + std::to_string(s.begin) + " belongs to no tensor");
    expect = s.end;
  }
  if (expect != buffer.size())
    r.fail("data", std::to_string(buffer.size() - expect) + " trailing bytes belong to no tensor");
  std::vector<NamedTensor> ordered;
  ordered.reserve(spans.size());
  for (const Span& s : spans) ordered.push_back(std::move(f.tensors[s.index]));
  f.tensors = std::move(ordered);
  return f;
}

SafetensorsFile read_safetensors(const std::string& path) {
  auto m = MappedFile::open(path);
  const auto bytes = m->bytes();
  return parse_safetensors(bytes, path, std::move(m));
}

SafetensorsFile read_safetensors_index(const std::string& index_path) {
  const auto m = MappedFile::open(index_path);
  const auto b = m->bytes();
  const json idx = json::parse(b.begin(), b.end(), nullptr, false);
  auto bad = [&](const std::string& what) { throw Error(ErrorCategory::BadFile, index_path + ": " + what); };
  if (idx.is_discarded() || !idx.is_object()) bad("is not a JSON object");
  if (!idx.contains("weight_map") || !idx["weight_map"].is_object()) bad("weight_map: missing or not an object");
  const auto dir = std::filesystem::path(index_path).parent_path();
  std::map<std::string, std::vector<std::string>> by_shard;
  for (const auto& [name, shard] : idx["weight_map"].items()) {
    if (!shard.is_string()) bad("weight_map: entry '" + name + "' is not a file name");
    const auto s = shard.get<std::string>();
    if (s.find('/') != std::string::npos || s == ".." || s.empty()) bad("weight_map: shard name '" + s + "' is not a plain file name");
    by_shard[s].push_back(name);
  }
  SafetensorsFile out;
  out.path = index_path;
  if (idx.contains("metadata") && idx["metadata"].is_object())
    for (const auto& [k, v] : idx["metadata"].items()) out.metadata[k] = v.is_string() ? v.get<std::string>() : v.dump();
  for (const auto& [shard, names] : by_shard) {
    SafetensorsFile f = read_safetensors((dir / shard).string());
    for (const auto& name : names)
      if (!f.find(name)) bad("weight_map: tensor '" + name + "' is not in shard " + shard);
    for (auto& t : f.tensors) {
      if (out.find(t.name)) bad("tensor '" + t.name + "' appears in more than one shard");
      out.tensors.push_back(std::move(t));
    }
  }
  return out;
}

std::vector<uint8_t> serialize_safetensors_header(const std::vector<NamedTensor>& sorted,
                                                  const std::map<std::string, std::string>& metadata) {
  std::string j = "{";
  bool first = true;
  if (!metadata.empty()) {
    j += "\"__metadata__\":{";
    for (const auto& [k, v] : metadata) {
      if (!first) j += ',';
      first = false;
      append_json_string(j, k);
      j += ':';
      append_json_string(j, v);
    }
    j += '}';
    first = false;
  }
  uint64_t offset = 0;
  for (const auto& t : sorted) {
    if (!first) j += ',';
    first = false;
    append_json_string(j, t.name);
    j += ":{\"dtype\":\"";
    j += dtype_entry(t.tensor.dtype()).name;
    j += "\",\"shape\":[";
    for (size_t i = 0; i < t.tensor.shape().size(); ++i) {
      if (i) j += ',';
      j += std::to_string(t.tensor.shape()[i]);
    }
    j += "],\"data_offsets\":[" + std::to_string(offset) + ",";
    offset += t.tensor.nbytes();
    j += std::to_string(offset) + "]}";
  }
  j += '}';
  j.append((8 - j.size() % 8) % 8, ' ');
  std::vector<uint8_t> out(8 + j.size());
  const uint64_t n = j.size();
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, j.data(), j.size());
  return out;
}

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<const NamedTensor*> order;
  std::set<std::string> names;
  for (const auto& t : tensors) {
    if (!names.insert(t.name).second)
      throw Error(ErrorCategory::InvalidArgument, path + ": duplicate tensor name '" + t.name + "'");
    if (t.name == "__metadata__") throw Error(ErrorCategory::InvalidArgument, path + ": '__metadata__' is reserved");
    dtype_entry(t.tensor.dtype());  // throws for dtypes safetensors cannot hold
    order.push_back(&t);
  }
  std::stable_sort(order.begin(), order.end(), [](const NamedTensor* a, const NamedTensor* b) {
    const int ra = dtype_entry(a->tensor.dtype()).rank, rb = dtype_entry(b->tensor.dtype()).rank;
    return ra != rb ? ra > rb : a->name < b->name;
  });
  std::vector<NamedTensor> sorted;
  for (const auto* t : order) sorted.push_back(*t);
  AtomicFile out(path);
  out.write(serialize_safetensors_header(sorted, metadata));
  for (const auto& t : sorted) out.write(t.tensor.data(), t.tensor.nbytes());
  out.commit();
}

}  // namespace qforge
