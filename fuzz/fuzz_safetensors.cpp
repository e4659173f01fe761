// libFuzzer target: the safetensors parser must reject any bytes with qforge::Error, never crash.
#include <cstdint>
#include <cstring>

#include "qforge/error.h"
#include "qforge/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto f = qforge::parse_safetensors({data, size}, "fuzz.safetensors");
    volatile uint64_t sink = 0;
    for (const auto& t : f.tensors)  // touch every byte a tensor claims
      for (size_t i = 0; i < t.tensor.nbytes(); i += 64) sink += static_cast<const uint8_t*>(t.tensor.data())[i];
  } catch (const qforge::Error&) {
  }
  return 0;
}
