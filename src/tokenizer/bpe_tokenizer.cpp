// Byte-level BPE (GPT-2 style): pre-tokenize, map bytes to printable characters, merge.
#include <climits>

#include "qforge/error.h"
#include "qforge/tokenizer.h"
#include "tokenizer/unicode_categories.h"

namespace qforge {
namespace {

using tokenizer::is_letter;
using tokenizer::is_number;
using tokenizer::is_whitespace;

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes UTF-8 into codepoints with each one's byte offset. Callers pass text that
// replace_invalid_utf8() has cleaned, so every sequence here is well formed.
struct Codepoints {
  std::vector<uint32_t> cp;
  std::vector<size_t> at;  // byte offset of cp[i]; at.back() == text size
};
Codepoints decode_utf8(std::string_view s) {
  Codepoints c;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t len = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
    uint32_t cp = len == 1 ? b : (len == 2 ? b & 0x1F : len == 3 ? b & 0x0F : b & 0x07);
    bool ok = i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto cb = static_cast<unsigned char>(s[i + k]);
      ok = (cb & 0xC0) == 0x80;
      cp = (cp << 6) | (cb & 0x3F);
    }
    if (!ok) {
      len = 1;
      cp = 0xFFFD;
    }
    c.cp.push_back(cp);
    c.at.push_back(i);
    i += len;
  }
  c.at.push_back(s.size());
  return c;
}

// Each byte that does not start a well-formed sequence becomes U+FFFD, as llama.cpp does before
// tokenizing (so such bytes are not preserved, and match its ids).
std::string replace_invalid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const size_t len = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

bool is_other(uint32_t c) { return !is_whitespace(c) && !is_letter(c) && !is_number(c); }

// GPT-2's pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S), with
// characters no alternative matches kept as pieces of their own (llama.cpp's behaviour).
// Returns the length (in codepoints) of the match at i, or 0.
size_t gpt2_match(const std::vector<uint32_t>& c, size_t i, size_t end) {
  if (c[i] == '\'' && i + 1 < end) {
    const uint32_t a = c[i + 1], b = i + 2 < end ? c[i + 2] : 0;
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  }
  const size_t j = c[i] == ' ' && i + 1 < end ? i + 1 : i;  // the optional leading space
  for (auto cls : {is_letter, is_number, is_other}) {
    if (j < end && cls(c[j]) && (j == i || c[i] == ' ')) {
      size_t k = j;
      while (k < end && cls(c[k])) ++k;
      return k - i;
    }
  }
  if (is_whitespace(c[i])) {
    size_t k = i;
    while (k < end && is_whitespace(c[k])) ++k;
    if (k == end) return k - i;          // whitespace up to the end
    if (k - i >= 2) return k - i - 1;    // leave the last space to the word that follows
  }
  return 0;
}

bool is_newline(uint32_t c) { return c == '\r' || c == '\n'; }

uint32_t lower_ascii(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

// Llama 3's pattern (Qwen2's when max_digits is 1), alternatives tried in order as the regex does:
//   (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,max_digits}
//   | ' '?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
// Every character matches some alternative. Returns the match length at i (codepoints).
size_t llama3_match(const std::vector<uint32_t>& c, size_t i, size_t end, size_t max_digits) {
  if (c[i] == '\'' && i + 1 < end) {
    const uint32_t a = lower_ascii(c[i + 1]), b = i + 2 < end ? lower_ascii(c[i + 2]) : 0;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  }
  auto run = [&](size_t k, bool (*cls)(uint32_t)) {
    while (k < end && cls(c[k])) ++k;
    return k;
  };
  // an optional non-letter, non-digit, non-newline character, then letters
  if (!is_newline(c[i]) && !is_letter(c[i]) && !is_number(c[i]) && i + 1 < end && is_letter(c[i + 1]))
    return run(i + 1, is_letter) - i;
  if (is_letter(c[i])) return run(i, is_letter) - i;
  if (is_number(c[i])) {
    size_t k = i;
    while (k < end && k - i < max_digits && is_number(c[k])) ++k;
    return k - i;
  }
  const size_t j = c[i] == ' ' && i + 1 < end && is_other(c[i + 1]) ? i + 1 : i;
  if (is_other(c[j])) return run(run(j, is_other), is_newline) - i;
  // c[i] is whitespace from here on
  const size_t ws_end = run(i, is_whitespace);
  for (size_t k = ws_end; k > i; --k)  // \s*[\r\n]+: up to the last newline of the run
    if (is_newline(c[k - 1])) return k - i;
  if (ws_end == end || ws_end - i == 1) return ws_end - i;  // \s+(?!\S) or, failing that, \s+
  return ws_end - i - 1;  // leave the last space to the word that follows
}

}  // namespace

