// libFuzzer target: llama2.c checkpoints and tokenizer.bin files on arbitrary bytes.
#include <cstdint>

#include "qforge/error.h"
#include "qforge/model_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto m = qforge::parse_llama2c({data, size}, "fuzz.bin", nullptr);
    for (const auto& t : m.tensors) (void)qforge::tensor_to_f32(t);
  } catch (const qforge::Error&) {
  }
  try {
    (void)qforge::parse_llama2c_tokenizer({data, size}, "fuzz-tokenizer.bin", 64);
  } catch (const qforge::Error&) {
  }
  return 0;
}
