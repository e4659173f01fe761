// Synthetic models of real shapes, for speed work only: seeded random weights whose
// statistics resemble a trained LLM's — per-output-channel scales, heavy (Student-t) tails,
// and a few input channels 20–100× larger (the outliers LLM.int8() and SmoothQuant target).
// Accuracy is never claimed on these.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qforge/model_config.h"

namespace qforge {

// llama: tiny, 135m, 1b, 7b-layer; gpt2: tiny, 124m
std::vector<std::string> synth_presets(const std::string& arch = "llama");
ModelConfig synth_config(const std::string& preset, const std::string& arch = "llama");

// Writes DIR/config.json + DIR/model.safetensors (bf16), or a GGUF file (f16) when `gguf`.
// Returns the parameter count.
int64_t write_synthetic_model(const std::string& preset, const std::string& out, bool gguf, uint64_t seed,
                              const std::string& arch = "llama");

}  // namespace qforge