BpeTokenizer::BpeTokenizer(const Vocab& v) : tokens_(v.tokens), types_(v.types), unk_(static_cast<int32_t>(v.unk)) {
  bos_ = static_cast<int32_t>(v.bos);
  eos_ = static_cast<int32_t>(v.eos);
  add_bos_ = v.add_bos;
  if (v.pre == "smollm") split_digits_ = true;
  else if (v.pre == "llama3" || v.pre == "llama-bpe") llama3_digits_ = 3;
  else if (v.pre == "qwen2") llama3_digits_ = 1;
  else if (!(v.pre.empty() || v.pre == "gpt2" || v.pre == "default"))
    throw Error(ErrorCategory::Unsupported,
                "byte-level BPE pre-tokenizer '" + v.pre + "' is not supported; supported: gpt2, smollm, llama3, qwen2");
  ignore_merges_ = v.ignore_merges;
  if (v.merges.empty()) throw Error(ErrorCategory::BadFile, "byte-level BPE vocabulary without merges");
  types_.resize(tokens_.size(), 1);
  for (size_t i = 0; i < tokens_.size(); ++i) index_.emplace(tokens_[i], static_cast<int32_t>(i));
  for (size_t r = 0; r < v.merges.size(); ++r) merge_rank_.emplace(v.merges[r], static_cast<int32_t>(r));
  // GPT-2's byte ↔ character map: printable Latin-1 bytes stand for themselves, the rest are
  // shifted to U+0100 and up, so every byte has a visible, non-space character.
  uint32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    const uint32_t cp = printable ? static_cast<uint32_t>(b) : next++;
    append_utf8(byte_char_[b], cp);
    char_byte_[cp] = static_cast<uint8_t>(b);
  }
}

void BpeTokenizer::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  std::vector<std::string> sym;
  for (char ch : piece) sym.push_back(byte_char_[static_cast<unsigned char>(ch)]);
  if (ignore_merges_) {
    std::string whole;
    for (const auto& s : sym) whole += s;
    if (const auto it = index_.find(whole); it != index_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  while (sym.size() > 1) {
    int best = INT_MAX;
    size_t at = 0;
    for (size_t i = 0; i + 1 < sym.size(); ++i) {
      const auto it = merge_rank_.find(sym[i] + " " + sym[i + 1]);
      if (it != merge_rank_.end() && it->second < best) {
        best = it->second;
        at = i;
      }
    }
    if (best == INT_MAX) break;
    sym[at] += sym[at + 1];
    sym.erase(sym.begin() + static_cast<long>(at) + 1);
  }
  for (const auto& s : sym) {
    const auto it = index_.find(s);
    out.push_back(it != index_.end() ? it->second : unk_);
  }
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view raw, bool add_bos) const {
  std::vector<int32_t> out;
  if (add_bos) out.push_back(bos_);
  const std::string clean = replace_invalid_utf8(raw);
  const std::string_view text = clean;
  const Codepoints c = decode_utf8(text);
  const size_t n = c.cp.size();
  auto emit = [&](size_t a, size_t b) {  // codepoints [a, b)
    if (a < b) encode_piece(text.substr(c.at[a], c.at[b] - c.at[a]), out);
  };
  if (llama3_digits_ > 0) {
    for (size_t i = 0; i < n;) {
      const size_t len = llama3_match(c.cp, i, n, llama3_digits_);
      emit(i, i + len);
      i += len;
    }
    return out;
  }
  // smollm first isolates every digit; the GPT-2 pattern then runs inside the stretches between.
  size_t seg = 0;
  while (seg < n) {
    size_t seg_end = seg;
    if (split_digits_ && is_number(c.cp[seg])) {
      emit(seg, seg + 1);
      ++seg;
      continue;
    }
    while (seg_end < n && !(split_digits_ && is_number(c.cp[seg_end]))) ++seg_end;
    size_t i = seg, pending = seg;
    while (i < seg_end) {
      const size_t len = gpt2_match(c.cp, i, seg_end);
      if (len == 0) {
        ++i;  // unmatched: gathered into a piece of its own
        continue;
      }
      emit(pending, i);
      emit(i, i + len);
      i += len;
      pending = i;
    }
    emit(pending, seg_end);
    seg = seg_end;
  }
  return out;
}

std::string BpeTokenizer::decode_piece(int32_t, int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size() || types_[static_cast<size_t>(id)] == 3) return {};
  const std::string& t = tokens_[static_cast<size_t>(id)];
  std::string out;
  const Codepoints c = decode_utf8(t);
  for (uint32_t cp : c.cp) {
    const auto it = char_byte_.find(cp);
    if (it != char_byte_.end()) out += static_cast<char>(it->second);
    else append_utf8(out, cp);
  }
  return out;
}

}  // namespace qforge
