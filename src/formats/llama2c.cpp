// llama2.c checkpoints (the legacy format: a header of 7 int32s, then fp32 weights) and
// their tokenizer.bin.
#include <filesystem>

#include "formats/byte_reader.h"
#include "qforge/mapped_file.h"
#include "qforge/model_file.h"

namespace qforge {

ModelFile parse_llama2c(std::span<const uint8_t> bytes, const std::string& path, std::shared_ptr<const void> keepalive) {
  formats::ByteReader r(bytes, path);
  const char* names[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
  int64_t h[7];
  for (int i = 0; i < 7; ++i) h[i] = r.read<int32_t>(names[i]);
  // A negative vocab_size means the classifier has its own weights (not shared with the embedding).
  const bool shared = h[5] > 0;
  const int64_t vocab = shared ? h[5] : -h[5];
  for (int i = 0; i < 7; ++i)
    if ((i == 5 ? vocab : h[i]) <= 0 || (i == 5 ? vocab : h[i]) > (1 << 24))
      r.fail(names[i], "value " + std::to_string(h[i]) + " is outside 1..16777216");
  const int64_t dim = h[0], hidden = h[1], layers = h[2], heads = h[3], kv_heads = h[4], seq = h[6];
  if (dim % heads != 0) r.fail("n_heads", std::to_string(heads) + " does not divide dim " + std::to_string(dim));
  if (heads % kv_heads != 0) r.fail("n_kv_heads", std::to_string(kv_heads) + " does not divide n_heads " + std::to_string(heads));
  const int64_t head_dim = dim / heads, kv_dim = kv_heads * head_dim;

  ModelFile f;
  f.path = path;
  f.format = ModelFormat::Llama2c;
  f.file_bytes = bytes.size();
  ModelConfig c;
  c.architecture = "llama";
  c.vocab_size = vocab;
  c.hidden_size = dim;
  c.intermediate_size = hidden;
  c.num_layers = layers;
  c.num_heads = heads;
  c.num_kv_heads = kv_heads;
  c.head_dim = head_dim;
  c.context_length = seq;
  c.norm_eps = 1e-5;  // llama2.c's RMSNorm
  c.rope_theta = 10000;
  c.tie_word_embeddings = shared;
  c.bos_token_id = 1;
  c.eos_token_id = 2;
  c.validate(path);
  f.config = c;

  // Weights in file order; per-layer tensors are stored as [layers, ...] stacks.
  auto add = [&](const std::string& name, Shape shape) {
    uint64_t n = static_cast<uint64_t>(shape_numel(shape)) * 4;
    const auto data = r.take(n, name);
    f.tensors.push_back({name, name, std::move(shape), DType::f32, std::nullopt, data});
  };
  auto add_layers = [&](const std::string& suffix, Shape shape) {
    for (int64_t l = 0; l < layers; ++l) add("blk." + std::to_string(l) + "." + suffix, shape);
  };
  add("token_embd.weight", {vocab, dim});
  add_layers("attn_norm.weight", {dim});
  add_layers("attn_q.weight", {dim, dim});
  add_layers("attn_k.weight", {kv_dim, dim});
  add_layers("attn_v.weight", {kv_dim, dim});
  add_layers("attn_output.weight", {dim, dim});
  add_layers("ffn_norm.weight", {dim});
  add_layers("ffn_gate.weight", {hidden, dim});   // w1
  add_layers("ffn_down.weight", {dim, hidden});   // w2
  add_layers("ffn_up.weight", {hidden, dim});     // w3
  add("output_norm.weight", {dim});
  r.take(static_cast<uint64_t>(seq * head_dim / 2) * 4 * 2, "freq_cis tables");  // RoPE tables, recomputed by qforge
  if (!shared) add("output.weight", {vocab, dim});
  if (r.remaining() != 0) r.fail("weights", std::to_string(r.remaining()) + " bytes left over after the last tensor");
  f.keepalive.push_back(std::move(keepalive));
  return f;
}

ModelFile read_llama2c(const std::string& path) {
  auto m = MappedFile::open(path);
  const auto bytes = m->bytes();
  ModelFile f = parse_llama2c(bytes, path, std::move(m));
  const int64_t vocab = f.config->vocab_size;
  // llama2.c's run.c looks for tokenizer.bin; custom vocabularies are named tok<N>.bin.
  const auto dir = std::filesystem::path(path).parent_path();
  for (const auto& name : {std::string("tokenizer.bin"), "tok" + std::to_string(vocab) + ".bin"}) {
    if (std::filesystem::exists(dir / name)) {
      f.vocab = read_llama2c_tokenizer((dir / name).string(), vocab);
      break;
    }
  }
  return f;
}

Vocab read_llama2c_tokenizer(const std::string& path, int64_t vocab_size) {
  const auto m = MappedFile::open(path);
  return parse_llama2c_tokenizer(m->bytes(), path, vocab_size);
}

Vocab parse_llama2c_tokenizer(std::span<const uint8_t> bytes, const std::string& path, int64_t vocab_size) {
  formats::ByteReader r(bytes, path);
  const auto max_len = r.read<int32_t>("max_token_length");
  if (max_len <= 0 || max_len > 65536) r.fail("max_token_length", std::to_string(max_len) + " is outside 1..65536");
  Vocab v;
  v.model = "llama";
  for (int64_t id = 0; id < vocab_size; ++id) {
    const std::string field = "token " + std::to_string(id);
    const float score = r.read<float>(field + " score");
    const auto len = r.read<int32_t>(field + " length");
    if (len < 0 || len > max_len) r.fail(field, "length " + std::to_string(len) + " is outside 0..max_token_length");
    const auto piece_bytes = r.take(static_cast<uint64_t>(len), field);
    std::string text(reinterpret_cast<const char*>(piece_bytes.data()), piece_bytes.size());
    // Restore SentencePiece's pieces: llama2.c wrote U+2581 as ' ' and decorated <s>, </s>.
    int32_t type = 1;
    if (id == 0) { text = "<unk>"; type = 2; }
    else if (id == 1) { text = "<s>"; type = 3; }
    else if (id == 2) { text = "</s>"; type = 3; }
    else if (text.size() == 6 && text.rfind("<0x", 0) == 0 && text[5] == '>') type = 6;
    else {
      std::string piece;
      for (char c : text) piece += c == ' ' ? std::string("\xE2\x96\x81") : std::string(1, c);
      text = piece;
    }
    v.tokens.push_back(std::move(text));
    v.scores.push_back(score);
    v.types.push_back(type);
  }
  v.bos = 1;
  v.eos = 2;
  v.unk = 0;
  return v;
}

}  // namespace qforge
