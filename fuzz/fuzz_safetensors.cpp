// libFuzzer target: the safetensors parser — and, for files that say they are one, the reader of
// qforge's checkpoint metadata and packed weights — must reject any bytes with qforge::Error,
// never crash.
#include <cstdint>
#include <cstring>

#include "qforge/error.h"
#include "qforge/qforge_checkpoint.h"
#include "qforge/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto f = qforge::parse_safetensors({data, size}, "fuzz.safetensors");
    uint64_t sum = 0;
    for (const auto& t : f.tensors)  // touch the bytes every tensor claims, so ASan sees any overrun
      for (size_t i = 0; i < t.tensor.nbytes(); i += 64) sum += static_cast<const uint8_t*>(t.tensor.data())[i];
    if (qforge::is_qforge_checkpoint(f)) {
      qforge::ModelFile m;
      m.path = "fuzz.safetensors";
      qforge::add_qforge_checkpoint(m, f);
      for (const auto& t : m.tensors)
        if (t.packed && t.numel() > 0) sum += static_cast<uint64_t>(qforge::tensor_to_f32(t).span<float>()[0] != 0);
    }
    if (sum == 0xFFFFFFFFFFFFFFFFull) __builtin_trap();  // keeps the reads from being optimised away
  } catch (const qforge::Error&) {
  }
  return 0;
}
