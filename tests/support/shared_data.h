// Where the tests find ../shared (models, data, reference facts): $QFORGE_SHARED, else the
// folder beside the checkout. Tests that need it skip with a message saying which path is missing.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>

namespace qforge::testing {

inline std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("QFORGE_SHARED"); env && *env) return env;
  return std::filesystem::path(QFORGE_SOURCE_DIR) / ".." / "shared";
}

// The file under shared/, or nullopt when it is not there.
inline std::optional<std::filesystem::path> shared_file(const std::filesystem::path& rel) {
  const auto p = shared_dir() / rel;
  if (std::filesystem::exists(p)) return p;
  return std::nullopt;
}

}  // namespace qforge::testing

// Skips the current test, naming the missing file and how to point at the data.
#define QFORGE_REQUIRE_SHARED(var, rel)                                                             \
  const auto var##_opt = ::qforge::testing::shared_file(rel);                                      \
  if (!var##_opt)                                                                                  \
    GTEST_SKIP() << "shared data missing: " << (::qforge::testing::shared_dir() / (rel)).string() \
                 << " (set QFORGE_SHARED to the shared/ folder)";                                  \
  const std::filesystem::path var = *var##_opt

namespace qforge::testing {

// The demo model scripts/setup.sh caches (SmolLM2-135M-Instruct, Q4_1 GGUF), or nullopt.
inline std::optional<std::filesystem::path> demo_model() {
  if (const char* env = std::getenv("QFORGE_DEMO_MODEL"); env && *env) return std::filesystem::path(env);
  std::filesystem::path cache;
  if (const char* c = std::getenv("QFORGE_CACHE"); c && *c) cache = c;
  else if (const char* home = std::getenv("HOME"); home && *home) cache = std::filesystem::path(home) / ".cache/qforge";
  const auto p = cache / "models/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!cache.empty() && std::filesystem::exists(p)) return p;
  return std::nullopt;
}

}  // namespace qforge::testing
