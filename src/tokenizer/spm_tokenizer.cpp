#include <cstdio>
#include <queue>

#include "qforge/error.h"
#include "qforge/tokenizer.h"

namespace qforge {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

size_t utf8_len(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) return 2;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0) return 4;
  return 1;  // a stray continuation byte stands alone (and falls back to its byte token)
}

}  // namespace

SpmTokenizer::SpmTokenizer(const Vocab& v)
    : pieces_(v.tokens), scores_(v.scores), types_(v.types), unk_(static_cast<int32_t>(v.unk)),
      space_prefix_(v.add_space_prefix) {
  bos_ = static_cast<int32_t>(v.bos);
  eos_ = static_cast<int32_t>(v.eos);
  add_bos_ = v.add_bos;
  scores_.resize(pieces_.size(), 0.0f);
  types_.resize(pieces_.size(), 1);
  for (size_t i = 0; i < pieces_.size(); ++i) index_.emplace(pieces_[i], static_cast<int32_t>(i));
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    const auto it = index_.find(name);
    byte_token_[b] = it == index_.end() ? unk_ : it->second;
  }
}

std::vector<int32_t> SpmTokenizer::encode(std::string_view text, bool add_bos) const {
  std::vector<int32_t> out;
  if (add_bos) out.push_back(bos_);
  if (text.empty()) return out;
  std::string s(space_prefix_ ? kSpace : std::string_view());
  for (char ch : text) {
    if (ch == ' ') s += kSpace;
    else s += ch;
  }
  // Symbols form a linked list over s; each starts as one UTF-8 character.
  struct Sym {
    int prev, next;
    size_t begin, len;
  };
  std::vector<Sym> sym;
  for (size_t i = 0; i < s.size();) {
    const size_t n = std::min(utf8_len(static_cast<unsigned char>(s[i])), s.size() - i);
    sym.push_back({static_cast<int>(sym.size()) - 1, static_cast<int>(sym.size()) + 1, i, n});
    i += n;
  }
  sym.back().next = -1;
  struct Bigram {
    float score;
    int left;
    size_t len;
    bool operator<(const Bigram& o) const { return score < o.score || (score == o.score && left > o.left); }
  };
  std::priority_queue<Bigram> heap;
  auto try_pair = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    const auto it = index_.find(s.substr(sym[static_cast<size_t>(l)].begin, sym[static_cast<size_t>(l)].len + sym[static_cast<size_t>(r)].len));
    if (it != index_.end()) heap.push({scores_[static_cast<size_t>(it->second)], l, sym[static_cast<size_t>(l)].len + sym[static_cast<size_t>(r)].len});
  };
  for (int i = 0; i + 1 < static_cast<int>(sym.size()); ++i) try_pair(i, i + 1);
  while (!heap.empty()) {
    const Bigram b = heap.top();
    heap.pop();
    Sym& left = sym[static_cast<size_t>(b.left)];
    if (left.len == 0 || left.next < 0) continue;
    Sym& right = sym[static_cast<size_t>(left.next)];
    if (left.len + right.len != b.len) continue;  // stale: one side has merged since
    left.len += right.len;
    right.len = 0;
    left.next = right.next;
    if (left.next >= 0) sym[static_cast<size_t>(left.next)].prev = b.left;
    try_pair(left.prev, b.left);
    try_pair(b.left, left.next);
  }
  for (int i = 0; i >= 0 && i < static_cast<int>(sym.size()); i = sym[static_cast<size_t>(i)].next) {
    const Sym& x = sym[static_cast<size_t>(i)];
    const auto it = index_.find(s.substr(x.begin, x.len));
    if (it != index_.end()) {
      out.push_back(it->second);
    } else {
      for (size_t k = 0; k < x.len; ++k) out.push_back(byte_token_[static_cast<unsigned char>(s[x.begin + k])]);
    }
  }
  return out;
}

std::string SpmTokenizer::decode_piece(int32_t prev, int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= pieces_.size()) return {};
  const int32_t type = types_[static_cast<size_t>(id)];
  if (type == 3 || type == 2) return {};  // control (<s>, </s>) and unknown print nothing
  const std::string& p = pieces_[static_cast<size_t>(id)];
  if (type == 6 && p.size() == 6) return std::string(1, static_cast<char>(std::stoi(p.substr(3, 2), nullptr, 16)));
  std::string out;
  for (size_t i = 0; i < p.size();) {
    if (p.compare(i, kSpace.size(), kSpace) == 0) {
      out += ' ';
      i += kSpace.size();
    } else {
      out += p[i++];
    }
  }
  if (prev == bos_ && !out.empty() && out[0] == ' ') out.erase(0, 1);
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  std::string out;
  int32_t prev = -1;
  for (int32_t id : ids) {
    out += decode_piece(prev, id);
    prev = id;
  }
  return out;
}

std::unique_ptr<Tokenizer> make_tokenizer(const Vocab& v) {
  if (v.model == "llama") return std::make_unique<SpmTokenizer>(v);
  if (v.model == "gpt2") return std::make_unique<BpeTokenizer>(v);
  throw Error(ErrorCategory::Unsupported,
              "tokenizer model '" + v.model + "' is not supported; supported: llama (SentencePiece), gpt2 (byte-level BPE)");
}

std::unique_ptr<Tokenizer> make_tokenizer(const ModelFile& f) {
  if (f.vocab) return make_tokenizer(*f.vocab);
  if (!f.vocab_error.empty()) throw Error(ErrorCategory::Unsupported, f.vocab_error);
  throw Error(ErrorCategory::Unsupported, f.path + ": no tokenizer found (tokenizer.json, tokenizer.model, llama2.c "
                                                   "tokenizer.bin or GGUF tokenizer.ggml.*)");
}

}  // namespace qforge
