#include "args.h"

#include "qforge/error.h"

namespace qforge::cli {

Args::Args(std::string command, std::span<const std::string> argv)
    : command_(std::move(command)), argv_(argv.begin(), argv.end()), used_(argv.size(), false) {}

bool Args::flag(const std::string& name) {
  known_.push_back(name);
  bool found = false;
  for (size_t i = 0; i < argv_.size(); ++i)
    if (!used_[i] && argv_[i] == name) used_[i] = found = true;
  return found;
}

std::optional<std::string> Args::option(const std::string& name) {
  known_.push_back(name + " VALUE");
  std::optional<std::string> value;
  for (size_t i = 0; i < argv_.size(); ++i) {
    if (used_[i]) continue;
    if (argv_[i] == name) {
      if (i + 1 >= argv_.size())
        throw Error(ErrorCategory::InvalidArgument, command_ + ": " + name + " needs a value");
      used_[i] = used_[i + 1] = true;
      value = argv_[i + 1];
      ++i;
    } else if (argv_[i].rfind(name + "=", 0) == 0) {
      used_[i] = true;
      value = argv_[i].substr(name.size() + 1);
    }
  }
  return value;
}

std::vector<std::string> Args::positionals() {
  std::vector<std::string> p;
  for (size_t i = 0; i < argv_.size(); ++i)
    if (!used_[i] && (argv_[i].empty() || argv_[i][0] != '-' || argv_[i] == "-")) {
      used_[i] = true;
      p.push_back(argv_[i]);
    }
  return p;
}

void Args::finish() const {
  for (size_t i = 0; i < argv_.size(); ++i) {
    if (used_[i]) continue;
    std::string accepted;
    for (const auto& k : known_) accepted += (accepted.empty() ? "" : ", ") + k;
    throw Error(ErrorCategory::InvalidArgument, command_ + ": unknown argument '" + argv_[i] + "'; accepted: " +
                                                    (accepted.empty() ? "none" : accepted));
  }
}

}  // namespace qforge::cli
