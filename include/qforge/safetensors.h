// safetensors: zero-copy reading (Tensors borrow the memory map), validated as the
// reference implementation validates, and writing with the reference writer's byte layout.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "qforge/mapped_file.h"
#include "qforge/tensor.h"

namespace qforge {

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

struct SafetensorsFile {
  std::string path;
  std::map<std::string, std::string> metadata;  // __metadata__
  std::vector<NamedTensor> tensors;             // in data-offset order
  const Tensor* find(const std::string& name) const;
};

// Parses bytes already in memory; `keepalive` owns them. Error(BadFile) names `path`.
SafetensorsFile parse_safetensors(std::span<const uint8_t> bytes, const std::string& path,
                                  std::shared_ptr<const void> keepalive = {});
SafetensorsFile read_safetensors(const std::string& path);
// A sharded checkpoint through model.safetensors.index.json (every shard it names).
SafetensorsFile read_safetensors_index(const std::string& index_path);

// Byte-for-byte the layout of the reference (Rust) writer: tensors sorted by dtype
// (descending in its enum order) then name, compact JSON with __metadata__ first, header
// padded with spaces to a multiple of 8. Written atomically.
void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
std::vector<uint8_t> serialize_safetensors_header(const std::vector<NamedTensor>& sorted_tensors,
                                                  const std::map<std::string, std::string>& metadata);

// "F32", "BF16", ... ; nullopt for a DType safetensors cannot store (sub-byte codes).
std::optional<std::string> safetensors_dtype_name(DType t);

}  // namespace qforge
