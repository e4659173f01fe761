#!/usr/bin/env bash
# Sets up, builds (release preset) and runs qforge's main job on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release
qforge=build/release/bin/qforge
set -x
"$qforge" info
"$qforge" dtypes
"$qforge" dtypes --value 1/3
