#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "qforge/safetensors.h"
#include "support/temp_dir.h"

namespace qforge {
namespace {

using testing::read_bytes;
using testing::TempDir;

std::vector<uint8_t> file_with_header(const std::string& json, size_t data_bytes) {
  std::vector<uint8_t> b(8 + json.size() + data_bytes, 0x5A);
  const uint64_t n = json.size();
  std::memcpy(b.data(), &n, 8);
  std::memcpy(b.data() + 8, json.data(), json.size());
  return b;
}

void expect_bad(const std::vector<uint8_t>& bytes, const std::string& part) {
  try {
    parse_safetensors(bytes, "bad.safetensors");
    ADD_FAILURE() << "accepted a file that should fail with: " << part;
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(e.category(), ErrorCategory::BadFile) << m;
    EXPECT_NE(m.find("bad.safetensors"), std::string::npos) << m;
    EXPECT_NE(m.find(part), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << "one line: " << m;
  }
}

TEST(Safetensors, WritesTheReferenceLayout) {
  TempDir dir;
  const Tensor b = Tensor::from_vector<float>({2}, {1.0f, 2.0f});
  Tensor a = Tensor::zeros(DType::f16, {1});
  const std::string path = dir.file("x.safetensors");
  write_safetensors(path, {{"b", b}, {"a", a}});
  const auto bytes = read_bytes(path);
  // F32 sorts before F16 (dtype descending in the reference enum), then by name.
  const std::string json =
      R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F16","shape":[1],"data_offsets":[8,10]}})";
  const size_t padded = (json.size() + 7) / 8 * 8;
  ASSERT_EQ(bytes.size(), 8 + padded + 10);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n, padded);
  EXPECT_EQ(std::string(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(json.size())), json);
  for (size_t i = json.size(); i < padded; ++i) EXPECT_EQ(bytes[8 + i], ' ');
}

TEST(Safetensors, RoundTripsEveryDtypeAndIsDeterministic) {
  TempDir dir;
  std::vector<NamedTensor> ts;
  for (DType t : {DType::f64, DType::f32, DType::f16, DType::bf16, DType::f8_e4m3, DType::f8_e5m2, DType::i64,
                  DType::i32, DType::i16, DType::i8, DType::u64, DType::u32, DType::u16, DType::u8, DType::boolean}) {
    Tensor x = Tensor::zeros(t, {3, 2});
    auto* p = static_cast<uint8_t*>(x.mutable_data());
    for (size_t i = 0; i < x.nbytes(); ++i) p[i] = t == DType::boolean ? static_cast<uint8_t>(i % 2) : static_cast<uint8_t>(i * 7 + 1);
    ts.push_back({"t." + std::string(dtype_name(t)), x});
  }
  ts.push_back({"scalar", Tensor::from_vector<float>({}, {3.5f})});
  ts.push_back({"empty", Tensor::zeros(DType::f32, {0, 4})});
  const std::map<std::string, std::string> meta = {{"format", "pt"}};
  write_safetensors(dir.file("a.safetensors"), ts, meta);
  write_safetensors(dir.file("b.safetensors"), ts, meta);
  EXPECT_EQ(read_bytes(dir.file("a.safetensors")), read_bytes(dir.file("b.safetensors")));
  const SafetensorsFile f = read_safetensors(dir.file("a.safetensors"));
  EXPECT_EQ(f.metadata.at("format"), "pt");
  ASSERT_EQ(f.tensors.size(), ts.size());
  for (const auto& t : ts) {
    const Tensor* r = f.find(t.name);
    ASSERT_NE(r, nullptr) << t.name;
    EXPECT_EQ(r->dtype(), t.tensor.dtype());
    EXPECT_EQ(r->shape(), t.tensor.shape());
    EXPECT_EQ(std::memcmp(r->data(), t.tensor.data(), t.tensor.nbytes()), 0) << t.name;
    EXPECT_FALSE(r->owns_data());  // zero-copy view of the mapping
  }
  // leaves no temporary files behind
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 2);
}

TEST(Safetensors, ShardedIndex) {
  TempDir dir;
  write_safetensors(dir.file("m-1.safetensors"), {{"w1", Tensor::from_vector<float>({1}, {1.0f})}});
  write_safetensors(dir.file("m-2.safetensors"), {{"w2", Tensor::from_vector<float>({1}, {2.0f})}});
  testing::write_bytes(dir.file("model.safetensors.index.json"),
                       std::vector<uint8_t>(std::begin(R"({"metadata":{"total_size":8},"weight_map":{"w1":"m-1.safetensors","w2":"m-2.safetensors"}})"),
                                            std::end(R"({"metadata":{"total_size":8},"weight_map":{"w1":"m-1.safetensors","w2":"m-2.safetensors"}})") - 1));
  const auto f = read_safetensors_index(dir.file("model.safetensors.index.json"));
  ASSERT_EQ(f.tensors.size(), 2u);
  EXPECT_EQ(f.find("w2")->span<float>()[0], 2.0f);
}

TEST(Safetensors, HostileFilesGetOneLineErrors) {
  const std::string ok = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_NO_THROW(parse_safetensors(file_with_header(ok, 8), "ok.safetensors"));

  expect_bad({1, 2, 3}, "header length");                                    // truncated length
  {
    std::vector<uint8_t> b(16, 0);
    const uint64_t huge = uint64_t{1} << 63;
    std::memcpy(b.data(), &huge, 8);
    expect_bad(b, "exceeds the 100000000-byte limit");
  }
  {
    auto b = file_with_header(ok, 8);
    b.resize(20);  // header cut short
    expect_bad(b, "header: needs");
  }
  expect_bad(file_with_header("[1,2]", 0), "must start with '{'");
  expect_bad(file_with_header("{\"a\":", 0), "not valid JSON");
  expect_bad(file_with_header(ok, 4), "past the end of the data");            // truncated data
  expect_bad(file_with_header(ok, 12), "4 trailing bytes");
  expect_bad(file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 16),
             "duplicate tensor name 'a'");
  expect_bad(file_with_header(R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8), "unknown dtype 'Q4'");
  expect_bad(file_with_header(R"({"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}})", 8), "C64 is not supported");
  expect_bad(file_with_header(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})", 8),
             "overflows");
  expect_bad(file_with_header(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}})", 8), "non-negative");
  expect_bad(file_with_header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "needs 12 bytes");
  expect_bad(file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8), "before begin");
  expect_bad(file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
             "overlaps");
  expect_bad(file_with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8), "hole");
  expect_bad(file_with_header("{\"\xff\xfe\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "UTF-8");
  expect_bad(file_with_header(R"({"__metadata__":{"k":1}})", 0), "not a string");
}

TEST(Safetensors, MissingFileIsAnIoError) {
  try {
    read_safetensors("/nonexistent/x.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Io);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.safetensors"), std::string::npos);
  }
}

}  // namespace
}  // namespace qforge
