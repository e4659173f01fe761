// libFuzzer target: the GGUF parser and every block dequantizer, on arbitrary bytes.
#include <cstdint>

#include "qforge/error.h"
#include "qforge/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto f = qforge::parse_gguf({data, size}, "fuzz.gguf");
    for (const auto& t : f.tensors) {
      if (qforge::shape_numel(t.shape) > (1 << 20)) continue;  // bytes are checked; only time is saved
      try {
        (void)f.to_f32(t);
      } catch (const qforge::Error&) {  // types qforge cannot decode are refused, not crashed on
      }
    }
    for (const auto& [k, v] : f.metadata) (void)v.to_display();
  } catch (const qforge::Error&) {
  }
  return 0;
}
