# Per-ISA compile flags. Only the small per-ISA translation units get them (never the
# whole build), so the binary still runs on any x86-64 and dispatches once at start-up.
set(QFORGE_FLAGS_AVX2 -mavx2 -mfma -mf16c)
set(QFORGE_FLAGS_AVXVNNI ${QFORGE_FLAGS_AVX2} -mavxvnni)
set(QFORGE_FLAGS_AVX512 -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma -mf16c)
set(QFORGE_FLAGS_AVX512VNNI ${QFORGE_FLAGS_AVX512} -mavx512vnni)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  # g++ 12's own avx512fintrin.h trips -Wmaybe-uninitialized (GCC PR 105593).
  list(APPEND QFORGE_FLAGS_AVX512 -Wno-maybe-uninitialized)
  list(APPEND QFORGE_FLAGS_AVX512VNNI -Wno-maybe-uninitialized -Wno-uninitialized)  # its _mm512_reduce_add_epi32 too
endif()

# qforge_isa_sources(<target> <isa> <files...>): add files compiled with that ISA's flags.
function(qforge_isa_sources target isa)
  target_sources(${target} PRIVATE ${ARGN})
  set_source_files_properties(${ARGN} TARGET_DIRECTORY ${target}
    PROPERTIES COMPILE_OPTIONS "${QFORGE_FLAGS_${isa}}")
endfunction()
