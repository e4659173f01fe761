#include <gtest/gtest.h>

#include <limits>

#include "qforge/dtype.h"
#include "qforge/error.h"

namespace qforge {
namespace {

TEST(DType, TableIsIndexedByEnumAndComplete) {
  ASSERT_EQ(kAllDTypes.size(), 22u);
  for (DType t : kAllDTypes) {
    EXPECT_EQ(dtype_info(t).dtype, t);
    EXPECT_EQ(dtype_from_name(dtype_name(t)), t);
  }
}

// Values from torch.finfo / torch.iinfo (and the OCP FP8 spec), typed here by hand.
TEST(DType, FloatInfoMatchesTorchFinfo) {
  const auto& f16 = dtype_info(DType::f16);
  EXPECT_EQ(f16.max, 65504.0);
  EXPECT_EQ(f16.min, -65504.0);
  EXPECT_EQ(f16.eps, 0.0009765625);
  EXPECT_EQ(f16.smallest_normal, 6.103515625e-05);
  EXPECT_EQ(f16.smallest_subnormal, 5.960464477539063e-08);

  const auto& bf16 = dtype_info(DType::bf16);
  EXPECT_EQ(bf16.max, 3.3895313892515355e+38);
  EXPECT_EQ(bf16.eps, 0.0078125);
  EXPECT_EQ(bf16.smallest_normal, 1.1754943508222875e-38);
  EXPECT_EQ(bf16.smallest_subnormal, 9.183549615799121e-41);

  const auto& e4m3 = dtype_info(DType::f8_e4m3);
  EXPECT_EQ(e4m3.max, 448.0);
  EXPECT_EQ(e4m3.eps, 0.125);
  EXPECT_EQ(e4m3.smallest_normal, 0.015625);
  EXPECT_EQ(e4m3.smallest_subnormal, 0.001953125);
  EXPECT_FALSE(e4m3.has_inf);
  EXPECT_TRUE(e4m3.has_nan);

  const auto& e5m2 = dtype_info(DType::f8_e5m2);
  EXPECT_EQ(e5m2.max, 57344.0);
  EXPECT_EQ(e5m2.eps, 0.25);
  EXPECT_EQ(e5m2.smallest_normal, 6.103515625e-05);
  EXPECT_EQ(e5m2.smallest_subnormal, 1.52587890625e-05);
  EXPECT_TRUE(e5m2.has_inf);

  const auto& fp4 = dtype_info(DType::fp4_e2m1);
  EXPECT_EQ(fp4.max, 6.0);
  EXPECT_EQ(fp4.smallest_normal, 1.0);
  EXPECT_EQ(fp4.smallest_subnormal, 0.5);
  EXPECT_FALSE(fp4.has_nan);

  const auto& f32 = dtype_info(DType::f32);
  EXPECT_EQ(f32.max, std::numeric_limits<float>::max());
  EXPECT_EQ(f32.eps, std::numeric_limits<float>::epsilon());
  EXPECT_EQ(f32.smallest_normal, std::numeric_limits<float>::min());
  EXPECT_EQ(f32.smallest_subnormal, std::numeric_limits<float>::denorm_min());
  const auto& f64 = dtype_info(DType::f64);
  EXPECT_EQ(f64.max, std::numeric_limits<double>::max());
  EXPECT_EQ(f64.eps, std::numeric_limits<double>::epsilon());
  EXPECT_EQ(f64.smallest_subnormal, std::numeric_limits<double>::denorm_min());
}

TEST(DType, IntegerInfoMatchesTorchIinfo) {
  EXPECT_EQ(dtype_info(DType::i8).int_min, -128);
  EXPECT_EQ(dtype_info(DType::i8).int_max, 127);
  EXPECT_EQ(dtype_info(DType::u8).int_max, 255);
  EXPECT_EQ(dtype_info(DType::i16).int_min, -32768);
  EXPECT_EQ(dtype_info(DType::i32).int_max, 2147483647);
  EXPECT_EQ(dtype_info(DType::i64).int_min, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(dtype_info(DType::i64).int_max, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(dtype_info(DType::u64).int_max, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(dtype_info(DType::u16).int_max, 65535u);
  EXPECT_EQ(dtype_info(DType::boolean).int_max, 1u);
  EXPECT_EQ(dtype_info(DType::boolean).byte_size(), 1);
  EXPECT_EQ(dtype_info(DType::i4).int_min, -8);
  EXPECT_EQ(dtype_info(DType::u4).int_max, 15);
  EXPECT_EQ(dtype_info(DType::i3).int_min, -4);
  EXPECT_EQ(dtype_info(DType::i3).int_max, 3);
  EXPECT_EQ(dtype_info(DType::i2).int_min, -2);
  EXPECT_EQ(dtype_info(DType::i2).int_max, 1);
}

TEST(DType, SizesAndPackedBits) {
  EXPECT_EQ(dtype_info(DType::bf16).byte_size(), 2);
  EXPECT_EQ(dtype_info(DType::i4).byte_size(), 0);
  EXPECT_DOUBLE_EQ(dtype_info(DType::ternary).packed_bits, 1.6);
  EXPECT_EQ(dtype_storage_bytes(DType::i4, 33), 17u);
  EXPECT_EQ(dtype_storage_bytes(DType::i3, 8), 3u);
  EXPECT_EQ(dtype_storage_bytes(DType::f16, 3), 6u);
}

TEST(DType, AliasesAndUnknownNames) {
  EXPECT_EQ(parse_dtype("bfloat16"), DType::bf16);
  EXPECT_EQ(parse_dtype("float8_e4m3fn"), DType::f8_e4m3);
  EXPECT_EQ(parse_dtype("half"), DType::f16);
  try {
    parse_dtype("f12");
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("f12"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("f8_e5m2"), std::string::npos);  // lists what is supported
  }
}

}  // namespace
}  // namespace qforge
