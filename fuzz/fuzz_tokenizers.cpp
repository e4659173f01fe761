// libFuzzer target: tokenizer.model (protobuf) and tokenizer.json on arbitrary bytes; what
// parses is built into a tokenizer and made to encode and decode a short text.
#include <cstdint>
#include <string>

#include "qforge/error.h"
#include "qforge/model_file.h"
#include "qforge/tokenizer.h"

namespace {
void exercise(const qforge::Vocab& v) {
  try {
    const auto tok = qforge::make_tokenizer(v);
    const auto ids = tok->encode("Hello  world 123 \xE2\x9C\x93\n", true);
    (void)tok->decode(ids);
  } catch (const qforge::Error&) {
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    exercise(qforge::parse_sentencepiece_model({data, size}, "fuzz.model"));
  } catch (const qforge::Error&) {
  }
  try {
    exercise(qforge::parse_tokenizer_json(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json"));
  } catch (const qforge::Error&) {
  }
  return 0;
}
