#!/usr/bin/env python3
"""qforge's f32 -> f16/bf16/fp8 conversions against independent implementations:
numpy's float16 and ml_dtypes' bfloat16, float8_e4m3fn and float8_e5m2.

Inputs: ~1M f32 values: random bit patterns, every value of each narrow type with its
f32 neighbours, and the exact midpoints between neighbours (the ties). Exit 77 (skip)
when numpy or ml_dtypes is missing."""
import subprocess
import sys

try:
    import numpy as np
    import ml_dtypes
except ImportError as e:
    print(f"SKIP: {e}; install with: pip install numpy ml_dtypes")
    sys.exit(77)


def inputs():
    rng = np.random.default_rng(1)
    parts = [rng.integers(0, 2**32, size=600_000, dtype=np.uint64).astype(np.uint32).view(np.float32)]
    for t, bits in ((np.float16, 16), (ml_dtypes.bfloat16, 16), (ml_dtypes.float8_e4m3fn, 8),
                    (ml_dtypes.float8_e5m2, 8)):
        u = np.arange(2**bits, dtype=np.uint16 if bits == 16 else np.uint8)
        vals = u.view(t).astype(np.float32)
        vals = vals[np.isfinite(vals)]
        vals = np.unique(vals)
        mids = ((vals[:-1].astype(np.float64) + vals[1:].astype(np.float64)) / 2).astype(np.float32)
        vb = vals.view(np.uint32)
        parts += [vals, mids, (vb + 1).view(np.float32), (vb - 1).view(np.float32)]
    parts.append(np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e30, -1e30, 448, 464, 465, 480,
                           57344, 61440, 65504, 65520], dtype=np.float32))
    return np.concatenate(parts).astype(np.float32)


def same(ours, theirs, what, x):
    ours_nan = np.isnan(ours.astype(np.float32))
    theirs_nan = np.isnan(theirs.astype(np.float32))
    bits_eq = ours.view(np.uint8 if ours.itemsize == 1 else np.uint16) == \
        theirs.view(np.uint8 if theirs.itemsize == 1 else np.uint16)
    ok = (ours_nan & theirs_nan) | (~ours_nan & ~theirs_nan & bits_eq)
    bad = np.flatnonzero(~ok)
    if bad.size:
        i = bad[0]
        print(f"FAIL {what}: {bad.size} mismatches; first: x={x[i]!r} (0x{x.view(np.uint32)[i]:08x}) "
              f"ours={ours[i]!r} theirs={theirs[i]!r}")
        return False
    print(f"ok   {what}: {x.size} values agree")
    return True


def main():
    x = inputs()
    out = subprocess.run([sys.argv[1]], input=x.tobytes(), capture_output=True, check=True).stdout
    n = x.size
    off = 0

    def take(nbytes, dtype):
        nonlocal off
        a = np.frombuffer(out, dtype=np.uint8, count=n * nbytes, offset=off).view(dtype)
        off += n * nbytes
        return a

    f16, bf16 = take(2, np.float16), take(2, ml_dtypes.bfloat16)
    e4, e5 = take(1, ml_dtypes.float8_e4m3fn), take(1, ml_dtypes.float8_e5m2)
    e4s, e5s = take(1, ml_dtypes.float8_e4m3fn), take(1, ml_dtypes.float8_e5m2)
    with np.errstate(over="ignore", invalid="ignore"):
        ok = same(f16, x.astype(np.float16), "f16 vs numpy", x)
        ok &= same(bf16, x.astype(ml_dtypes.bfloat16), "bf16 vs ml_dtypes", x)
        ok &= same(e4, x.astype(ml_dtypes.float8_e4m3fn), "f8_e4m3 vs ml_dtypes", x)
        ok &= same(e5, x.astype(ml_dtypes.float8_e5m2), "f8_e5m2 vs ml_dtypes", x)
        # saturation = clip to ±max first (values between max and the overflow point round to max anyway)
        ok &= same(e4s, np.clip(x, -448, 448).astype(ml_dtypes.float8_e4m3fn), "f8_e4m3 saturating", x)
        ok &= same(e5s, np.clip(x, -57344, 57344).astype(ml_dtypes.float8_e5m2), "f8_e5m2 saturating", x)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
