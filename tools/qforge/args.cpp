#include "args.h"

#include <exception>

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

int64_t Args::integer(const std::string& name, int64_t fallback, int64_t lo, int64_t hi) {
  const std::optional<std::string> s = option(name);
  if (!s) return fallback;
  try {
    size_t used = 0;
    const long long v = std::stoll(*s, &used);
    if (used == s->size() && v >= lo && v <= hi) return v;
  } catch (const std::exception&) {
  }
  const std::string range = hi != INT64_MAX ? "an integer in " + std::to_string(lo) + ".." + std::to_string(hi)
                            : lo == 0       ? std::string("a non-negative integer")
                                            : "an integer >= " + std::to_string(lo);
  throw Error(ErrorCategory::InvalidArgument, command_ + ": " + name + " expects " + range + ", got '" + *s + "'");
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
