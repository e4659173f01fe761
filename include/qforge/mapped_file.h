// A read-only memory mapping of a whole file. Tensors borrowed from it hold a shared_ptr
// to it, so the mapping lives as long as any view.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace qforge {

class MappedFile {
 public:
  // Throws Error(Io) naming the path when it cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Gives back this process's resident pages wholly inside `bytes` when they lie in a live
  // mapping (the engine copied them into another layout): they stay in the page cache and are
  // read again from the file if touched. Returns false, doing nothing, for other memory.
  static bool release_pages(std::span<const uint8_t> bytes);

  const std::string& path() const { return path_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// The whole file as a string (config files, evaluation texts); Error(Io) names the path.
std::string read_file_text(const std::string& path);

}  // namespace qforge
