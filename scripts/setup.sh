#!/usr/bin/env bash
# Installs what qforge needs to build and test, from Debian's packages, only if missing.
#   scripts/setup.sh                  build dependencies
#   scripts/setup.sh --test-oracles   also the Python packages the tests use as independent
#                                     oracles (numpy, ml_dtypes, gguf, safetensors); never needed by qforge itself
set -euo pipefail

packages=(g++ cmake ninja-build pkg-config libgtest-dev libgmock-dev nlohmann-json3-dev python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "${1:-}" = "--test-oracles" ]; then
  if ! python3 -c "import numpy, ml_dtypes, gguf, safetensors" 2>/dev/null; then
    echo "setup: installing test oracles from PyPI: numpy ml_dtypes gguf safetensors"
    python3 -m pip install --quiet numpy ml_dtypes gguf safetensors 2>/dev/null ||
      python3 -m pip install --quiet --break-system-packages numpy ml_dtypes gguf safetensors ||
      echo "setup: could not install the oracles; the oracle tests will be skipped"
  fi
fi
