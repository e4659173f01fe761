#include "qforge/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "qforge/error.h"

namespace qforge {

namespace {

// The live mappings (start → size), so that release_pages never touches other memory: on
// anonymous memory MADV_DONTNEED would zero it.
std::mutex& live_mutex() {
  static std::mutex m;
  return m;
}
std::map<uintptr_t, size_t>& live_mappings() {
  static std::map<uintptr_t, size_t> m;
  return m;
}

}  // namespace

bool MappedFile::release_pages(std::span<const uint8_t> bytes) {
  const auto begin = reinterpret_cast<uintptr_t>(bytes.data()), end = begin + bytes.size();
  std::lock_guard<std::mutex> lock(live_mutex());
  const auto& live = live_mappings();
  auto it = live.upper_bound(begin);
  if (it == live.begin()) return false;
  --it;
  if (end > it->first + it->second) return false;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t first = (begin + page - 1) / page * page, last = end / page * page;
  if (first < last) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
  return true;
}

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorCategory::Io, path + ": cannot open: " + std::strerror(errno));
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const int e = errno;
    ::close(fd);
    throw Error(ErrorCategory::Io, path + ": not a regular file" + (e ? std::string(": ") + std::strerror(e) : ""));
  }
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ > 0) {
    void* p = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int e = errno;
      ::close(fd);
      throw Error(ErrorCategory::Io, path + ": cannot map: " + std::strerror(e));
    }
    f->data_ = static_cast<const uint8_t*>(p);
    std::lock_guard<std::mutex> lock(live_mutex());
    live_mappings()[reinterpret_cast<uintptr_t>(p)] = f->size_;
  }
  ::close(fd);
  return f;
}

std::string read_file_text(const std::string& path) {
  const auto m = MappedFile::open(path);
  const auto b = m->bytes();
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

MappedFile::~MappedFile() {
  if (!data_) return;
  {
    std::lock_guard<std::mutex> lock(live_mutex());
    live_mappings().erase(reinterpret_cast<uintptr_t>(data_));
  }
  ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace qforge
