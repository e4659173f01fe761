// Tokenizers. SpmTokenizer is SentencePiece's BPE with byte fallback, driven by a vocabulary
// of pieces and scores (a GGUF "llama" vocabulary, or llama2.c's tokenizer.bin).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "qforge/model_file.h"

namespace qforge {

class SpmTokenizer {
 public:
  explicit SpmTokenizer(const Vocab& vocab);  // throws Error(Unsupported) for non-"llama" vocabularies

  // SentencePiece with add_dummy_prefix: spaces become U+2581 and one is prepended; pieces are
  // merged pairwise, highest score first (leftmost on ties); characters without a piece fall
  // back to <0xHH> byte tokens.
  std::vector<int32_t> encode(std::string_view text, bool add_bos) const;
  // The text of one token following `prev` (the space after BOS is dropped, as SentencePiece does).
  std::string decode_piece(int32_t prev, int32_t id) const;
  std::string decode(std::span<const int32_t> ids) const;

  int32_t bos() const { return bos_; }
  int32_t eos() const { return eos_; }
  size_t size() const { return pieces_.size(); }

 private:
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::vector<int32_t> types_;
  std::unordered_map<std::string, int32_t> index_;
  int32_t byte_token_[256];
  int32_t bos_, eos_, unk_;
};

}  // namespace qforge
