// Bounds-checked little-endian reading of hostile bytes. Every failure is a one-line
// Error(BadFile) naming the file, the field and the offset; nothing here can read past the end.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "qforge/error.h"

namespace qforge::formats {

class ByteReader {
 public:
  ByteReader(std::span<const uint8_t> bytes, std::string file) : bytes_(bytes), file_(std::move(file)) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }
  const std::string& file() const { return file_; }

  [[noreturn]] void fail(std::string_view field, const std::string& what) const {
    throw Error(ErrorCategory::BadFile,
                file_ + ": " + std::string(field) + ": " + what + " (at byte " + std::to_string(pos_) + ")");
  }

  std::span<const uint8_t> take(uint64_t n, std::string_view field) {
    if (n > remaining())
      fail(field, "needs " + std::to_string(n) + " bytes but only " + std::to_string(remaining()) + " remain");
    auto s = bytes_.subspan(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }

  template <class T>
  T read(std::string_view field) {
    T v;
    std::memcpy(&v, take(sizeof(T), field).data(), sizeof(T));  // the formats are little-endian, as is x86
    return v;
  }

  // u64 length then bytes (GGUF strings), with a cap so a hostile length cannot ask for terabytes.
  std::string_view read_string(std::string_view field, uint64_t max_len) {
    const auto n = read<uint64_t>(field);
    if (n > max_len) fail(field, "string length " + std::to_string(n) + " exceeds the limit " + std::to_string(max_len));
    const auto s = take(n, field);
    return {reinterpret_cast<const char*>(s.data()), s.size()};
  }

  void seek(size_t pos, std::string_view field) {
    if (pos > bytes_.size()) fail(field, "offset " + std::to_string(pos) + " is past the end of the file");
    pos_ = pos;
  }

 private:
  std::span<const uint8_t> bytes_;
  std::string file_;
  size_t pos_ = 0;
};

// a·b with overflow detection (element counts, byte spans).
inline bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_mul_overflow(a, b, out); }
inline bool add_overflows(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_add_overflow(a, b, out); }

bool is_valid_utf8(std::string_view s);

}  // namespace qforge::formats
