#!/usr/bin/env python3
"""qforge's GPTQ folders (`qforge quantize --format gptq|gptq_v2`) read by a numpy transcription
of AutoGPTQ's layout as ../shared/reference/formats-and-algorithms.md D1 states it (written
here, independently of qforge's packer): qweight along K, LSB-first, 3-bit codes crossing
words; qzeros along N with v1's z - 1; scales[g_idx[k], n]. Checked:
- every linear dequantizes exactly to the values of qforge's own checkpoint of the same RTN
  run, once the q/k rows are put into llama.cpp's RoPE order with convert_hf_to_gguf's
  reshape/swapaxes permutation (so the folder holds Hugging Face's row order);
- the dequantized weights are close to the source model's bf16 weights under the same names
  (read from the raw safetensors bytes), which a row-order mistake would break;
- 4-bit symmetric v1 zeros are all 0x77777777, g_idx is k // group_size, and
  quantize_config.json / config.json's quantization_config carry AutoGPTQ's keys in its order.
Usage: gptq_vs_numpy.py QFORGE. Exit 77 (skip) without numpy/safetensors."""
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
    from safetensors.numpy import load_file
except ImportError as e:
    print(f"SKIP: {e}; install with: pip install numpy safetensors")
    sys.exit(77)

QF = sys.argv[1]
ok = True


def check(cond, what):
    global ok
    print(("ok   " if cond else "FAIL ") + what)
    ok &= bool(cond)


