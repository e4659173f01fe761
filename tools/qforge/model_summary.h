// The summary of a model that `qforge info MODEL` prints (text or JSON).
#pragma once

#include <string>

#include "qforge/model_file.h"

namespace qforge::cli {

void print_model_summary(const ModelFile& m, bool list_tensors, bool json);
std::string human_bytes(uint64_t n);

}  // namespace qforge::cli
