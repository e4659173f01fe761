#!/usr/bin/env bash
# Sets up, builds (release preset) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test-oracles
cmake --preset release
cmake --build --preset release
ctest --preset release
