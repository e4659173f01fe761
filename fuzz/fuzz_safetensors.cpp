// libFuzzer target: the safetensors parser must reject any bytes with qforge::Error, never crash.
#include <cstdint>
#include <cstring>

#include "qforge/error.h"
#include "qforge/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto f = qforge::parse_safetensors({data, size}, "fuzz.safetensors");
    uint64_t sum = 0;
    for (const auto& t : f.tensors)  // touch the bytes every tensor claims, so ASan sees any overrun
      for (size_t i = 0; i < t.tensor.nbytes(); i += 64) sum += static_cast<const uint8_t*>(t.tensor.data())[i];
    if (sum == 0xFFFFFFFFFFFFFFFFull) __builtin_trap();  // keeps the reads from being optimised away
  } catch (const qforge::Error&) {
  }
  return 0;
}
