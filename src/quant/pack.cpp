#include "qforge/pack.h"

#include <string>

#include "qforge/error.h"

namespace qforge {
namespace {

void check_bits(int bits, BitOrder order) {
  if (bits < 1 || bits > 8)
    throw Error(ErrorCategory::InvalidArgument, "pack: bits = " + std::to_string(bits) + " outside 1..8");
  if (order == BitOrder::MsbFirst && 8 % bits != 0)
    throw Error(ErrorCategory::InvalidArgument, "pack: MSB-first order needs a width dividing 8 (1, 2, 4, 8), got " +
                                                    std::to_string(bits));
}

void check_out(size_t have, size_t want, const char* what) {
  if (have != want)
    throw Error(ErrorCategory::InvalidArgument, std::string(what) + ": buffer holds " + std::to_string(have) +
                                                    " bytes/codes, expected " + std::to_string(want));
}

constexpr uint8_t kPow3[5] = {81, 27, 9, 3, 1};  // weight of trit i in a byte (first trit most significant)

}  // namespace

size_t packed_bytes(size_t n, int bits) { return (n * static_cast<size_t>(bits) + 7) / 8; }

void pack_codes(std::span<const uint8_t> codes, int bits, std::span<uint8_t> out, BitOrder order) {
  check_bits(bits, order);
  check_out(out.size(), packed_bytes(codes.size(), bits), "pack_codes");
  const unsigned limit = 1u << bits;
  for (auto& b : out) b = 0;
  for (size_t i = 0; i < codes.size(); ++i) {
    const unsigned c = codes[i];
    if (c >= limit)
      throw Error(ErrorCategory::InvalidArgument, "pack_codes: code " + std::to_string(c) + " at index " +
                                                      std::to_string(i) + " does not fit in " + std::to_string(bits) +
                                                      " bits");
    const size_t bit = i * static_cast<size_t>(bits);
    if (order == BitOrder::MsbFirst) {
      out[bit / 8] = static_cast<uint8_t>(out[bit / 8] | (c << (8 - bits - bit % 8)));
    } else {
      // up to two bytes touched: the low part here, the spill into the next byte
      const unsigned shifted = c << (bit % 8);
      out[bit / 8] = static_cast<uint8_t>(out[bit / 8] | (shifted & 0xFF));
      if (shifted >> 8) out[bit / 8 + 1] = static_cast<uint8_t>(out[bit / 8 + 1] | (shifted >> 8));
    }
  }
}

std::vector<uint8_t> pack_codes(std::span<const uint8_t> codes, int bits, BitOrder order) {
  check_bits(bits, order);
  std::vector<uint8_t> out(packed_bytes(codes.size(), bits));
  pack_codes(codes, bits, out, order);
  return out;
}

void unpack_codes(std::span<const uint8_t> packed, int bits, std::span<uint8_t> codes, BitOrder order) {
  check_bits(bits, order);
  check_out(packed.size(), packed_bytes(codes.size(), bits), "unpack_codes");
  const unsigned mask = (1u << bits) - 1;
  for (size_t i = 0; i < codes.size(); ++i) {
    const size_t bit = i * static_cast<size_t>(bits);
    if (order == BitOrder::MsbFirst) {
      codes[i] = static_cast<uint8_t>((packed[bit / 8] >> (8 - bits - bit % 8)) & mask);
    } else {
      unsigned w = packed[bit / 8];
      if (bit % 8 + static_cast<size_t>(bits) > 8) w |= static_cast<unsigned>(packed[bit / 8 + 1]) << 8;
      codes[i] = static_cast<uint8_t>((w >> (bit % 8)) & mask);
    }
  }
}

std::vector<uint8_t> to_unsigned_codes(std::span<const int32_t> q, int32_t qmin, int bits) {
  std::vector<uint8_t> u(q.size());
  const int64_t limit = int64_t{1} << bits;
  for (size_t i = 0; i < q.size(); ++i) {
    const int64_t v = static_cast<int64_t>(q[i]) - qmin;
    if (v < 0 || v >= limit)
      throw Error(ErrorCategory::InvalidArgument, "to_unsigned_codes: code " + std::to_string(q[i]) + " at index " +
                                                      std::to_string(i) + " is outside [" + std::to_string(qmin) +
                                                      ", " + std::to_string(qmin + limit - 1) + "]");
    u[i] = static_cast<uint8_t>(v);
  }
  return u;
}

std::vector<int32_t> from_unsigned_codes(std::span<const uint8_t> u, int32_t qmin) {
  std::vector<int32_t> q(u.size());
  for (size_t i = 0; i < u.size(); ++i) q[i] = static_cast<int32_t>(u[i]) + qmin;
  return q;
}

size_t packed_trit_bytes(size_t n) { return (n + 4) / 5; }

void pack_trits(std::span<const int8_t> trits, std::span<uint8_t> out, TritPacking p) {
  check_out(out.size(), packed_trit_bytes(trits.size()), "pack_trits");
  for (size_t b = 0; b < out.size(); ++b) {
    unsigned v = 0;
    for (size_t i = 0; i < 5; ++i) {
      const size_t k = 5 * b + i;
      const int t = k < trits.size() ? trits[k] : 0;  // padding trits are 0
      if (t < -1 || t > 1)
        throw Error(ErrorCategory::InvalidArgument, "pack_trits: value " + std::to_string(t) + " at index " +
                                                        std::to_string(k) + " is not -1, 0 or 1");
      v += static_cast<unsigned>(t + 1) * kPow3[i];
    }
    out[b] = static_cast<uint8_t>(p == TritPacking::Base3 ? v : (v * 256 + 242) / 243);
  }
}

void unpack_trits(std::span<const uint8_t> packed, std::span<int8_t> trits, TritPacking p) {
  check_out(packed.size(), packed_trit_bytes(trits.size()), "unpack_trits");
  for (size_t k = 0; k < trits.size(); ++k) {
    const uint8_t byte = packed[k / 5];
    const size_t i = k % 5;
    unsigned t;
    if (p == TritPacking::Base3) {
      if (byte > 242)
        throw Error(ErrorCategory::InvalidArgument, "unpack_trits: byte " + std::to_string(byte) + " at offset " +
                                                        std::to_string(k / 5) + " is not base-3 (max 242)");
      t = (byte / kPow3[i]) % 3;
    } else {
      // multiply by 3^i brings trit i to the top of the byte (the fraction v/243 shifted)
      const auto shifted = static_cast<uint8_t>(byte * static_cast<unsigned>(81 / kPow3[i]));
      t = (static_cast<unsigned>(shifted) * 3) >> 8;
    }
    trits[k] = static_cast<int8_t>(static_cast<int>(t) - 1);
  }
}

}  // namespace qforge
