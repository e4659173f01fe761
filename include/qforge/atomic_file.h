// Writes a file so that it either appears complete or not at all: bytes go to a temporary
// file beside the destination, which is renamed over it on commit(). Destroying an
// uncommitted AtomicFile (an exception, a failed write) removes the temporary.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace qforge {

class AtomicFile {
 public:
  explicit AtomicFile(std::string destination);  // throws Error(Io)
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::span<const uint8_t> bytes);  // throws Error(Io), e.g. on a full disk
  void write(const void* data, size_t n) { write({static_cast<const uint8_t*>(data), n}); }
  void write_zeros(size_t n);
  uint64_t position() const { return written_; }
  void commit();  // flush, fsync, rename into place

  const std::string& destination() const { return dest_; }

 private:
  void flush_buffer();
  std::string dest_, tmp_;
  int fd_ = -1;
  uint64_t written_ = 0;
  std::string buffer_;
  bool committed_ = false;
};

}  // namespace qforge
