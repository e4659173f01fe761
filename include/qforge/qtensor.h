// QTensor: a quantized weight — packed codes plus the QParams that give them meaning.
// Algorithms produce QTensors, kernels consume them, writers serialize them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qforge/pack.h"
#include "qforge/quant.h"
#include "qforge/tensor.h"

namespace qforge {

struct QTensor {
  std::string name;
  Shape shape;                  // the float tensor's logical shape
  QScheme scheme;
  QParams params;
  std::vector<uint8_t> packed;  // unsigned codes (q − qmin) at scheme.bits each
  BitOrder order = BitOrder::LsbFirst;

  int64_t numel() const { return shape_numel(shape); }
  // Bytes of codes plus parameters (f32 scales, int32 zero points as stored here).
  uint64_t nbytes() const;
  double bits_per_weight() const;
  std::vector<int32_t> codes() const;  // unpacked, in [qmin, qmax]
};

// Chooses parameters, quantizes and packs. w must be f32. NF4 packs MSB-first (bitsandbytes'
// order), everything else LSB-first (ggml's and GPTQ's).
QTensor quantize_tensor(const Tensor& w, const QScheme& scheme, std::string name = "tensor");
Tensor dequantize_tensor(const QTensor& q);

}  // namespace qforge
