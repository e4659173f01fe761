// GGUF (v3, and v2 which shares its layout): metadata of every value type including nested
// arrays, tensor infos, alignment; zero-copy tensor data. And a writer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "qforge/ggml_types.h"
#include "qforge/tensor.h"

namespace qforge {

enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7, String = 8, Array = 9,
  U64 = 10, I64 = 11, F64 = 12,
};

struct GgufValue {
  GgufType type = GgufType::U32;
  uint64_t u = 0;  // unsigned integers and bool
  int64_t i = 0;   // signed integers
  double f = 0;    // F32 and F64
  std::string s;
  GgufType elem_type = GgufType::U8;  // arrays
  std::vector<GgufValue> items;

  static GgufValue of_u32(uint32_t v);
  static GgufValue of_i32(int32_t v);
  static GgufValue of_u64(uint64_t v);
  static GgufValue of_f32(float v);
  static GgufValue of_bool(bool v);
  static GgufValue of_string(std::string v);
  static GgufValue of_array(GgufType elem, std::vector<GgufValue> items);

  bool is_integer() const;
  std::optional<int64_t> as_int() const;  // any integer type that fits
  std::optional<double> as_float() const; // F32/F64 or an integer
  // Short human form: scalars in full, arrays as "[n × type] first items…".
  std::string to_display(size_t max_items = 4) const;
};

std::string_view gguf_type_name(GgufType t);

struct GgufTensor {
  std::string name;
  Shape shape;        // outermost first (GGUF stores ne[] innermost first; this is reversed)
  GgmlType type;
  uint64_t offset;    // within the data section
  std::span<const uint8_t> data;
};

struct GgufFile {
  std::string path;
  uint32_t version = 3;
  uint64_t alignment = 32;
  std::vector<std::pair<std::string, GgufValue>> metadata;  // file order
  std::vector<GgufTensor> tensors;                          // file order
  std::shared_ptr<const void> keepalive;

  const GgufValue* find(std::string_view key) const;
  const GgufTensor* find_tensor(std::string_view name) const;
  std::optional<std::string> get_string(std::string_view key) const;
  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;
  // f32 copy of a tensor, dequantized with the reference codec.
  Tensor to_f32(const GgufTensor& t) const;
};

GgufFile parse_gguf(std::span<const uint8_t> bytes, const std::string& path, std::shared_ptr<const void> keepalive = {});
GgufFile read_gguf(const std::string& path);

class GgufWriter {
 public:
  explicit GgufWriter(uint64_t alignment = 32);
  void set(const std::string& key, GgufValue v);  // keeps insertion order; replaces an existing key
  // bytes must stay alive until write(); they are ggml_row_bytes(type, ·) per row.
  void add_tensor(const std::string& name, const Shape& shape, GgmlType type, std::span<const uint8_t> bytes);
  void add_tensor(const std::string& name, const Shape& shape, GgmlType type, std::vector<uint8_t> owned);
  void write(const std::string& path) const;  // atomic

 private:
  struct Pending {
    std::string name;
    Shape shape;
    GgmlType type;
    std::span<const uint8_t> bytes;
  };
  uint64_t alignment_;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<Pending> tensors_;
  std::vector<std::shared_ptr<std::vector<uint8_t>>> owned_;
};

}  // namespace qforge
