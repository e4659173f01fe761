#include "qforge/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "qforge/error.h"

namespace qforge {

namespace {
constexpr size_t kBufferBytes = 1 << 20;
}

AtomicFile::AtomicFile(std::string destination) : dest_(std::move(destination)) {
  std::vector<char> name(dest_.begin(), dest_.end());
  const std::string suffix = ".qforge-tmp-XXXXXX";
  name.insert(name.end(), suffix.begin(), suffix.end());
  name.push_back('\0');
  fd_ = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd_ < 0) throw Error(ErrorCategory::Io, dest_ + ": cannot create a temporary file beside it: " + std::strerror(errno));
  tmp_ = name.data();
  buffer_.reserve(kBufferBytes);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !tmp_.empty()) ::unlink(tmp_.c_str());
}

void AtomicFile::flush_buffer() {
  const char* p = buffer_.data();
  size_t left = buffer_.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCategory::Io, dest_ + ": write failed: " + std::strerror(errno));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  buffer_.clear();
}

void AtomicFile::write(std::span<const uint8_t> bytes) {
  if (committed_) throw Error(ErrorCategory::Internal, dest_ + ": write after commit");
  if (buffer_.size() + bytes.size() > kBufferBytes) flush_buffer();
  if (bytes.size() >= kBufferBytes) {
    buffer_.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    flush_buffer();
  } else {
    buffer_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  written_ += bytes.size();
}

void AtomicFile::write_zeros(size_t n) {
  static const uint8_t zeros[256] = {};
  while (n > 0) {
    const size_t k = n < sizeof zeros ? n : sizeof zeros;
    write({zeros, k});
    n -= k;
  }
}

void AtomicFile::commit() {
  flush_buffer();
  if (::fsync(fd_) != 0) throw Error(ErrorCategory::Io, dest_ + ": fsync failed: " + std::strerror(errno));
  if (::close(fd_) != 0) {
    fd_ = -1;
    throw Error(ErrorCategory::Io, dest_ + ": close failed: " + std::strerror(errno));
  }
  fd_ = -1;
  // mkostemp creates 0600; give the result the usual permissions.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  (void)::chmod(tmp_.c_str(), 0666 & ~mask);
  if (::rename(tmp_.c_str(), dest_.c_str()) != 0)
    throw Error(ErrorCategory::Io, dest_ + ": cannot rename the finished file into place: " + std::strerror(errno));
  committed_ = true;
}

}  // namespace qforge
