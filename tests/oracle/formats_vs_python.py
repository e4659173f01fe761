#!/usr/bin/env python3
"""qforge's safetensors and GGUF files against the Python reference packages:
- safetensors written by `safetensors.numpy.save_file` and rewritten by `qforge convert` come
  back byte for byte identical (the reference writer's layout);
- a GGUF written by gguf-py's GGUFWriter is read by qforge (metadata, shapes, dequantized values);
- a GGUF written by qforge is read by gguf-py with the same tensors.
Usage: formats_vs_python.py QFORGE [SHARED_DIR]. Exit 77 (skip) without the packages."""
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import gguf
    from gguf import GGUFReader, GGUFWriter, GGMLQuantizationType as T, quants
    from safetensors.numpy import save_file, load_file
except ImportError as e:
    print(f"SKIP: {e}; install with: pip install numpy gguf safetensors")
    sys.exit(77)

QF = sys.argv[1]
SHARED = os.environ.get("QFORGE_SHARED") or (sys.argv[2] if len(sys.argv) > 2 else None)
if SHARED and not os.path.exists(os.path.join(SHARED, "models", "stories260K", "stories260K.bin")):
    print(f"note: {SHARED}/models/stories260K missing; the stories260K check is skipped")
    SHARED = None
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


with tempfile.TemporaryDirectory() as d:
    rng = np.random.default_rng(0)
    # 1. safetensors, byte for byte
    tensors = {
        "b.weight": rng.standard_normal((3, 5)).astype(np.float32),
        "a.weight": rng.standard_normal((4,)).astype(np.float16),
        "c.idx": np.arange(6, dtype=np.int64).reshape(2, 3),
        "d.mask": np.array([True, False, True]),
        "e.bytes": np.arange(7, dtype=np.uint8),
        "f.double": np.array([1.0 / 3.0], dtype=np.float64),
        "g.empty": np.zeros((0, 3), dtype=np.float32),
    }
    a = os.path.join(d, "ref.safetensors")
    b = os.path.join(d, "ours.safetensors")
    save_file(tensors, a, metadata={"format": "pt"})
    qforge("convert", a, "-o", b)
    check(open(a, "rb").read() == open(b, "rb").read(), "safetensors rewritten by qforge is byte-identical to safetensors-python's")
    back = load_file(b)
    check(all(np.array_equal(back[k], v) for k, v in tensors.items()), "safetensors-python loads qforge's file")

    # 2. GGUF written by gguf-py, read by qforge
    g = os.path.join(d, "ref.gguf")
    w = GGUFWriter(g, "llama")
    w.add_context_length(128)
    w.add_embedding_length(64)
    w.add_block_count(1)
    w.add_feed_forward_length(128)
    w.add_head_count(4)
    w.add_head_count_kv(2)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    w.add_array("test.nested", [[1, 2], [3]])
    w.add_bool("test.flag", True)
    w.add_float64("test.f64", 0.125)
    x = rng.standard_normal((4, 64)).astype(np.float32)
    w.add_tensor("token_embd.weight", rng.standard_normal((16, 64)).astype(np.float32))
    w.add_tensor("blk.0.attn_q.weight", quants.quantize(x, T.Q8_0), raw_dtype=T.Q8_0)
    w.add_tensor("blk.0.attn_k.weight", x.astype(np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    info = json.loads(qforge("info", g, "--json", "--tensors"))
    check(info["config"]["num_kv_heads"] == 2 and info["config"]["hidden_size"] == 64, "qforge reads gguf-py's metadata")
    types = {t["name"]: t["type"] for t in info["tensors"]}
    check(types == {"token_embd.weight": "f32", "blk.0.attn_q.weight": "q8_0", "blk.0.attn_k.weight": "f16"},
          f"qforge reads gguf-py's tensor types {types}")
    st = os.path.join(d, "from_gguf.safetensors")
    qforge("convert", g, "-o", st, "--type", "f32")
    vals = load_file(st)
    want_q = quants.dequantize(quants.quantize(x, T.Q8_0), T.Q8_0)
    check(np.array_equal(vals["blk.0.attn_q.weight"], want_q), "qforge's Q8_0 dequantization equals gguf-py's")
    check(np.array_equal(vals["blk.0.attn_k.weight"], x.astype(np.float16).astype(np.float32)), "f16 tensor read back")

    # 3. GGUF written by qforge, read by gguf-py
    if SHARED:
        src = os.path.join(SHARED, "models", "stories260K", "stories260K.bin")
        out = os.path.join(d, "stories.gguf")
        qforge("convert", src, "-o", out, "--type", "f32")
        r = GGUFReader(out)
        raw = np.fromfile(src, dtype=np.float32, offset=28)
        emb = r.get_tensor(0)
        check(emb.name == "token_embd.weight" and np.array_equal(np.asarray(emb.data).reshape(-1), raw[:512 * 64]),
              "gguf-py reads qforge's stories260K GGUF with identical weights")
        fields = {k: f.contents() for k, f in r.fields.items() if not k.startswith("GGUF.")}
        check(fields["general.architecture"] == "llama" and fields["llama.attention.head_count_kv"] == 4
              and len(fields["tokenizer.ggml.tokens"]) == 512, "gguf-py reads qforge's metadata")

    # 4. a real model: every tensor of the SmolLM2 demo GGUF dequantizes as gguf-py does
    cache = os.environ.get("QFORGE_CACHE") or os.path.expanduser("~/.cache/qforge")
    smol = os.environ.get("QFORGE_DEMO_MODEL") or os.path.join(cache, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
    if os.path.exists(smol):
        st = os.path.join(d, "smol.safetensors")
        qforge("convert", smol, "-o", st, "--type", "f32")
        ours = load_file(st)
        r = GGUFReader(smol)
        differ = [t.name for t in r.tensors
                  if not np.array_equal(quants.dequantize(t.data, t.tensor_type).reshape(ours[t.name].shape), ours[t.name])]
        check(not differ, f"all {len(r.tensors)} SmolLM2 tensors dequantize as gguf-py does {differ[:3]}")
    else:
        print(f"note: {smol} not cached (scripts/setup.sh --demo-model); the SmolLM2 check is skipped")

sys.exit(0 if ok else 1)
