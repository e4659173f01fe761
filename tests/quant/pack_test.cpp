#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "qforge/error.h"
#include "qforge/pack.h"

namespace qforge {
namespace {

TEST(Pack, EveryWidthEveryCodeRoundTrips) {
  for (int bits = 1; bits <= 8; ++bits) {
    for (BitOrder order : {BitOrder::LsbFirst, BitOrder::MsbFirst}) {
      if (order == BitOrder::MsbFirst && 8 % bits != 0) continue;
      SCOPED_TRACE("bits=" + std::to_string(bits));
      // every code value, at every alignment within a byte, plus an odd-length tail
      std::vector<uint8_t> codes;
      for (int rep = 0; rep < 8; ++rep)
        for (unsigned c = 0; c < (1u << bits); ++c) codes.push_back(static_cast<uint8_t>(c));
      codes.push_back(1);
      const auto packed = pack_codes(codes, bits, order);
      EXPECT_EQ(packed.size(), (codes.size() * static_cast<size_t>(bits) + 7) / 8);
      std::vector<uint8_t> back(codes.size());
      unpack_codes(packed, bits, back, order);
      EXPECT_EQ(back, codes);
    }
  }
}

TEST(Pack, KnownLayouts) {
  const std::vector<uint8_t> two = {0x1, 0x2};
  EXPECT_EQ(pack_codes(two, 4, BitOrder::LsbFirst), (std::vector<uint8_t>{0x21}));  // ggml / GPTQ
  EXPECT_EQ(pack_codes(two, 4, BitOrder::MsbFirst), (std::vector<uint8_t>{0x12}));  // bitsandbytes NF4
  // 3-bit LSB-first stream: codes 7,0,5 → bits 111 000 101 → 0b01000111, 0b00000001
  EXPECT_EQ(pack_codes(std::vector<uint8_t>{7, 0, 5}, 3), (std::vector<uint8_t>{0x47, 0x01}));
  // 2-bit: four codes per byte, first in bits 0-1
  EXPECT_EQ(pack_codes(std::vector<uint8_t>{1, 2, 3, 0}, 2), (std::vector<uint8_t>{0x39}));
  EXPECT_EQ(pack_codes(std::vector<uint8_t>{1, 0, 1, 1, 0, 0, 0, 1}, 1), (std::vector<uint8_t>{0x8D}));
}

TEST(Pack, BadCodesAndBuffersAreErrors) {
  EXPECT_THROW(pack_codes(std::vector<uint8_t>{16}, 4), Error);
  EXPECT_THROW(pack_codes(std::vector<uint8_t>{1}, 3, BitOrder::MsbFirst), Error);
  EXPECT_THROW(pack_codes(std::vector<uint8_t>{1}, 0), Error);
  std::vector<uint8_t> small(1), codes(3);
  EXPECT_THROW(unpack_codes(small, 4, codes), Error);
  EXPECT_THROW(to_unsigned_codes(std::vector<int32_t>{8}, -8, 4), Error);
  EXPECT_EQ(to_unsigned_codes(std::vector<int32_t>{-8, 7}, -8, 4), (std::vector<uint8_t>{0, 15}));
  EXPECT_EQ(from_unsigned_codes(std::vector<uint8_t>{0, 15}, -8), (std::vector<int32_t>{-8, 7}));
}

TEST(Pack, EveryTritByteRoundTripsInBothPackings) {
  // all 3^5 = 243 combinations of five trits
  std::vector<int8_t> trits;
  for (int v = 0; v < 243; ++v) {
    int r = v;
    for (int i = 0; i < 5; ++i) {
      trits.push_back(static_cast<int8_t>(r % 3 - 1));
      r /= 3;
    }
  }
  trits.push_back(1);  // tail: one trit in a last byte
  for (TritPacking p : {TritPacking::Base3, TritPacking::MulDecode}) {
    std::vector<uint8_t> packed(packed_trit_bytes(trits.size()));
    EXPECT_EQ(packed.size(), 244u);
    pack_trits(trits, packed, p);
    std::vector<int8_t> back(trits.size());
    unpack_trits(packed, back, p);
    EXPECT_EQ(back, trits);
  }
}

TEST(Pack, TritLayouts) {
  std::vector<uint8_t> b(1);
  // first trit most significant: (t0+1)·81 + ... ; [1, -1, -1, -1, -1] → 2·81 = 162
  pack_trits(std::vector<int8_t>{1, -1, -1, -1, -1}, b, TritPacking::Base3);
  EXPECT_EQ(b[0], 162);
  pack_trits(std::vector<int8_t>{1, 1, 1, 1, 1}, b, TritPacking::Base3);
  EXPECT_EQ(b[0], 242);
  pack_trits(std::vector<int8_t>{1, 1, 1, 1, 1}, b, TritPacking::MulDecode);
  EXPECT_EQ(b[0], 255);  // ceil(242·256/243)
  EXPECT_THROW(pack_trits(std::vector<int8_t>{2}, b), Error);
  std::vector<int8_t> t(5);
  EXPECT_THROW(unpack_trits(std::vector<uint8_t>{243}, t, TritPacking::Base3), Error);
}

}  // namespace
}  // namespace qforge
