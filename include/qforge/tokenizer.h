// Tokenizers: SentencePiece BPE with byte fallback (a "llama" vocabulary) and byte-level BPE
// (a "gpt2" vocabulary with merges, e.g. SmolLM2), behind one interface.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "qforge/model_file.h"

namespace qforge {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<int32_t> encode(std::string_view text, bool add_bos) const = 0;
  // The text of one token following `prev` (control tokens print nothing).
  virtual std::string decode_piece(int32_t prev, int32_t id) const = 0;
  std::string decode(std::span<const int32_t> ids) const;

  int32_t bos() const { return bos_; }
  int32_t eos() const { return eos_; }
  bool add_bos() const { return add_bos_; }  // whether the model expects BOS first

 protected:
  int32_t bos_ = -1, eos_ = -1;
  bool add_bos_ = true;
};

// Picks the tokenizer the vocabulary asks for; Error(Unsupported) lists what is supported.
std::unique_ptr<Tokenizer> make_tokenizer(const Vocab& vocab);
// The model's own tokenizer; Error(Unsupported) saying why when it has none qforge can run.
std::unique_ptr<Tokenizer> make_tokenizer(const ModelFile& model);

class SpmTokenizer : public Tokenizer {
 public:
  explicit SpmTokenizer(const Vocab& vocab);

  // SentencePiece with add_dummy_prefix: spaces become U+2581 and one is prepended; pieces are
  // merged pairwise, highest score first (leftmost on ties); characters without a piece fall
  // back to <0xHH> byte tokens. Ids equal llama.cpp's.
  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override;
  std::string decode_piece(int32_t prev, int32_t id) const override;

 private:
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::vector<int32_t> types_;
  std::unordered_map<std::string, int32_t> index_;
  int32_t byte_token_[256];
  int32_t unk_;
  bool space_prefix_;
};

class BpeTokenizer : public Tokenizer {
 public:
  explicit BpeTokenizer(const Vocab& vocab);

  // Pre-tokenizes with the vocabulary's pattern (gpt2; smollm: every digit alone first; llama3
  // and qwen2: letters with one leading symbol, digits in threes or alone, newlines apart),
  // maps bytes to GPT-2's printable characters and applies the merges, lowest rank first.
  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override;
  std::string decode_piece(int32_t prev, int32_t id) const override;

 private:
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;
  std::vector<std::string> tokens_;
  std::vector<int32_t> types_;
  std::unordered_map<std::string, int32_t> index_;
  std::unordered_map<std::string, int32_t> merge_rank_;  // "left right" → rank
  std::string byte_char_[256];                           // byte → its printable stand-in (UTF-8)
  std::unordered_map<uint32_t, uint8_t> char_byte_;      // the inverse, by codepoint
  bool split_digits_ = false;
  size_t llama3_digits_ = 0;  // > 0: Llama 3's pattern with digit runs of at most this many (Qwen2: 1)
  bool ignore_merges_ = false;
  int32_t unk_;
};

}  // namespace qforge
