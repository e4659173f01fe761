// Synthetic models of real shapes, for speed work only: seeded random weights whose
// statistics resemble a trained LLM's — per-output-channel scales, heavy (Student-t) tails,
// and a few input channels 20–100× larger (the outliers LLM.int8() and SmoothQuant target).
// Accuracy is never claimed on these.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <map>

#include "qforge/model_config.h"
#include "qforge/model_file.h"

namespace qforge {

// llama: tiny, 135m, 1b, 7b-layer; gpt2: tiny, 124m
std::vector<std::string> synth_presets(const std::string& arch = "llama");
ModelConfig synth_config(const std::string& preset, const std::string& arch = "llama");

// Writes DIR/config.json + DIR/model.safetensors (bf16), or a GGUF file (f16) when `gguf`.
// Returns the parameter count.
int64_t write_synthetic_model(const std::string& preset, const std::string& out, bool gguf, uint64_t seed,
                              const std::string& arch = "llama");

// The f32 tensors that give `f` LLM-like activation outliers: `channels` hidden channels
// (seeded, the same in every block) of each norm gain multiplied by 20–100. With
// `same_function` the matching input columns of q/k/v and gate/up are divided by the same
// factor, so the model computes exactly what `f` does. Llama family.
std::map<std::string, Tensor> with_activation_outliers(const ModelFile& f, int64_t channels, uint64_t seed, bool same_function,
                                                       std::vector<int64_t>* chosen = nullptr);

}  // namespace qforge