def qforge(*args):
    r = subprocess.run([QF, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"FAIL qforge {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def raw_safetensors(path):
    """name -> float32 array, bf16/f16/f32 decoded from the bytes (numpy has no bfloat16)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        buf = data[a:b]
        if info["dtype"] == "BF16":
            v = (np.frombuffer(buf, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] == "F16":
            v = np.frombuffer(buf, dtype=np.float16).astype(np.float32)
        else:
            v = np.frombuffer(buf, dtype=np.float32)
        out[name] = v.reshape(info["shape"])
    return out


def unpack_along_first(words, bits, count):
    """AutoGPTQ's packing along axis 0: words [count*bits/32, M] -> fields [count, M]."""
    w = words.astype(np.int64) & 0xFFFFFFFF
    m = w.shape[1]
    out = np.zeros((count, m), dtype=np.int64)
    if bits in (2, 4, 8):
        per = 32 // bits
        for j in range(per):
            out[j::per] = (w >> (bits * j)) & ((1 << bits) - 1)
        return out
    assert bits == 3
    for t in range(count // 32):
        w0, w1, w2 = w[3 * t], w[3 * t + 1], w[3 * t + 2]
        c = out[32 * t: 32 * t + 32]
        for j in range(10):
            c[j] = (w0 >> (3 * j)) & 7
        c[10] = ((w0 >> 30) & 3) | ((w1 & 1) << 2)
        for j in range(11, 21):
            c[j] = (w1 >> (3 * (j - 11) + 1)) & 7
        c[21] = ((w1 >> 31) & 1) | ((w2 & 3) << 1)
        for j in range(22, 32):
            c[j] = (w2 >> (3 * (j - 22) + 2)) & 7
    return out


def dequantize(t, p, bits, v1):
    qweight, qzeros, scales, g_idx = t[p + ".qweight"], t[p + ".qzeros"], t[p + ".scales"], t[p + ".g_idx"]
    k, n = qweight.shape[0] * 32 // bits, qweight.shape[1]
    q = unpack_along_first(qweight, bits, k)                                   # [K, N]
    z = unpack_along_first(qzeros.T.copy(), bits, n).T + (1 if v1 else 0)      # [G, N]
    s = scales.astype(np.float32)
    w = s[g_idx] * (q - z[g_idx]).astype(np.float32)                           # [K, N]
    return w.T.copy(), z                                                       # [N, K] as nn.Linear holds it


def to_llamacpp_rope(w, heads):
    """convert_hf_to_gguf's permute for llama q/k weights."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


CANON = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
         "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
         "mlp.down_proj": "ffn_down"}

with tempfile.TemporaryDirectory() as d:
    src = os.path.join(d, "src")
    qforge("synth", "--preset", "tiny", "-o", src, "--seed", "3")
    cfg = json.load(open(os.path.join(src, "config.json")))
    heads, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    source = raw_safetensors(os.path.join(src, "model.safetensors"))
    for bits, group, sym, fmt in [(4, 128, True, "gptq"), (2, 0, True, "gptq"), (8, 64, False, "gptq_v2"), (4, 32, False, "gptq_v2")]:
        tag = f"{bits}-bit G={group} {'sym' if sym else 'asym'} {fmt}"
        grid = ["--bits", str(bits), "--group-size", str(group), "--sym" if sym else "--asym"]
        out = os.path.join(d, f"out-{bits}-{group}-{fmt}")
        ref = os.path.join(d, f"ref-{bits}-{group}-{fmt}.safetensors")
        qforge("quantize", src, "-o", out, "--format", fmt, "--method", "rtn", *grid)
        qforge("quantize", src, "-o", ref, "--method", "rtn", *grid)
        qforge("convert", ref, "-o", ref + ".f32.safetensors", "--type", "f32")
        want = load_file(ref + ".f32.safetensors")
        t = load_file(os.path.join(out, "model.safetensors"))
        qc = json.load(open(os.path.join(out, "quantize_config.json")))
        check(list(qc) == ["bits", "group_size", "damp_percent", "desc_act", "static_groups", "sym", "true_sequential",
                           "model_name_or_path", "model_file_base_name", "quant_method", "checkpoint_format"],
              f"{tag}: quantize_config.json keys in AutoGPTQ's order")
        check(qc["bits"] == bits and qc["group_size"] == (group or -1) and qc["sym"] == sym and
              qc["checkpoint_format"] == fmt and qc["quant_method"] == "gptq", f"{tag}: quantize_config.json values")
        check(json.load(open(os.path.join(out, "config.json")))["quantization_config"] == qc,
              f"{tag}: config.json quantization_config equals quantize_config.json")
        exact = shapes = order_ok = True
        worst = 0.0
        for layer in range(cfg["num_hidden_layers"]):
            for hf, can in CANON.items():
                p = f"model.layers.{layer}.{hf}"
                w, z = dequantize(t, p, bits, fmt == "gptq")
                kk = w.shape[1]
                g = kk if group == 0 else group
                shapes &= t[p + ".qweight"].dtype == np.int32 and t[p + ".scales"].dtype == np.float16
                shapes &= bool((t[p + ".g_idx"] == np.arange(kk) // g).all())
                shapes &= t[p + ".scales"].shape[0] == -(-kk // g)
                if bits == 4 and sym and fmt == "gptq":
                    shapes &= bool((t[p + ".qzeros"].view(np.uint32) == 0x77777777).all())
                if sym:
                    shapes &= bool((z == 2 ** (bits - 1)).all())
                canon = to_llamacpp_rope(w, heads) if can == "attn_q" else to_llamacpp_rope(w, kv) if can == "attn_k" else w
                exact &= np.array_equal(canon, want[f"blk.{layer}.{can}.weight"])
                s = source[p + ".weight"]
                rel = float(np.linalg.norm(w - s) / np.linalg.norm(s))
                worst = max(worst, rel)
                if can in ("attn_q", "attn_k"):  # the source in llama.cpp's order must fit worse
                    wrong = to_llamacpp_rope(s, heads if can == "attn_q" else kv)
                    order_ok &= rel < 0.7 * float(np.linalg.norm(w - wrong) / np.linalg.norm(s))
        check(shapes, f"{tag}: dtypes, g_idx = k // G, group count, symmetric zero points")
        check(exact, f"{tag}: numpy dequantization == qforge's checkpoint values (q/k through llama.cpp's permutation)")
        check(order_ok, f"{tag}: q/k rows are in Hugging Face's order (under 0.7 of the error in llama.cpp's order)")
        bound = {2: 0.9, 4: 0.3, 8: 0.02}[bits]
        check(worst < bound, f"{tag}: close to the source weights in Hugging Face row order (worst relative error {worst:.4f} < {bound})")
        with open(os.path.join(out, "model.safetensors"), "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            md = json.loads(f.read(n))["__metadata__"]
        check(md.get("format") == "pt" and md.get("gptq_bits") == str(bits) and md.get("gptq_checkpoint_format") == fmt,
              f"{tag}: safetensors metadata format=pt, gptq_bits, gptq_checkpoint_format")

sys.exit(0 if ok else 1)
