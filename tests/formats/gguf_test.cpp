#include <gtest/gtest.h>

#include <cstring>

#include "qforge/gguf.h"
#include "support/temp_dir.h"

namespace qforge {
namespace {

using testing::read_bytes;
using testing::TempDir;

// Builds GGUF bytes field by field, so that tests can corrupt exactly one of them.
struct Builder {
  std::string b;
  template <class T>
  Builder& put(T v) {
    b.append(reinterpret_cast<const char*>(&v), sizeof v);
    return *this;
  }
  Builder& str(const std::string& s) {
    put<uint64_t>(s.size());
    b += s;
    return *this;
  }
  Builder& header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    b += "GGUF";
    return put(version).put(n_tensors).put(n_kv);
  }
  Builder& tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    str(name).put<uint32_t>(static_cast<uint32_t>(ne.size()));
    for (auto d : ne) put(d);
    return put(type).put(offset);
  }
  Builder& pad(size_t align = 32) {
    b.append((align - b.size() % align) % align, '\0');
    return *this;
  }
  Builder& data(size_t n, char c = 1) {
    b.append(n, c);
    return *this;
  }
  std::vector<uint8_t> bytes() const { return {b.begin(), b.end()}; }
};

void expect_bad(const std::vector<uint8_t>& bytes, const std::string& part) {
  try {
    parse_gguf(bytes, "bad.gguf");
    ADD_FAILURE() << "accepted a file that should fail with: " << part;
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(e.category(), ErrorCategory::BadFile) << m;
    EXPECT_NE(m.find("bad.gguf"), std::string::npos) << m;
    EXPECT_NE(m.find(part), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

TEST(Gguf, RoundTripsMetadataOfEveryTypeAndTensors) {
  TempDir dir;
  GgufWriter w;
  w.set("general.architecture", GgufValue::of_string("llama"));
  w.set("u32", GgufValue::of_u32(7));
  w.set("i32", GgufValue::of_i32(-7));
  w.set("u64", GgufValue::of_u64(1ull << 40));
  w.set("f32", GgufValue::of_f32(0.5f));
  w.set("bool", GgufValue::of_bool(true));
  GgufValue u8;
  u8.type = GgufType::U8;
  u8.u = 200;
  w.set("u8", u8);
  GgufValue f64;
  f64.type = GgufType::F64;
  f64.f = 1.0 / 3.0;
  w.set("f64", f64);
  w.set("tokens", GgufValue::of_array(GgufType::String, {GgufValue::of_string("a"), GgufValue::of_string("<0x0A>")}));
  w.set("nested", GgufValue::of_array(GgufType::Array, {GgufValue::of_array(GgufType::I32, {GgufValue::of_i32(1), GgufValue::of_i32(-2)}),
                                                        GgufValue::of_array(GgufType::I32, {})}));
  std::vector<float> x(64 * 2);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) * 0.25f - 3.0f;
  std::vector<uint8_t> f32(x.size() * 4);
  std::memcpy(f32.data(), x.data(), f32.size());
  w.add_tensor("w.f32", {2, 64}, GgmlType::F32, f32);
  std::vector<uint8_t> q8(ggml_row_bytes(GgmlType::Q8_0, 64) * 2);
  ggml_quantize(GgmlType::Q8_0, x, q8);
  w.add_tensor("w.q8", {2, 64}, GgmlType::Q8_0, q8);
  w.write(dir.file("m.gguf"));

  const GgufFile f = read_gguf(dir.file("m.gguf"));
  EXPECT_EQ(f.version, 3u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_int("u32"), 7);
  EXPECT_EQ(f.get_int("i32"), -7);
  EXPECT_EQ(f.get_int("u64"), int64_t{1} << 40);
  EXPECT_EQ(f.get_float("f32"), 0.5);
  EXPECT_EQ(f.get_float("f64"), 1.0 / 3.0);
  EXPECT_EQ(f.get_int("u8"), 200);
  EXPECT_EQ(f.find("bool")->u, 1u);
  EXPECT_EQ(f.find("tokens")->items[1].s, "<0x0A>");
  EXPECT_EQ(f.find("nested")->items[0].items[1].i, -2);
  EXPECT_TRUE(f.find("nested")->items[1].items.empty());
  ASSERT_EQ(f.tensors.size(), 2u);
  EXPECT_EQ(f.tensors[0].shape, (Shape{2, 64}));
  EXPECT_EQ(f.tensors[1].offset % 32, 0u);
  const Tensor back = f.to_f32(*f.find_tensor("w.f32"));
  EXPECT_EQ(std::memcmp(back.data(), x.data(), f32.size()), 0);
  EXPECT_EQ(std::vector<uint8_t>(f.find_tensor("w.q8")->data.begin(), f.find_tensor("w.q8")->data.end()), q8);
  // the file ends on an aligned boundary, as the reference writer leaves it
  EXPECT_EQ(read_bytes(dir.file("m.gguf")).size() % 32, 0u);
}

TEST(Gguf, CustomAlignment) {
  TempDir dir;
  GgufWriter w(64);
  std::vector<uint8_t> d(8, 1);
  w.add_tensor("a", {2}, GgmlType::F32, d);
  w.add_tensor("b", {2}, GgmlType::F32, d);
  w.write(dir.file("a.gguf"));
  const GgufFile f = read_gguf(dir.file("a.gguf"));
  EXPECT_EQ(f.alignment, 64u);
  EXPECT_EQ(f.tensors[1].offset, 64u);
}

// general.alignment = 1 is legal, so f16 data can start at an odd address; found by fuzz_gguf.
TEST(Gguf, MisalignedF16DataDecodes) {
  auto build = [](uint64_t offset) {
    Builder b;
    b.header(3, 1, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(1);
    b.tensor("t", {4}, 1, offset);
    return b;
  };
  // the data section starts right after the header; put the tensor at an odd byte of the file
  const uint64_t offset = build(0).b.size() % 2 == 0 ? 1 : 0;
  Builder b = build(offset);
  b.data(offset, 0);
  for (int h : {0x3C00, 0xC000, 0x3555, 0x7BFF}) b.put(static_cast<uint16_t>(h));
  const std::vector<uint8_t> bytes = b.bytes();  // the parsed file borrows these
  const GgufFile f = parse_gguf(bytes, "odd.gguf");
  ASSERT_EQ(f.alignment, 1u);
  const Tensor x = f.to_f32(f.tensors[0]);
  EXPECT_EQ(x.span<float>()[0], 1.0f);
  EXPECT_EQ(x.span<float>()[1], -2.0f);
  EXPECT_EQ(x.span<float>()[2], 0.333251953125f);
  EXPECT_EQ(x.span<float>()[3], 65504.0f);
}

TEST(Gguf, HostileFilesGetOneLineErrors) {
  // a valid minimal file, then the same with one field broken
  auto good = [] { return Builder().header(3, 1, 0).tensor("t", {32}, 0, 0).pad().data(128); };
  EXPECT_NO_THROW(parse_gguf(good().bytes(), "ok.gguf"));
  EXPECT_EQ(parse_gguf(Builder().header(2, 1, 0).tensor("t", {32}, 0, 0).pad().data(128).bytes(), "v2.gguf").version, 2u);
  expect_bad({'G', 'G'}, "magic");
  expect_bad(Builder().put<uint32_t>(0x46554747u + 1).put<uint32_t>(3).bytes(), "not a GGUF file");
  expect_bad(Builder().header(99, 0, 0).bytes(), "99 is not supported");
  expect_bad(Builder().header(1, 0, 0).bytes(), "version 1 is obsolete");
  expect_bad(Builder().header(0x03000000u, 0, 0).bytes(), "big-endian");
  expect_bad(Builder().header(3, 1, 0).bytes(), "tensors cannot fit");
  expect_bad(Builder().header(3, 0, 1ull << 60).bytes(), "entries cannot fit");
  expect_bad(Builder().header(3, 0, 1).str("k").put<uint32_t>(8).put<uint64_t>(1000).data(10).bytes(), "string length 1000 exceeds");
  expect_bad(Builder().header(3, 0, 1).str("k").put<uint32_t>(13).data(16).bytes(), "unknown value type 13");
  expect_bad(Builder().header(3, 0, 1).str("k").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(1ull << 62).data(16).bytes(),
             "cannot fit");
  expect_bad(Builder().header(3, 0, 2).str("k").put<uint32_t>(4).put<uint32_t>(1).str("k").put<uint32_t>(4).put<uint32_t>(1).bytes(),
             "duplicate key");
  expect_bad(Builder().header(3, 0, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(24).bytes(), "power of two");
  expect_bad(Builder().header(3, 1, 0).tensor("t", {32, 1, 1, 1, 1}, 0, 0).pad().data(128).bytes(), "n_dims 5");
  expect_bad(Builder().header(3, 1, 0).tensor("t", {1ull << 32, 1ull << 32}, 0, 0).pad().data(64).bytes(), "overflow");
  expect_bad(Builder().header(3, 1, 0).tensor("t", {32}, 77, 0).pad().data(128).bytes(), "unknown ggml type id 77");
  expect_bad(Builder().header(3, 1, 0).tensor("t", {33}, 8, 0).pad().data(128).bytes(), "not a multiple of the q8_0 block size");
  expect_bad(Builder().header(3, 1, 0).tensor("t", {32}, 0, 64).pad().data(128).bytes(), "runs past the end");
  expect_bad(Builder().header(3, 1, 0).tensor("t", {32}, 0, 0).pad().data(100).bytes(), "runs past the end");  // truncated data
  expect_bad(Builder().header(3, 1, 0).tensor("t", {32}, 0, 3).pad().data(200).bytes(), "not a multiple of the alignment");
  expect_bad(Builder().header(3, 2, 0).tensor("a", {32}, 0, 0).tensor("b", {32}, 0, 96).pad().data(256).bytes(), "overlaps");
  expect_bad(Builder().header(3, 2, 0).tensor("a", {8}, 0, 0).tensor("a", {8}, 0, 32).pad().data(64).bytes(), "duplicate tensor name");
  expect_bad(Builder().header(3, 1, 0).tensor("\xff\xfe", {8}, 0, 0).pad().data(32).bytes(), "UTF-8");
  expect_bad(Builder().header(3, 1, 0).tensor(std::string(64, 'x'), {8}, 0, 0).pad().data(32).bytes(), "longer than 63");
  // nesting deeper than the cap
  Builder deep;
  deep.header(3, 0, 1).str("k").put<uint32_t>(9);
  for (int i = 0; i < 10; ++i) deep.put<uint32_t>(9).put<uint64_t>(1);
  deep.data(64);
  expect_bad(deep.bytes(), "nested deeper");
}

}  // namespace
}  // namespace qforge
