// Packing of sub-byte codes into bytes: b-bit codes (1..8) as a bit stream, and ternary
// values in 2 bits or 5 trits per byte (base 3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace qforge {

// Where the first code of a byte goes. LsbFirst: bit stream from bit 0 up, codes may cross
// byte boundaries (ggml's and GPTQ's nibble order for 4 bits). MsbFirst: from bit 7 down,
// only for widths that divide 8 (bitsandbytes' NF4 puts the first element in the high nibble).
enum class BitOrder : uint8_t { LsbFirst, MsbFirst };

size_t packed_bytes(size_t n, int bits);
// codes[i] must be < 2^bits (unsigned code = q − qmin). out.size() == packed_bytes(n, bits);
// unused trailing bits are zero.
void pack_codes(std::span<const uint8_t> codes, int bits, std::span<uint8_t> out, BitOrder order = BitOrder::LsbFirst);
void unpack_codes(std::span<const uint8_t> packed, int bits, std::span<uint8_t> codes,
                  BitOrder order = BitOrder::LsbFirst);
std::vector<uint8_t> pack_codes(std::span<const uint8_t> codes, int bits, BitOrder order = BitOrder::LsbFirst);

// Signed codes q in [qmin, qmin + 2^bits) ↔ unsigned codes q − qmin.
std::vector<uint8_t> to_unsigned_codes(std::span<const int32_t> q, int32_t qmin, int bits);
std::vector<int32_t> from_unsigned_codes(std::span<const uint8_t> u, int32_t qmin);

// Ternary {-1, 0, 1}, 5 trits per byte: byte value v = Σ_i (t_i + 1)·3^(4−i), first trit most
// significant (v ≤ 242). TritPacking::MulDecode stores ceil(v·256/243) instead, so trit i is
// recovered with a multiply and a shift: ((uint8_t)(byte·3^i)·3) >> 8 — the form ggml's
// TQ1_0 uses, which SIMD kernels decode without division.
enum class TritPacking : uint8_t { Base3, MulDecode };
size_t packed_trit_bytes(size_t n);
void pack_trits(std::span<const int8_t> trits, std::span<uint8_t> out, TritPacking p = TritPacking::Base3);
void unpack_trits(std::span<const uint8_t> packed, std::span<int8_t> trits, TritPacking p = TritPacking::Base3);

}  // namespace qforge
