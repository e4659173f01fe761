// qforge::Error — the one exception type library code throws; the CLI catches it once.
#pragma once

#include <stdexcept>
#include <string>

namespace qforge {

enum class ErrorCategory {
  InvalidArgument,  // a caller or user passed something the function does not accept
  BadFile,          // file content is malformed (names the file and the field)
  Unsupported,      // well-formed but not (yet) supported; the message lists what is
  Io,               // the operating system refused (open, read, write, rename)
  Numeric,          // NaN/Inf or values no scheme can represent
  Internal,         // a bug in qforge
};

const char* error_category_name(ErrorCategory c);

class Error : public std::runtime_error {
 public:
  Error(ErrorCategory category, const std::string& message)
      : std::runtime_error(message), category_(category) {}
  ErrorCategory category() const { return category_; }

 private:
  ErrorCategory category_;
};

}  // namespace qforge
