# One warning policy for every qforge target: -Wall -Wextra clean on g++ 12 and clang 14.
add_library(qforge_warnings INTERFACE)
target_compile_options(qforge_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
  # g++ 12 at -O3 reports false -Wrestrict overlaps inside std::string (GCC PR 105651).
  $<$<AND:$<CXX_COMPILER_ID:GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>>:-Wno-restrict>
  $<$<BOOL:${QFORGE_WERROR}>:-Werror>)
