// Test helper for the tokenizer oracles: `tokenize_dump TOKENIZER TEXT` encodes each line of
// TEXT (without its newline, no BOS) with the tokenizer in TOKENIZER (a tokenizer.json,
// tokenizer.model, or any model file) and prints one line of space-separated ids per line.
#include <cstdio>
#include <fstream>
#include <string>

#include "qforge/error.h"
#include "qforge/model_file.h"
#include "qforge/tokenizer.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: tokenize_dump TOKENIZER TEXT\n");
    return 2;
  }
  try {
    const std::string path = argv[1];
    qforge::Vocab vocab;
    if (path.ends_with(".json")) vocab = qforge::read_tokenizer_json(path);
    else if (path.ends_with(".model")) vocab = qforge::read_sentencepiece_model(path);
    else vocab = qforge::open_model(path).vocab.value();
    const auto tok = qforge::make_tokenizer(vocab);
    std::ifstream in(argv[2], std::ios::binary);
    std::string line, out;
    while (std::getline(in, line)) {
      out.clear();
      for (const int32_t id : tok->encode(line, false)) out += (out.empty() ? "" : " ") + std::to_string(id);
      std::printf("%s\n", out.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tokenize_dump: %s\n", e.what());
    return 1;
  }
  return 0;
}
