"""What ``normrnn train`` and ``normrnn evaluate`` do, as plain functions."""

import json
import sys
from pathlib import Path

from ..data.corpus import load_corpus
from ..data.tokenizer import UNK
from .checkpoint import CheckpointError, load_checkpoint
from .config import TrainConfig
from ..data.corpus_setup import corpus_fingerprint
from .evaluation import evaluate, unigram_bits_per_token
from .outputs import Input, Output, OutputError, check_outputs, data_inputs, show_path
from .plotting import plot_loss_curve
from .trainer import Trainer

__all__ = ["train_command", "evaluate_command", "summary"]


_BUDGETS = ("epochs", "minutes", "max_steps")


def _check_same_corpus(documents, checkpoint, resume):
    """Refuse other documents than the checkpoint's, saying how many characters are new."""
    if not checkpoint.fingerprint or corpus_fingerprint(documents) == checkpoint.fingerprint:
        return
    encoded = [checkpoint.tokenizer.encode_document(d)[0] for d in documents]
    unknown = sum(int((tokens == UNK).sum()) for tokens in encoded)
    total = sum(len(tokens) for tokens in encoded)
    raise ValueError(f"DATA differs from the corpus {show_path(resume)} was trained on "
                     f"({unknown} of its {total} tokens are characters the checkpoint's "
                     "vocabulary lacks); give --allow-new-corpus to train on it anyway")


def _resumed_trainer(documents, resume, run_options, overrides, allow_new_corpus, **kwargs):
    checkpoint = load_checkpoint(resume)
    if any(k in overrides for k in _BUDGETS):      # a new budget replaces the saved one
        overrides = {**{k: None for k in _BUDGETS}, **overrides}
    changed = {k: v for k, v in run_options.items() if getattr(checkpoint.config, k) != v}
    if changed:
        raise ValueError(f"cannot change {sorted(changed)} when resuming: "
                         "they define the run saved in the checkpoint")
    if not allow_new_corpus:
        _check_same_corpus(documents, checkpoint, resume)
    return Trainer.resume(checkpoint, documents, overrides=overrides, allow_new_corpus=True,
                          **kwargs)


def _train_outputs(data, out, plot, resume):
    """What ``train`` writes and reads, for :func:`~normrnn.training.outputs.check_outputs`."""
    out = Path(out)
    if plot is not None:
        plot_output = Output(Path(plot), "plot", "--plot")
    else:
        try:
            default = out.with_suffix(".png")
        except ValueError:                  # no file name at all ("/", "."): refused as --out
            default = out
        plot_output = Output(default, "plot", "the loss plot (--out with suffix .png)")
    inputs = data_inputs(data)
    if resume is not None:
        inputs.append(Input(Path(resume), "--resume", checkpoint=True))
    return [Output(out, "checkpoint", "--out"), plot_output], inputs


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
                  progress=True, as_json=False, force=False, allow_new_corpus=False):
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
    force : bool, optional
        Replace an existing ``out`` that is not a checkpoint, or ``plot``
        that is not an image of its format.
    allow_new_corpus : bool, optional
        Resume on other documents than the checkpoint's.

    Returns
    -------
    int
        0 (or 2 for options or paths that cannot be used).

    Notes
    -----
    Before anything is read, ``out`` and ``plot`` are checked by
    :func:`~normrnn.training.outputs.check_outputs`: neither may be ``data``
    (or a file of it), ``resume`` (except ``out``), each other, or an
    existing file of another kind; both must be writable.
    """
    outputs, inputs = _train_outputs(data, out, plot, resume)
    try:                              # refused now, not after the first hours of training
        check_outputs(outputs, inputs, force=force)
    except OutputError as exc:
        print(f"normrnn: error: {exc}", file=sys.stderr)
        return 2
    plot = outputs[1].path
    documents = load_corpus(data)
    run_options, overrides = dict(run_options or {}), dict(overrides or {})
    kwargs = {"checkpoint_path": Path(out), "progress": progress}
    try:
        if resume is not None:
            trainer = _resumed_trainer(documents, resume, run_options, overrides,
                                       allow_new_corpus, **kwargs)
        else:
            trainer = Trainer.new(documents, TrainConfig(**run_options, **overrides), **kwargs)
    except CheckpointError:           # a damaged file, not a usage error: exit 1 in main
        raise
    except ValueError as exc:
        print(f"normrnn: error: {exc}", file=sys.stderr)
        return 2
    result = trainer.run()
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
