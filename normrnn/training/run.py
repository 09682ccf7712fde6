"""What ``normrnn train`` and ``normrnn evaluate`` do, as plain functions."""

import json
import sys
from pathlib import Path

from ..data.corpus import load_corpus
from ..data.tokenizer import UNK
from .checkpoint import CheckpointError, load_checkpoint
from .config import TrainConfig
from .evaluation import evaluate, unigram_bits_per_token
from .plotting import plot_loss_curve
from .trainer import Trainer

__all__ = ["train_command", "evaluate_command", "summary"]


_BUDGETS = ("epochs", "minutes", "max_steps")


def _resumed_trainer(documents, resume, run_options, overrides, **kwargs):
    checkpoint = load_checkpoint(resume)
    if any(k in overrides for k in _BUDGETS):      # a new budget replaces the saved one
        overrides = {**{k: None for k in _BUDGETS}, **overrides}
    changed = {k: v for k, v in run_options.items() if getattr(checkpoint.config, k) != v}
    if changed:
        raise ValueError(f"cannot change {sorted(changed)} when resuming: "
                         "they define the run saved in the checkpoint")
    return Trainer.resume(checkpoint, documents, overrides=overrides, **kwargs)


def summary(result, checkpoint=None, plot=None):
    """The outcome of a run as a JSON-serialisable ``dict``.

    Parameters
    ----------
    result : TrainResult
    checkpoint, plot : Path or None, optional
        Files written.

    Returns
    -------
    dict
        ``stopped_by``, ``steps``, ``epochs``, ``tokens``, ``elapsed_seconds``,
        ``tokens_per_second``, ``train_bits_per_token``,
        ``valid_bits_per_token``, ``unigram_bits_per_token``, ``checkpoint``,
        ``plot``.
    """
    s = result.state
    return {"stopped_by": result.reason, "steps": s.step, "epochs": s.epoch,
            "tokens": s.tokens, "elapsed_seconds": round(s.elapsed, 3),
            "tokens_per_second": round(result.tokens_per_second, 1),
            "train_bits_per_token": result.train_bits,
            "valid_bits_per_token": result.valid_bits,
            "unigram_bits_per_token": result.unigram_bits,
            "checkpoint": None if checkpoint is None else str(checkpoint),
            "plot": None if plot is None else str(plot)}


def _print_summary(info, data, out):
    print(f"{info['steps']} steps, {info['epochs']} epochs, {info['tokens']} tokens in "
          f"{info['elapsed_seconds']:.1f} s ({info['tokens_per_second']:.0f} tokens/s)")
    print(f"bits per token: train {info['train_bits_per_token']:.4f}, "
          f"validation {info['valid_bits_per_token']:.4f} "
          f"(unigram baseline {info['unigram_bits_per_token']:.4f})")
    print(f"checkpoint: {out}")
    if info["plot"]:
        print(f"loss plot:  {info['plot']}")
    if info["stopped_by"] == "interrupted":
        print(f"interrupted; continue with: normrnn train {data} --resume {out} --out {out}")


def train_command(data, out, *, run_options=None, overrides=None, resume=None, plot=None,
                  progress=True, as_json=False):
    """Train (or resume) on ``data``, write the checkpoint and the loss plot, report.

    Parameters
    ----------
    data : str or Path
        Anything :func:`~normrnn.data.load_corpus` reads.
    out : str or Path
        Checkpoint to write (at every evaluation and at the end).
    run_options : dict, optional
        :class:`TrainConfig` fields that define the run (refused on resume if
        they differ from the checkpoint's).
    overrides : dict, optional
        Budget (``epochs``, ``minutes``, ``max_steps``) and ``lr``.  On
        resume, a budget given here replaces the checkpoint's whole budget.
    resume : str or Path or None, optional
        Checkpoint to continue from.
    plot : str or Path or None, optional
        Loss plot; default ``out`` with suffix ``.png``.
    progress : bool, optional
        Show the progress bar.
    as_json : bool, optional
        Print the :func:`summary` as JSON instead of text.

    Returns
    -------
    int
        0 (or 2 for options that cannot be used).
    """
    if Path(out).is_dir():            # refused now, not after the first hours of training
        print(f"normrnn train: error: --out {out} is a folder; give a file name "
              "such as model.npz", file=sys.stderr)
        return 2
    documents = load_corpus(data)
    run_options, overrides = dict(run_options or {}), dict(overrides or {})
    kwargs = {"checkpoint_path": Path(out), "progress": progress}
    try:
        if resume is not None:
            trainer = _resumed_trainer(documents, resume, run_options, overrides, **kwargs)
        else:
            trainer = Trainer.new(documents, TrainConfig(**run_options, **overrides), **kwargs)
    except CheckpointError:           # a damaged file, not a usage error: exit 1 in main
        raise
    except ValueError as exc:
        print(f"normrnn train: error: {exc}", file=sys.stderr)
        return 2
    result = trainer.run()
    plot = Path(plot) if plot is not None else Path(out).with_suffix(".png")
    plot_loss_curve(result.state.history, plot, unigram_bits=result.unigram_bits)
    info = summary(result, out, plot)
    if as_json:
        print(json.dumps(info))
    else:
        _print_summary(info, data, out)
    return 0


def evaluate_command(checkpoint, data, *, n_threads=None):
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
        ``unigram_bits_per_token`` (the training unigram on this data) and
        ``unknown_characters`` (read as ``<unk>``).
    """
    ckpt = load_checkpoint(checkpoint)
    documents = [ckpt.tokenizer.encode_document(d) for d in load_corpus(data)]
    result = evaluate(ckpt.model, documents, n_threads=n_threads or ckpt.config.n_threads)
    unknown = sum(int((tokens == UNK).sum()) for tokens, _ in documents)
    return {"bits_per_token": result.bits_per_token, "tokens": result.tokens,
            "documents": result.documents, "nats": result.nats,
            "unigram_bits_per_token": unigram_bits_per_token(ckpt.unigram, documents),
            "unknown_characters": unknown, "checkpoint": str(checkpoint), "data": str(data)}
