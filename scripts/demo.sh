#!/usr/bin/env bash
# Sets up, builds (release preset) and runs qforge's main job on this machine: inspect the
# machine and the data types, then quantize a real model with GPTQ and RTN and measure both.
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
  model="$shared/models/stories260K/stories260K.bin"
  "$qforge" info "$model"
  wiki="$shared/data/wikitext-2-raw/wiki.test.raw"
  calib="$shared/data/wikitext-2/wiki.valid.tokens"  # held out from the test text
  # The main job: GPTQ onto Q4_0's grid, calibrated layer by layer, against llama.cpp's RTN.
  "$qforge" quantize "$model" -o "$out/stories260K-gptq-q4_0.gguf" --method gptq --type q4_0 \
      --calib "$calib" --calib-samples 128 --calib-seqlen 256 --report "$out/gptq-q4_0.json"
  "$qforge" quantize "$model" -o "$out/stories260K-rtn-q4_0.gguf" --method rtn --type q4_0
  "$qforge" info "$out/stories260K-gptq-q4_0.gguf"
  "$qforge" run "$out/stories260K-gptq-q4_0.gguf" -p "Once upon a time" -n 60
  "$qforge" eval "$model" --ppl "$wiki" --chunks 100
  for m in gptq rtn; do
    "$qforge" eval "$out/stories260K-$m-q4_0.gguf" --ppl "$wiki" --chunks 100
    "$qforge" eval "$out/stories260K-$m-q4_0.gguf" --kld-base "$model" --text "$wiki" --chunks 100
  done
else
  echo "demo: $shared/models/stories260K not found (set QFORGE_SHARED); model steps skipped"
fi
