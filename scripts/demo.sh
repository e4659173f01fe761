#!/usr/bin/env bash
# Sets up, builds (release preset) and runs qforge's main job on this machine: inspect the
# machine and the data types, then read a real model and write it as quantized GGUF.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release
qforge=build/release/bin/qforge
shared=${QFORGE_SHARED:-../shared}
out=${QFORGE_DEMO_OUT:-build/demo}
mkdir -p "$out"
set -x
"$qforge" info
"$qforge" dtypes --value 1/3
if [ -f "$shared/models/stories260K/stories260K.bin" ]; then
  "$qforge" info "$shared/models/stories260K/stories260K.bin"
  "$qforge" convert "$shared/models/stories260K/stories260K.bin" -o "$out/stories260K-q8_0.gguf" --type q8_0
  "$qforge" info "$out/stories260K-q8_0.gguf"
  "$qforge" run "$out/stories260K-q8_0.gguf" -p "Once upon a time" -n 60
  wiki="$shared/data/wikitext-2-raw/wiki.test.raw"
  "$qforge" eval "$shared/models/stories260K/stories260K.bin" --ppl "$wiki" --chunks 100
  "$qforge" eval "$out/stories260K-q8_0.gguf" --ppl "$wiki" --chunks 100
else
  echo "demo: $shared/models/stories260K not found (set QFORGE_SHARED); model steps skipped"
fi
