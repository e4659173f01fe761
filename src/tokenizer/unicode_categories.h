// Unicode character classes the byte-level BPE pre-tokenizers need (\p{L}, \p{N}, \s).
#pragma once

#include <cstdint>

namespace qforge::tokenizer {

struct CodepointRange {
  uint32_t first, last;
};

bool is_letter(uint32_t cp);
bool is_number(uint32_t cp);
bool is_whitespace(uint32_t cp);

}  // namespace qforge::tokenizer
