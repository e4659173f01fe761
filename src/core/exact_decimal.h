// Parses a decimal or rational literal ("0.1", "-2.5e-3", "1/3", "inf", "nan") into an
// ExactValue without ever rounding through a double, so that every float type gets the
// correctly rounded value of what the user typed (no double rounding).
#pragma once

#include <string_view>

#include "qforge/float_format.h"

namespace qforge {

// Throws Error(InvalidArgument) naming the literal when it does not parse.
ExactValue parse_exact_value(std::string_view text);

}  // namespace qforge
