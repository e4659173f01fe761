#!/usr/bin/env python3
"""qforge's GGUF block codecs against gguf-py (llama.cpp's Python package), an independent
implementation: dequantization of random block bytes for every type qforge reads, and
quantization of random weights for every type both can write. Exit 77 (skip) without gguf."""
import subprocess
import sys

try:
    import numpy as np
    from gguf import GGMLQuantizationType as T, quants
    from gguf.constants import GGML_QUANT_SIZES
except ImportError as e:
    print(f"SKIP: {e}; install with: pip install gguf numpy")
    sys.exit(77)

DUMP = sys.argv[1]
READ = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "TQ1_0", "TQ2_0",
        "F16", "BF16"]
# byte offsets of the fp16 scale fields in each block (kept finite below)
FP16_FIELDS = {"Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0], "Q2_K": [80, 82],
               "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208], "IQ4_NL": [0], "TQ1_0": [52],
               "TQ2_0": [64]}
WRITE = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "TQ1_0", "TQ2_0", "BF16"]


def run(mode, name, data):
    return subprocess.run([DUMP, mode, name.lower()], input=data, capture_output=True, check=True).stdout


def main():
    rng = np.random.default_rng(3)
    ok = True
    for name in READ:
        t = getattr(T, name)
        block_elems, block_bytes = GGML_QUANT_SIZES[t]
        nblocks = 512
        raw = rng.integers(0, 256, size=nblocks * block_bytes, dtype=np.uint8)
        # scales stay finite (|d| < 2) so every value compares; code bytes stay fully random
        raw = raw.reshape(nblocks, block_bytes)
        for off in FP16_FIELDS.get(name, []):
            raw[:, off + 1] &= 0x3F
        raw = raw.reshape(-1)
        ours = np.frombuffer(run("dequantize", name, raw.tobytes()), dtype=np.float32)
        theirs = quants.dequantize(raw, t).astype(np.float32).reshape(-1)
        same = (ours == theirs) | (np.isnan(ours) & np.isnan(theirs))
        if not same.all():
            i = int(np.flatnonzero(~same)[0])
            print(f"FAIL dequantize {name}: {int((~same).sum())} of {ours.size} differ; first at {i} "
                  f"(block {i // block_elems}): ours {ours[i]!r} gguf-py {theirs[i]!r}")
            ok = False
        else:
            print(f"ok   dequantize {name}: {ours.size} values identical")
    for name in WRITE:
        t = getattr(T, name)
        x = (rng.standard_normal(256 * 64) * 0.05).astype(np.float32)
        x[::97] *= 40  # some outliers
        ours = np.frombuffer(run("quantize", name, x.tobytes()), dtype=np.uint8)
        theirs = quants.quantize(x.reshape(64, 256), t).reshape(-1).view(np.uint8)
        if ours.size != theirs.size or not (ours == theirs).all():
            diff = np.flatnonzero(ours != theirs) if ours.size == theirs.size else [0]
            print(f"FAIL quantize {name}: {len(diff)} bytes differ, first at byte {diff[0]}")
            ok = False
        else:
            print(f"ok   quantize {name}: {ours.size} bytes identical")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
