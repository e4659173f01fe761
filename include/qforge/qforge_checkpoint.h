// qforge's own checkpoint: one .safetensors file that holds weights on any WeightGrid (2–8
// bits, any group size or per channel) with their parameters, the other tensors as float,
// and in its metadata the model config and vocabulary, so it runs on its own. docs/formats.md
// ("qforge checkpoint") lists the keys.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "qforge/model_file.h"
#include "qforge/model_writer.h"
#include "qforge/safetensors.h"
#include "qforge/weight_grid.h"

namespace qforge {

inline constexpr const char* kQforgeCheckpointFormat = "qforge-quantized/1";

// Writes `m` with `quantized` tensors packed, `floats` (f32 tensors a method changed, e.g.
// AWQ's rescaled norms) in place of the file's, `act` the activation quantization of W8A8
// linears (int8 sym per-channel weights), and every other tensor as `others` (f32, f16
// or bf16; 1-D tensors stay f32). `metadata` adds string keys (method, calibration, ...).
std::vector<WrittenTensor> write_qforge_checkpoint(const ModelFile& m, const std::string& path,
                                                   const std::map<std::string, PackedMatrix>& quantized, DType others,
                                                   const std::map<std::string, std::string>& metadata = {},
                                                   const std::map<std::string, Tensor>& floats = {},
                                                   const std::map<std::string, ActQuantSpec>& act = {});

bool is_qforge_checkpoint(const SafetensorsFile& st);
// Fills f (config, vocab, tensors — packed ones with ModelTensor::packed) from a checkpoint.
void add_qforge_checkpoint(ModelFile& f, SafetensorsFile st);

// f32 values stored as `want` (f32, f16 or bf16; round to nearest even).
Tensor narrow_f32(Tensor x, DType want);

// The vocabulary as JSON (qforge.vocab) and back; errors name `where`.
std::string vocab_to_json(const Vocab& v);
Vocab vocab_from_json(const std::string& text, const std::string& where);

// The config as Hugging Face config.json keys (what parse_hf_config reads back).
std::string hf_config_json(const ModelConfig& c);

}  // namespace qforge
