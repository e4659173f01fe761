"""Oracle: qforge's GPT-2 runtime against a direct numpy transcription of Hugging Face's
GPT2LMHeadModel (Conv1D weights [in, out], pre-LayerNorm blocks, tanh GELU, tied output).

Usage: gpt2_vs_numpy.py QFORGE_CLI LOGITS_DUMP. Exit 77 (skip) when numpy/ml_dtypes are missing.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import ml_dtypes
except ImportError as e:
    print(f"SKIP: {e} (./scripts/setup.sh --test-oracles installs it)")
    sys.exit(77)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "BF16", info["dtype"]
        a, b = info["data_offsets"]
        raw = np.frombuffer(data[a:b], dtype=ml_dtypes.bfloat16).astype(np.float32)
        out[name] = raw.reshape(info["shape"])
    return out


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu_new(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def gpt2_logits(w, cfg, ids):
    d, nh, eps = cfg["n_embd"], cfg["n_head"], cfg["layer_norm_epsilon"]
    hd, n = d // nh, len(ids)
    x = (w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][:n]).astype(np.float64)
    mask = np.triu(np.full((n, n), -np.inf), 1)
    for l in range(cfg["n_layer"]):
        p = f"transformer.h.{l}."
        h = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = (qkv[:, i * d:(i + 1) * d].reshape(n, nh, hd).transpose(1, 0, 2) for i in range(3))
        s = q @ k.transpose(0, 2, 1) / np.sqrt(hd) + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        a = (s @ v).transpose(1, 0, 2).reshape(n, d)
        x = x + a @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        h = gelu_new(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        x = x + h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = layer_norm(x, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], eps)
    return x @ w["transformer.wte.weight"].T


def main():
    cli, dump = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "gpt2")
        subprocess.run([cli, "synth", "--arch", "gpt2", "--preset", "tiny", "--seed", "11", "-o", model],
                       check=True, stdout=subprocess.DEVNULL)
        cfg = json.load(open(os.path.join(model, "config.json")))
        w = read_safetensors(os.path.join(model, "model.safetensors"))
        ids = [int(i) for i in np.random.default_rng(3).integers(0, cfg["vocab_size"], 40)]
        out = subprocess.run([dump, model] + [str(i) for i in ids], check=True, capture_output=True).stdout
        ours = np.frombuffer(out, dtype=np.float32).reshape(len(ids), cfg["vocab_size"])
        ref = gpt2_logits(w, cfg, ids)
        err = np.abs(ours - ref).max()
        scale = np.abs(ref).max()
        print(f"gpt2 tiny, {len(ids)} tokens: max |Δlogit| = {err:.3g} (logits up to {scale:.3g})")
        # f32 against f64 over 2 layers rounds to ~1e-7 of the logit range; tanh-vs-erf GELU
        # alone moves the logits by ~5e-5 of it, so 1e-5 tells the two apart
        if not err <= 1e-5 * max(1.0, scale):
            print("FAIL: qforge's GPT-2 logits differ from the numpy reference")
            return 1
        if (ours.argmax(-1) != ref.argmax(-1)).any():
            print("FAIL: argmax differs")
            return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
