"""What a learned gain buys, measured on real text the model never trained on.

``python benchmarks/gain_goal.py [--minutes 1] [--hidden 64] [--out runs/gain-goal]``

1. Builds a corpus the embedded one (standard-library docstrings) does not
   contain: the *comments* of the standard library's ``.py`` files, one
   document per module (title: its dotted name, text: its comment lines,
   ``#`` removed), test suites left out.  Modules are split by a hash of
   their name: about 10% held out.  Both parts are written as JSON Lines
   (``train.jsonl``, ``heldout.jsonl``) in the output folder.
2. Trains twice with the same command and budget, ``normrnn train
   train.jsonl --hidden H --minutes M --gain fixed|learned``.
3. Measures each checkpoint with ``normrnn evaluate --json`` on the held-out
   file, and interpolated Kneser-Ney unigram, bigram and trigram baselines
   (:mod:`normrnn.baselines`) counted on ``train.jsonl`` and measured on
   the same held-out documents, with the same tokenizer.
4. Samples both models for two titles with the same seed.

Prints a table and writes ``results.json``.  Timing on a shared machine is
noisy; the budget is wall-clock minutes, so a busy machine trains less.
"""

import argparse
import hashlib
import io
import json
import subprocess
import sys
import sysconfig
import tokenize
from pathlib import Path

TITLES = ("json.decoder", "heapq")


def comments(path):
    """The comment lines of one Python file, ``#`` and one space removed."""
    lines = []
    try:
        source = path.read_bytes()
        for tok in tokenize.tokenize(io.BytesIO(source).readline):
            if tok.type == tokenize.COMMENT:
                text = tok.string.lstrip("#").strip()
                if text and not text.startswith(("!", "-*-")):
                    lines.append(text)
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, OSError):
        return ""
    return "\n".join(lines)


def stdlib_comment_documents(min_length=200):
    """``(title, text)`` per standard-library module with enough comments."""
    root = Path(sysconfig.get_paths()["stdlib"])
    skip = ("test", "tests", "idle_test", "site-packages", "__pycache__", "lib2to3")
    documents = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if any(p in skip or p.startswith("test_") for p in parts):
            continue
        text = comments(path)
        if len(text) >= min_length:
            title = ".".join(p for p in parts if p != "__init__") or parts[0]
            documents.append({"title": title, "text": text})
    return documents


def held_out(title):
    """About one module in ten, chosen by a hash of its name (stable across runs)."""
    return hashlib.sha256(title.encode()).digest()[0] < 26


def write_split(out):
    docs = stdlib_comment_documents()
    parts = {"train": [d for d in docs if not held_out(d["title"])],
             "heldout": [d for d in docs if held_out(d["title"])]}
    for name, items in parts.items():
        with open(out / f"{name}.jsonl", "w", encoding="utf-8") as f:
            for d in items:
                f.write(json.dumps(d) + "\n")
    return {name: (len(items), sum(len(d["text"]) for d in items))
            for name, items in parts.items()}


def normrnn(*args):
    run = subprocess.run([sys.executable, "-m", "normrnn", *map(str, args)],
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"normrnn {' '.join(map(str, args))} failed:\n{run.stderr}")
    return run.stdout


def baselines(checkpoint, out):
    from normrnn.data.corpus import load_corpus
    from normrnn.training.checkpoint import load_checkpoint
    from normrnn.baselines import ngram_bits_per_token
    tokenizer = load_checkpoint(checkpoint).tokenizer
    train = [tokenizer.encode_document(d) for d in load_corpus(out / "train.jsonl")]
    test = [tokenizer.encode_document(d) for d in load_corpus(out / "heldout.jsonl")]
    return {name: ngram_bits_per_token(train, test, n, tokenizer.vocab_size)
            for n, name in ((1, "unigram"), (2, "bigram"), (3, "trigram"))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path("runs/gain-goal"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = write_split(args.out)
    print(f"corpus: standard-library comments; train {sizes['train'][0]} modules, "
          f"{sizes['train'][1]} characters; held out {sizes['heldout'][0]} modules, "
          f"{sizes['heldout'][1]} characters", flush=True)
    results = {"sizes": sizes, "models": {}}
    for gain in ("fixed", "learned"):
        ckpt = args.out / f"{gain}.npz"
        trained = json.loads(normrnn("train", args.out / "train.jsonl", "--out", ckpt,
                                     "--hidden", args.hidden, "--minutes", args.minutes,
                                     "--gain", gain, "--no-progress", "--json"))
        held = json.loads(normrnn("evaluate", ckpt, args.out / "heldout.jsonl", "--json"))
        samples = {t: normrnn("sample", ckpt, "--title", t, "--seed", 0, "--max-tokens", 200)
                   for t in TITLES}
        results["models"][gain] = {"train": trained, "heldout": held, "samples": samples}
        print(f"gain {gain}: {trained['steps']} steps, {trained['tokens']} tokens, "
              f"{trained['tokens_per_second']:.0f} tokens/s; held-out "
              f"{held['bits_per_token']:.4f} bits/token", flush=True)
    results["baselines"] = baselines(args.out / "fixed.npz", args.out)
    fixed = results["models"]["fixed"]["heldout"]["bits_per_token"]
    learned = results["models"]["learned"]["heldout"]["bits_per_token"]
    print(f"\n{'held-out bits/token':<28}{'':>8}")
    for name, bits in [("gain fixed", fixed), ("gain learned", learned),
                       *[(f"{k} (Kneser-Ney)", v) for k, v in results["baselines"].items()]]:
        print(f"{name:<28}{bits:8.4f}")
    print(f"\nlearned - fixed: {learned - fixed:+.4f} bits/token (goal: <= -0.4); "
          f"learned - trigram: {learned - results['baselines']['trigram']:+.4f} (goal: < 0)")
    for gain in ("fixed", "learned"):
        firsts = [results["models"][gain]["samples"][t].splitlines()[0] if
                  results["models"][gain]["samples"][t].strip() else "" for t in TITLES]
        print(f"\ngain {gain}, seed 0; first lines differ: {firsts[0] != firsts[1]}")
        for t in TITLES:
            print(f"--- {t}\n{results['models'][gain]['samples'][t].rstrip()}")
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
