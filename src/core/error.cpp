#include "qforge/error.h"

namespace qforge {

const char* error_category_name(ErrorCategory c) {
  switch (c) {
    case ErrorCategory::InvalidArgument: return "invalid argument";
    case ErrorCategory::BadFile: return "bad file";
    case ErrorCategory::Unsupported: return "unsupported";
    case ErrorCategory::Io: return "i/o";
    case ErrorCategory::Numeric: return "numeric";
    case ErrorCategory::Internal: return "internal";
  }
  return "unknown";
}

}  // namespace qforge
