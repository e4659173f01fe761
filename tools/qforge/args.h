// A small command-line parser: each subcommand declares the flags it takes, and anything
// else is an error that lists them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace qforge::cli {

class Args {
 public:
  Args(std::string command, std::span<const std::string> argv);

  bool flag(const std::string& name);                          // --json
  std::optional<std::string> option(const std::string& name);  // --value X or --value=X
  // --name N as an integer in lo..hi (fallback when absent); Error(InvalidArgument) otherwise.
  int64_t integer(const std::string& name, int64_t fallback, int64_t lo = 0, int64_t hi = INT64_MAX);
  std::vector<std::string> positionals();
  // Throws Error(InvalidArgument) for anything not consumed, listing what the command takes.
  void finish() const;

 private:
  std::string command_;
  std::vector<std::string> argv_;
  std::vector<bool> used_;
  std::vector<std::string> known_;
};

}  // namespace qforge::cli
