// MappedFile::release_pages gives back only a live mapping's pages, and the bytes read the same
// afterwards (they come back from the file); other memory is left untouched.
#include <gtest/gtest.h>

#include <fstream>
#include <vector>

#include "qforge/mapped_file.h"
#include "support/temp_dir.h"

namespace qforge {
namespace {

std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 131 + 7);
  return v;
}

TEST(MappedFile, ReleasedPagesReadTheSameFromTheFile) {
  testing::TempDir dir;
  const auto want = pattern(5 * 4096 + 123);
  {
    std::ofstream out(dir.file("f.bin"), std::ios::binary);
    out.write(reinterpret_cast<const char*>(want.data()), static_cast<std::streamsize>(want.size()));
  }
  const auto m = MappedFile::open(dir.file("f.bin"));
  const auto bytes = m->bytes();
  ASSERT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.end()), want);
  EXPECT_TRUE(MappedFile::release_pages(bytes.subspan(100, 3 * 4096)));
  EXPECT_TRUE(MappedFile::release_pages(bytes));
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.end()), want);
  // past the mapping's end: not a mapping's range
  EXPECT_FALSE(MappedFile::release_pages({bytes.data() + 4096, bytes.size()}));
}

TEST(MappedFile, OtherMemoryIsNeverReleased) {
  const auto want = pattern(16 * 4096);
  auto heap = want;
  EXPECT_FALSE(MappedFile::release_pages(heap));
  EXPECT_EQ(heap, want);  // MADV_DONTNEED on anonymous memory would have zeroed it
}

}  // namespace
}  // namespace qforge
