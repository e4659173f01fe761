// Test helper for the gguf-py oracle:
//   ggml_dump quantize TYPE    < f32 values  > blocks
//   ggml_dump dequantize TYPE  < blocks      > f32 values
#include <cstdio>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "qforge/error.h"
#include "qforge/ggml_types.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: ggml_dump quantize|dequantize TYPE\n");
    return 2;
  }
  std::vector<uint8_t> in;
  int c;
  while ((c = std::getchar()) != EOF) in.push_back(static_cast<uint8_t>(c));
  try {
    const std::string mode = argv[1];
    const qforge::GgmlType t = qforge::parse_ggml_type(argv[2], mode == "quantize");
    const auto& info = qforge::ggml_type_info(t);
    if (mode == "quantize") {
      std::vector<float> x(in.size() / 4);
      std::memcpy(x.data(), in.data(), x.size() * 4);
      std::vector<uint8_t> out(qforge::ggml_row_bytes(t, x.size()));
      qforge::ggml_quantize(t, x, out);
      std::fwrite(out.data(), 1, out.size(), stdout);
    } else {
      const size_t n = in.size() / static_cast<size_t>(info.block_bytes) * static_cast<size_t>(info.block_elems);
      std::vector<float> y(n);
      qforge::ggml_dequantize(t, in, y);
      std::fwrite(y.data(), 4, y.size(), stdout);
    }
  } catch (const qforge::Error& e) {
    std::fprintf(stderr, "ggml_dump: %s\n", e.what());
    return 1;
  }
  return 0;
}
