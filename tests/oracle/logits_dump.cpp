// Test helper for the numpy oracles: `logits_dump MODEL ID...` runs the ids through the
// engine as one prompt and writes every position's logits (n × vocab f32) to stdout.
#include <cstdio>
#include <string>
#include <vector>

#include "qforge/engine.h"
#include "qforge/error.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: logits_dump MODEL ID...\n");
    return 2;
  }
  try {
    const qforge::ModelFile file = qforge::open_model(argv[1]);
    auto model = qforge::Model::load(file);
    std::vector<int32_t> ids;
    for (int i = 2; i < argc; ++i) ids.push_back(static_cast<int32_t>(std::stol(argv[i])));
    const auto logits = model->forward(ids, true);
    std::fwrite(logits.data(), sizeof(float), logits.size(), stdout);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "logits_dump: %s\n", e.what());
    return 1;
  }
  return 0;
}
