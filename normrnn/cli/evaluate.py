"""``normrnn evaluate``: the held-out loss of a checkpoint, in bits per token."""

import json
from pathlib import Path

from .options import POS_INT

__all__ = ["HELP", "configure", "run", "evaluate_checkpoint", "format_result"]

HELP = "held-out loss of a checkpoint, in bits per token"


def configure(p):
    """Add the arguments of ``normrnn evaluate`` to the parser ``p``."""
    p.add_argument("checkpoint", type=Path, help="a checkpoint written by `normrnn train`")
    p.add_argument("data", type=Path, help="held-out documents (same formats as train)")
    p.add_argument("--threads", type=POS_INT, default=None, help="threads (default: up to 2)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args):
    """Run ``normrnn evaluate``; return the exit status."""
    result = evaluate_checkpoint(args.checkpoint, args.data, n_threads=args.threads)
    print(json.dumps(result) if args.json else format_result(result))
    return 0


def evaluate_checkpoint(checkpoint, data, *, n_threads=None):
    """Loss of a checkpoint's model on every document of ``data``.

    Parameters
    ----------
    checkpoint : str or Path
    data : str or Path
        Held-out documents, in any format :func:`~normrnn.data.load_corpus` reads.
    n_threads : int or None, optional
        Default: the checkpoint's.

    Returns
    -------
    dict
        ``bits_per_token``, ``tokens``, ``documents``, ``nats``,
        ``unigram_bits_per_token`` (the training unigram on this data),
        ``unknown_characters`` (read as ``<unk>``), ``checkpoint`` and ``data``.
    """
    from ..data.corpus import load_corpus
    from ..data.tokenizer import UNK
    from ..training import evaluate, load_checkpoint, unigram_bits_per_token
    ckpt = load_checkpoint(checkpoint)
    documents = [ckpt.tokenizer.encode_document(d) for d in load_corpus(data)]
    result = evaluate(ckpt.model, documents, n_threads=n_threads or ckpt.config.n_threads)
    unknown = sum(int((tokens == UNK).sum()) for tokens, _ in documents)
    return {"bits_per_token": result.bits_per_token, "tokens": result.tokens,
            "documents": result.documents, "nats": result.nats,
            "unigram_bits_per_token": unigram_bits_per_token(ckpt.unigram, documents),
            "unknown_characters": unknown, "checkpoint": str(checkpoint), "data": str(data)}


def format_result(result):
    """The text ``normrnn evaluate`` prints for a result of :func:`evaluate_checkpoint`."""
    text = (f"{result['bits_per_token']:.4f} bits per token over {result['tokens']} tokens "
            f"({result['documents']} documents); unigram baseline "
            f"{result['unigram_bits_per_token']:.4f}")
    if result["unknown_characters"]:
        text += (f"\n{result['unknown_characters']} characters were not in the vocabulary "
                 "and were read as <unk>")
    return text
