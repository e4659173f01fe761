#include <gtest/gtest.h>

#include <limits>

#include "qforge/tensor.h"

namespace qforge {
namespace {

TEST(Tensor, OwnedZerosAndTypedAccess) {
  Tensor t = Tensor::zeros(DType::f32, {2, 3});
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.nbytes(), 24u);
  EXPECT_EQ(t.dim(-1), 3);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
  for (float v : t.span<float>()) EXPECT_EQ(v, 0.0f);
  t.mutable_span<float>()[4] = 2.5f;
  EXPECT_EQ(t.span<float>()[4], 2.5f);
  EXPECT_THROW(t.span<int8_t>(), Error);
  EXPECT_THROW(t.dim(2), Error);
}

TEST(Tensor, BorrowedViewIsReadOnlyAndKeepsOwnerAlive) {
  auto owner = std::make_shared<std::vector<float>>(std::vector<float>{1, 2, 3, 4});
  Tensor v = Tensor::borrow(DType::f32, {4}, owner->data(), owner);
  owner.reset();
  EXPECT_EQ(v.span<float>()[3], 4.0f);
  EXPECT_FALSE(v.owns_data());
  EXPECT_THROW(v.mutable_data(), Error);
}

TEST(Tensor, RejectsBadShapesAndSubByteTypes) {
  EXPECT_THROW(Tensor::zeros(DType::f32, {-1, 2}), Error);
  const int64_t big = std::numeric_limits<int64_t>::max() / 2;
  EXPECT_THROW(Tensor::zeros(DType::f32, {big, 4}), Error);
  EXPECT_THROW(Tensor::zeros(DType::i4, {8}), Error);
  EXPECT_THROW(Tensor::from_vector<float>({3}, {1.0f, 2.0f}), Error);
  EXPECT_EQ(Tensor::zeros(DType::f32, {0, 5}).numel(), 0);
}

}  // namespace
}  // namespace qforge
