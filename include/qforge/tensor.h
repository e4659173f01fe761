// Tensor: shape + dtype + contiguous row-major bytes, owned or borrowed (e.g. from an mmap).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "qforge/dtype.h"
#include "qforge/error.h"

namespace qforge {

using Shape = std::vector<int64_t>;

// Product of the dims; throws on a negative dim or an element count that overflows.
int64_t shape_numel(const Shape& shape);
std::string shape_to_string(const Shape& shape);  // "[2, 3]"

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<double>() { return DType::f64; }
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<int8_t>() { return DType::i8; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::u8; }
template <> constexpr DType dtype_of<int16_t>() { return DType::i16; }
template <> constexpr DType dtype_of<int32_t>() { return DType::i32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::i64; }
template <> constexpr DType dtype_of<uint16_t>() { return DType::u16; }
template <> constexpr DType dtype_of<uint32_t>() { return DType::u32; }
template <> constexpr DType dtype_of<uint64_t>() { return DType::u64; }

class Tensor {
 public:
  Tensor() = default;

  // Zero-filled, owned, 64-byte aligned. Sub-byte dtypes are rejected (they live in QTensor).
  static Tensor zeros(DType dtype, Shape shape);
  // A view of bytes someone else owns; keepalive (e.g. the mmap) is held as long as the view.
  static Tensor borrow(DType dtype, Shape shape, const void* data, std::shared_ptr<const void> keepalive = {});
  template <class T>
  static Tensor from_vector(Shape shape, const std::vector<T>& values) {
    Tensor t = zeros(dtype_of<T>(), std::move(shape));
    if (values.size() != static_cast<size_t>(t.numel()))
      throw Error(ErrorCategory::InvalidArgument, "Tensor::from_vector: " + std::to_string(values.size()) +
                                                      " values for shape " + shape_to_string(t.shape()));
    std::copy(values.begin(), values.end(), t.mutable_span<T>().begin());
    return t;
  }

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const;  // negative i counts from the end
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * static_cast<size_t>(dtype_info(dtype_).byte_size()); }
  bool owns_data() const { return owned_; }
  // What keeps the bytes alive (the allocation, or the owner a borrowed view holds).
  const std::shared_ptr<const void>& storage() const { return storage_; }

  const void* data() const { return data_; }
  void* mutable_data();  // throws on a borrowed tensor

  template <class T>
  std::span<const T> span() const {
    check_type(dtype_of<T>());
    return {static_cast<const T*>(data_), static_cast<size_t>(numel_)};
  }
  template <class T>
  std::span<T> mutable_span() {
    check_type(dtype_of<T>());
    return {static_cast<T*>(mutable_data()), static_cast<size_t>(numel_)};
  }

 private:
  void check_type(DType want) const;

  DType dtype_ = DType::f32;
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<const void> storage_;
  const void* data_ = nullptr;
  bool owned_ = false;
};

}  // namespace qforge
