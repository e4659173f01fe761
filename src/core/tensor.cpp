#include "qforge/tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>

namespace qforge {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Error(ErrorCategory::InvalidArgument, "negative dimension in shape " + shape_to_string(shape));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      throw Error(ErrorCategory::InvalidArgument, "element count of shape " + shape_to_string(shape) + " overflows");
    n *= d;
  }
  return n;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Tensor Tensor::zeros(DType dtype, Shape shape) {
  const DTypeInfo& info = dtype_info(dtype);
  if (info.byte_size() == 0)
    throw Error(ErrorCategory::InvalidArgument, "Tensor cannot hold sub-byte dtype " + std::string(info.name) +
                                                    "; packed codes live in a QTensor");
  Tensor t;
  t.dtype_ = dtype;
  t.numel_ = shape_numel(shape);
  t.shape_ = std::move(shape);
  const size_t bytes = t.nbytes();
  const size_t alloc = ((bytes + 63) / 64) * 64;  // aligned_alloc wants a multiple of the alignment
  void* p = std::aligned_alloc(64, alloc == 0 ? 64 : alloc);
  if (!p) throw Error(ErrorCategory::Io, "out of memory allocating " + std::to_string(bytes) + " bytes");
  std::memset(p, 0, alloc == 0 ? 64 : alloc);
  t.storage_ = std::shared_ptr<const void>(p, [](const void* q) { std::free(const_cast<void*>(q)); });
  t.data_ = p;
  t.owned_ = true;
  return t;
}

Tensor Tensor::borrow(DType dtype, Shape shape, const void* data, std::shared_ptr<const void> keepalive) {
  if (dtype_info(dtype).byte_size() == 0)
    throw Error(ErrorCategory::InvalidArgument, "Tensor cannot hold sub-byte dtype " + std::string(dtype_name(dtype)));
  Tensor t;
  t.dtype_ = dtype;
  t.numel_ = shape_numel(shape);
  t.shape_ = std::move(shape);
  t.storage_ = std::move(keepalive);
  t.data_ = data;
  t.owned_ = false;
  return t;
}

int64_t Tensor::dim(int i) const {
  const int r = rank();
  const int k = i < 0 ? i + r : i;
  if (k < 0 || k >= r)
    throw Error(ErrorCategory::InvalidArgument,
                "dim " + std::to_string(i) + " out of range for shape " + shape_to_string(shape_));
  return shape_[static_cast<size_t>(k)];
}

void* Tensor::mutable_data() {
  if (!owned_) throw Error(ErrorCategory::InvalidArgument, "cannot write through a borrowed tensor view");
  return const_cast<void*>(data_);
}

void Tensor::check_type(DType want) const {
  if (want != dtype_)
    throw Error(ErrorCategory::InvalidArgument, "tensor holds " + std::string(dtype_name(dtype_)) +
                                                    ", accessed as " + std::string(dtype_name(want)));
}

}  // namespace qforge
