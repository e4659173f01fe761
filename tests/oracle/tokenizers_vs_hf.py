"""Oracle: qforge's byte-level BPE (read from tokenizer.json) against Hugging Face `tokenizers`
on every line of WikiText-2's test set, for each pre-tokenizer qforge recognises (gpt2, smollm,
llama3, qwen2) — and qforge's SentencePiece (read from tok512.model) against `sentencepiece`.

The BPE vocabulary is trained here by `tokenizers` on WikiText-2's validation text (deterministic;
a few seconds), so no tokenizer file has to be downloaded.
Usage: tokenizers_vs_hf.py TOKENIZE_DUMP SHARED_DIR. Exit 77 (skip) when packages or data are missing.
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import tokenizers
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
except ImportError as e:
    print(f"SKIP: {e} (./scripts/setup.sh --test-oracles installs it)")
    sys.exit(77)

LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = LLAMA3.replace(r"\p{N}{1,3}", r"\p{N}")

# Lines that stress the rules beyond WikiText: contractions in any case, digit runs, newlines
# inside a line are impossible here, so runs of spaces/tabs and symbols before letters.
EXTRA = [
    "I'M sure YOU'LL see they'Re 12345678 and 1,234.5 (x) \"quoted\"  double  spaces\tand\ttabs",
    "  leading and trailing spaces   ",
    "¿Qué? Ελληνικά 日本語のテキスト 한국어 émoji 🙂🙂 ǅ ß ﬁ",
    "a'b 's 'S 'Ll 'VE 'd'd'd ''s",
    "x²³ ½ ① ٣ ๓ — – … «»",
]


def pre_tokenizer(kind):
    if kind == "gpt2":
        return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if kind == "smollm":
        return pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    regex = LLAMA3 if kind == "llama3" else QWEN2
    return pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(regex), behavior="isolated", invert=False),
                                    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])


def compare(dump, tok_path, text_path, lines, reference, label):
    out = subprocess.run([dump, tok_path, text_path], check=True, capture_output=True, text=True).stdout
    ours = out.split("\n")
    bad = 0
    total = 0
    for i, line in enumerate(lines):
        ref = reference(line)
        got = [int(x) for x in ours[i].split()] if ours[i] else []
        total += len(ref)
        if got != ref:
            if bad < 3:
                print(f"  {label}: line {i + 1} differs\n    text {line[:120]!r}\n    ref  {ref[:40]}\n    ours {got[:40]}")
            bad += 1
    print(f"{label}: {len(lines)} lines, {total} tokens, {bad} lines differ")
    return bad == 0


def main():
    dump, shared = sys.argv[1], sys.argv[2]
    test_file = os.path.join(shared, "data", "wikitext-2-raw", "wiki.test.raw")
    train_file = os.path.join(shared, "data", "wikitext-2", "wiki.valid.tokens")
    if not os.path.exists(test_file) or not os.path.exists(train_file):
        print(f"SKIP: WikiText-2 not found under {shared}/data")
        return 77
    lines = open(test_file, encoding="utf-8").read().split("\n")[:-1] + EXTRA
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        text_path = os.path.join(tmp, "text.txt")
        with open(text_path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        for kind in ["gpt2", "smollm", "llama3", "qwen2"]:
            tok = Tokenizer(models.BPE(ignore_merges=(kind == "llama3")))
            tok.pre_tokenizer = pre_tokenizer(kind)
            tok.decoder = decoders.ByteLevel()
            trainer = trainers.BpeTrainer(vocab_size=3000, special_tokens=["<|endoftext|>"], show_progress=False,
                                          initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
            tok.train([train_file], trainer)
            path = os.path.join(tmp, f"{kind}.json")
            tok.save(path)
            ok &= compare(dump, path, text_path, lines,
                          lambda s: tok.encode(s, add_special_tokens=False).ids, f"{kind} (tokenizers {tokenizers.__version__})")
        spm_model = os.path.join(shared, "models", "stories260K", "tok512.model")
        try:
            import sentencepiece as spm
        except ImportError:
            spm = None
            print("sentencepiece not installed: the tok512.model comparison is skipped")
        if spm is not None and os.path.exists(spm_model):
            sp = spm.SentencePieceProcessor(model_file=spm_model)
            # sentencepiece collapses runs of spaces and trims (remove_extra_whitespaces); llama.cpp
            # and qforge keep them, so compare on text where that normalisation changes nothing.
            spm_lines = [" ".join(line.split()) for line in lines]
            spm_path = os.path.join(tmp, "spm.txt")
            with open(spm_path, "w", encoding="utf-8") as f:
                f.write("\n".join(spm_lines) + "\n")
            ok &= compare(dump, spm_model, spm_path, spm_lines, lambda s: sp.encode(s), "tok512.model (sentencepiece)")
    print("OK" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
