// SentencePiece's tokenizer.model: a protobuf ModelProto. Only the fields a tokenizer needs are
// read; everything else is skipped by wire type, so newer files with more fields still load.
//   ModelProto      1: repeated SentencePiece {1: piece, 2: score (f32), 3: type (enum)}
//                   2: TrainerSpec {3: model_type (1 unigram, 2 bpe), 35: byte_fallback,
//                                   40: unk_id, 41: bos_id, 42: eos_id}
//                   3: NormalizerSpec {1: name, 3: add_dummy_prefix (default true)}
// Piece types (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte) are llama.cpp's.
#include "formats/byte_reader.h"
#include "qforge/mapped_file.h"
#include "qforge/model_file.h"

namespace qforge {
namespace {

enum Wire : uint32_t { Varint = 0, Fixed64 = 1, Bytes = 2, Fixed32 = 5 };

class ProtoReader {
 public:
  ProtoReader(std::span<const uint8_t> bytes, const std::string& file) : r_(bytes, file) {}
  bool done() const { return r_.remaining() == 0; }

  uint64_t varint(std::string_view field) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const auto b = r_.read<uint8_t>(field);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    r_.fail(field, "varint longer than 10 bytes");
  }
  // (field number, wire type) of the next entry
  std::pair<uint32_t, uint32_t> key(std::string_view where) {
    const uint64_t k = varint(where);
    if ((k >> 3) == 0 || (k >> 3) > 0x1FFFFFFF) r_.fail(where, "invalid field number " + std::to_string(k >> 3));
    return {static_cast<uint32_t>(k >> 3), static_cast<uint32_t>(k & 7)};
  }
  std::span<const uint8_t> bytes(std::string_view field) { return r_.take(varint(field), field); }
  float f32(std::string_view field) { return r_.read<float>(field); }
  void skip(uint32_t wire, std::string_view field) {
    switch (wire) {
      case Varint: varint(field); return;
      case Fixed64: r_.take(8, field); return;
      case Bytes: bytes(field); return;
      case Fixed32: r_.take(4, field); return;
      default: r_.fail(field, "unsupported protobuf wire type " + std::to_string(wire));
    }
  }
  [[noreturn]] void fail(std::string_view field, const std::string& what) const { r_.fail(field, what); }
  void expect(uint32_t wire, uint32_t want, std::string_view field) const {
    if (wire != want) fail(field, "wire type " + std::to_string(wire) + ", expected " + std::to_string(want));
  }

 private:
  formats::ByteReader r_;
};

struct TrainerSpec {
  int64_t model_type = 1;  // protobuf default: unigram
  int64_t unk = 0, bos = 1, eos = 2;
};

TrainerSpec parse_trainer_spec(std::span<const uint8_t> b, const std::string& path) {
  ProtoReader p(b, path);
  TrainerSpec t;
  while (!p.done()) {
    const auto key = p.key("trainer_spec");
    const uint32_t field = key.first, wire = key.second;  // named copies: lambdas cannot capture bindings in clang 14
    auto as_int = [&](const char* name) {
      p.expect(wire, Varint, name);
      return static_cast<int64_t>(static_cast<int32_t>(p.varint(name)));  // int32 fields, sign-extended on the wire
    };
    if (field == 3) t.model_type = as_int("trainer_spec.model_type");
    else if (field == 40) t.unk = as_int("trainer_spec.unk_id");
    else if (field == 41) t.bos = as_int("trainer_spec.bos_id");
    else if (field == 42) t.eos = as_int("trainer_spec.eos_id");
    else p.skip(wire, "trainer_spec");
  }
  return t;
}

bool parse_add_dummy_prefix(std::span<const uint8_t> b, const std::string& path) {
  ProtoReader p(b, path);
  bool add = true;
  while (!p.done()) {
    const auto [field, wire] = p.key("normalizer_spec");
    if (field == 3) {
      p.expect(wire, Varint, "normalizer_spec.add_dummy_prefix");
      add = p.varint("normalizer_spec.add_dummy_prefix") != 0;
    } else {
      p.skip(wire, "normalizer_spec");
    }
  }
  return add;
}

}  // namespace

Vocab parse_sentencepiece_model(std::span<const uint8_t> bytes, const std::string& path) {
  ProtoReader p(bytes, path);
  Vocab v;
  v.model = "llama";
  TrainerSpec spec;
  while (!p.done()) {
    const auto [field, wire] = p.key("model");
    if (field == 1) {
      const std::string where = "pieces[" + std::to_string(v.tokens.size()) + "]";
      p.expect(wire, Bytes, where);
      ProtoReader sp(p.bytes(where), path);
      std::string piece;
      float score = 0;
      int32_t type = 1;
      while (!sp.done()) {
        const auto [f, w] = sp.key(where);
        if (f == 1) {
          sp.expect(w, Bytes, where + ".piece");
          const auto s = sp.bytes(where + ".piece");
          piece.assign(reinterpret_cast<const char*>(s.data()), s.size());
        } else if (f == 2) {
          sp.expect(w, Fixed32, where + ".score");
          score = sp.f32(where + ".score");
        } else if (f == 3) {
          sp.expect(w, Varint, where + ".type");
          const uint64_t t = sp.varint(where + ".type");
          if (t < 1 || t > 6) sp.fail(where + ".type", "unknown piece type " + std::to_string(t));
          type = static_cast<int32_t>(t);
        } else {
          sp.skip(w, where);
        }
      }
      v.tokens.push_back(std::move(piece));
      v.scores.push_back(score);
      v.types.push_back(type);
    } else if (field == 2) {
      p.expect(wire, Bytes, "trainer_spec");
      spec = parse_trainer_spec(p.bytes("trainer_spec"), path);
    } else if (field == 3) {
      p.expect(wire, Bytes, "normalizer_spec");
      v.add_space_prefix = parse_add_dummy_prefix(p.bytes("normalizer_spec"), path);
    } else {
      p.skip(wire, "model");
    }
  }
  if (v.tokens.empty()) p.fail("pieces", "no pieces (not a SentencePiece model?)");
  if (spec.model_type != 2)
    throw Error(ErrorCategory::Unsupported, path + ": trainer_spec.model_type " + std::to_string(spec.model_type) +
                                                " is not supported; supported: 2 (BPE)");
  const auto n = static_cast<int64_t>(v.tokens.size());
  auto id = [&](int64_t x, const char* name) {
    if (x >= n) p.fail(name, std::to_string(x) + " is outside the " + std::to_string(n) + " pieces");
    return x;  // −1 means "none", as in SentencePiece
  };
  v.unk = id(spec.unk, "trainer_spec.unk_id");
  v.bos = id(spec.bos, "trainer_spec.bos_id");
  v.eos = id(spec.eos, "trainer_spec.eos_id");
  v.add_bos = true;
  return v;
}

Vocab read_sentencepiece_model(const std::string& path) {
  const auto m = MappedFile::open(path);
  return parse_sentencepiece_model(m->bytes(), path);
}

}  // namespace qforge
