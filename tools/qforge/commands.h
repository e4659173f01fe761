// The qforge subcommands, one file each. Each returns the process exit code and throws
// qforge::Error for anything the user must fix; main() prints it once.
#pragma once

#include <span>
#include <string>

namespace qforge::cli {

int cmd_dtypes(std::span<const std::string> args);
int cmd_info(std::span<const std::string> args);
int cmd_convert(std::span<const std::string> args);
int cmd_run(std::span<const std::string> args);
int cmd_eval(std::span<const std::string> args);
int cmd_synth(std::span<const std::string> args);
int cmd_bench(std::span<const std::string> args);
int cmd_quantize(std::span<const std::string> args);

}  // namespace qforge::cli
