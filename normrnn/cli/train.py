"""``normrnn train``: train (or resume) on documents, write the checkpoint and the loss plot."""

import json
import signal
import textwrap
from pathlib import Path

from .._printable import show_path
from .messages import USAGE, fail, warn
from .options import FRACTION, NONNEG_INT, POS_FLOAT, POS_INT

__all__ = ["HELP", "OPTIONS", "configure", "run", "train_command", "summary"]

HELP = "train a model on your documents"

#: train options and the :class:`~normrnn.training.TrainConfig` field each sets.
#: On ``--resume`` only those of :data:`~normrnn.training.config.RESUMABLE_FIELDS`
#: may differ from the checkpoint's (:meth:`~normrnn.training.TrainConfig.resumed`).
OPTIONS = {"hidden": "hidden_size", "gain": "gain", "optimizer": "optimizer", "seed": "seed",
           "batch_size": "batch_size", "bptt": "bptt", "segment": "segment",
           "clip": "clip", "valid_fraction": "valid_fraction", "threads": "n_threads",
           "dtype": "dtype", "eval_every": "eval_every",
           "epochs": "epochs", "minutes": "minutes", "max_steps": "max_steps", "lr": "lr"}


def configure(p):
    """Add the arguments of ``normrnn train`` to the parser ``p``."""
    p.add_argument("data", type=Path,
                   help="a .jsonl file (title, text), a folder of .txt files, or one .txt file")
    p.add_argument("--out", type=Path, required=True, help="checkpoint to write (.npz)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=POS_INT, help="passes over the data (default: 10)")
    budget.add_argument("--minutes", type=POS_FLOAT, help="training time budget in minutes")
    p.add_argument("--max-steps", type=POS_INT, help="stop after this many optimizer steps")
    p.add_argument("--hidden", type=POS_INT, help="hidden size H (default: 64)")
    p.add_argument("--gain", choices=["fixed", "learned"],
                   help="row scale of S: fixed 1/H, or a learned gain per row, which lets "
                   "the state remember more (default: fixed)")
    p.add_argument("--optimizer", choices=["adam", "adagrad", "sgd"], help="(default: adam)")
    p.add_argument("--lr", type=POS_FLOAT,
                   help="learning rate (default: adam 0.01, adagrad 0.1, sgd 0.5)")
    p.add_argument("--seed", type=NONNEG_INT,
                   help="seed of weights, split and shuffling (default: 0)")
    p.add_argument("--batch-size", type=POS_INT, help="documents per minibatch (default: 32)")
    p.add_argument("--bptt", type=POS_INT, help="truncated-BPTT chunk length (default: 256)")
    p.add_argument("--segment", type=POS_INT,
                   help="longest training unit in characters (default: 1024)")
    p.add_argument("--clip", type=POS_FLOAT, help="largest gradient norm (default: 5)")
    p.add_argument("--valid-fraction", type=FRACTION, help="held-out share (default: 0.1)")
    p.add_argument("--threads", type=POS_INT, help="threads (default: up to 2)")
    p.add_argument("--dtype", choices=["float64", "float32"], help="(default: float64)")
    p.add_argument("--eval-every", type=POS_INT, help="evaluate and checkpoint every N steps")
    p.add_argument("--resume", type=Path,
                   help="continue the run saved in this checkpoint (on the same DATA); "
                   "a budget given replaces the saved one, --lr may change, nothing else")
    p.add_argument("--plot", type=Path, help="loss plot, any format matplotlib writes "
                   "(default: OUT with .png suffix)")
    p.add_argument("--force", action="store_true",
                   help="replace an existing --out that is not a normrnn checkpoint, or "
                   "--plot that is not a plot normrnn made")
    p.add_argument("--allow-new-corpus", action="store_true",
                   help="with --resume: train on DATA even if it is not the checkpoint's corpus")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")


def run(args):
    """Run ``normrnn train``; return the exit status."""
    given = {field: getattr(args, option) for option, field in OPTIONS.items()
             if getattr(args, option) is not None}
    return train_command(args.data, args.out, options=given, resume=args.resume,
                         plot=args.plot, progress=not args.no_progress, as_json=args.json,
                         force=args.force, allow_new_corpus=args.allow_new_corpus)


def _check_same_corpus(documents, checkpoint, resume):
    """Refuse other documents than the checkpoint's, saying how many characters are new."""
    from ..data.corpus_setup import corpus_fingerprint
    from ..data.tokenizer import UNK
    if not checkpoint.fingerprint or corpus_fingerprint(documents) == checkpoint.fingerprint:
        return
    encoded = [checkpoint.tokenizer.encode_document(d)[0] for d in documents]
    unknown = sum(int((tokens == UNK).sum()) for tokens in encoded)
    total = sum(len(tokens) for tokens in encoded)
    raise ValueError(f"DATA differs from the corpus {show_path(resume)} was trained on "
                     f"({unknown} of its {total} tokens are characters the checkpoint's "
                     "vocabulary lacks); give --allow-new-corpus to train on it anyway")


def _trainer(documents, options, resume, allow_new_corpus, **kwargs):
    """A new run of ``options``, or the run saved in ``resume`` with ``options`` changed."""
    from ..training import TrainConfig, Trainer, load_checkpoint
    if resume is None:
        return Trainer.new(documents, TrainConfig(**options), **kwargs)
    checkpoint = load_checkpoint(resume)
    checkpoint.config.resumed(options)           # what may not change: refused first
    if not allow_new_corpus:
        _check_same_corpus(documents, checkpoint, resume)
    return Trainer.resume(checkpoint, documents, overrides=options, allow_new_corpus=True,
                          **kwargs)


def _train_outputs(data, out, plot, resume):
    """What ``train`` writes and reads, for :func:`~normrnn.cli.outputs.check_outputs`."""
    from .outputs import Input, Output, data_inputs
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


def _best_valid(history):
    """``(bits, step)`` of the lowest validation loss evaluated, or ``(None, None)``."""
    if not history.evals:
        return None, None
    step, _, _, bits = min(history.evals, key=lambda e: e[3])
    return float(bits), int(step)


def summary(result, checkpoint=None, plot=None, *, bigram_bits=None, duplicates=None):
    """The outcome of a run as a JSON-serialisable ``dict``.

    Parameters
    ----------
    result : TrainResult
    checkpoint, plot : Path or None, optional
        Files written.
    bigram_bits : float or None, optional
        The bigram baseline on the validation documents
        (:func:`~normrnn.baselines.ngram_bits_per_token`), counted on
        the training documents (the first :data:`BIGRAM_MAX_TOKENS` tokens
        of a larger corpus).
    duplicates : Duplicates or None, optional
        :func:`~normrnn.data.duplicates.find_duplicates` of the split corpus.

    Returns
    -------
    dict
        ``stopped_by``, ``steps``, ``epochs``, ``tokens``, ``elapsed_seconds``,
        ``tokens_per_second``, ``train_bits_per_token``,
        ``valid_bits_per_token``, ``unigram_bits_per_token``,
        ``bigram_bits_per_token``, ``best_valid_bits_per_token`` and
        ``best_valid_step`` (the lowest validation loss evaluated, and when),
        ``documents``, ``duplicate_documents``, ``valid_documents``,
        ``valid_documents_in_training`` (``None`` when not given),
        ``checkpoint``, ``plot``.
    """
    s = result.state
    best, best_step = _best_valid(s.history)
    counts = ({} if duplicates is None else
              {"documents": duplicates.documents, "duplicate_documents": duplicates.repeated,
               "valid_documents": duplicates.valid,
               "valid_documents_in_training": duplicates.valid_in_train})
    return {"stopped_by": result.reason, "steps": s.step, "epochs": s.epoch,
            "tokens": s.tokens, "elapsed_seconds": round(s.elapsed, 3),
            "tokens_per_second": round(result.tokens_per_second, 1),
            "train_bits_per_token": result.train_bits,
            "valid_bits_per_token": result.valid_bits,
            "unigram_bits_per_token": result.unigram_bits,
            "bigram_bits_per_token": bigram_bits,
            "best_valid_bits_per_token": best, "best_valid_step": best_step,
            "documents": None, "duplicate_documents": None, "valid_documents": None,
            "valid_documents_in_training": None, **counts,
            "checkpoint": None if checkpoint is None else str(checkpoint),
            "plot": None if plot is None else str(plot)}


#: The bigram baseline counts at most this many training tokens (the first
#: documents): about 3 s and 170 MiB, however large the corpus.
BIGRAM_MAX_TOKENS = 10_000_000


def _corpus_facts(trainer):
    """The bigram baseline on the validation documents, and the split's duplicates."""
    from ..data.corpus_setup import first_documents
    from ..data.duplicates import find_duplicates
    from ..baselines import ngram_bits_per_token
    corpus = trainer.corpus
    bigram = ngram_bits_per_token(first_documents(corpus.train, BIGRAM_MAX_TOKENS),
                                  corpus.valid, 2, trainer.tokenizer.vocab_size)
    return bigram, find_duplicates(corpus.train, corpus.valid)


def _print_summary(info, data, out, signum=None):
    from .diagnosis import diagnose
    print(f"{info['steps']} steps, {info['epochs']} epochs, {info['tokens']} tokens in "
          f"{info['elapsed_seconds']:.1f} s ({info['tokens_per_second']:.0f} tokens/s)")
    bigram = ("" if info["bigram_bits_per_token"] is None
              else f", bigram {info['bigram_bits_per_token']:.4f}")
    print(f"bits per token: train {info['train_bits_per_token']:.4f}, "
          f"validation {info['valid_bits_per_token']:.4f} "
          f"(baselines: unigram {info['unigram_bits_per_token']:.4f}{bigram})")
    for sentence in diagnose(info):
        print(textwrap.fill(sentence, width=88))
    data, out = show_path(data), show_path(out)
    print(f"checkpoint: {show_path(info['checkpoint'])}")
    if info["plot"]:
        print(f"loss plot:  {show_path(info['plot'])}")
    if info["stopped_by"] == "interrupted":
        how = ("interrupted" if signum in (None, signal.SIGINT)
               else f"stopped by {signal.Signals(signum).name}")
        print(f"{how}; continue with: normrnn train {data} --resume {show_path(info['checkpoint'])} "
              f"--out {out}")


def _exit_status(trainer, result):
    """0, or 128 + the signal's number for a run stopped by SIGTERM or SIGHUP (as the shell's).

    A first Ctrl-C is the documented way to end a run early: status 0.
    """
    signum = trainer.stop.signum
    if result.reason == "interrupted" and signum not in (None, signal.SIGINT):
        return 128 + signum
    return 0


def _fallback_reporter(label, out, what):
    """``on_fallback``: one line naming the option, the reason and where the file went."""
    from .outputs import show_path

    def report(outcome):
        warn(f"{label} {show_path(out)} could not be written ({outcome.reason}); {what} was "
             f"saved to {show_path(outcome.path)} instead")
    return report


def _write_plot(history, plot, force, **drawn):
    """Draw the loss plot at ``plot``, or at a fallback path (said in one line); return the path.

    Returns None, after one line on stderr, if it could be written nowhere.
    """
    from ..files.rescue import SaveFailed, save_with_fallback
    from .plot_files import is_normrnn_plot
    from .plotting import plot_loss_curve

    def write(path, may_replace):
        plot_loss_curve(history, path, force=may_replace is None, **drawn)
    try:
        outcome = save_with_fallback(write, plot, may_replace=None if force else is_normrnn_plot,
                                     pauses=())
    except SaveFailed as exc:
        fail(f"the loss plot {exc}")
        return None
    if outcome.fell_back:
        _fallback_reporter("the loss plot", plot, "it")(outcome)
    return outcome.path


def _train_locked(trainer, data, out, plot, as_json, force, progress):
    """Run the trainer, write the plot, print the summary; return the exit status."""
    from ..files.rescue import SaveFailed
    from .outputs import show_path
    from .plotting import run_title
    from .training_run import run_trainer
    try:
        result = run_trainer(trainer, progress=progress)
    except SaveFailed as exc:
        return fail(f"--out {exc}")
    bigram, duplicates = _corpus_facts(trainer)
    config = trainer.config
    plotted = _write_plot(result.state.history, plot, force, unigram_bits=result.unigram_bits,
                          bigram_bits=bigram,
                          title=run_title("normrnn train", show_path(Path(data).name or data),
                                          config.hidden_size, config.gain))
    info = summary(result, trainer.saved_to, plotted, bigram_bits=bigram, duplicates=duplicates)
    try:
        if as_json:
            print(json.dumps(info), flush=True)
        else:
            _print_summary(info, data, out, trainer.stop.signum)
    except OSError:
        if trainer.stop.signum != getattr(signal, "SIGHUP", None):
            raise             # after a hang-up the terminal is gone: the checkpoint is saved
    return _exit_status(trainer, result) or (0 if plotted else 1)


def train_command(data, out, *, options=None, resume=None, plot=None, progress=True,
                  as_json=False, force=False, allow_new_corpus=False):
    """Train (or resume) on ``data``, write the checkpoint and the loss plot, report.

    Parameters
    ----------
    data : str or Path
        Anything :func:`~normrnn.data.load_corpus` reads.
    out : str or Path
        Checkpoint to write (at every evaluation and at the end).
    options : dict, optional
        :class:`~normrnn.training.TrainConfig` fields.  On resume, only
        :data:`~normrnn.training.config.RESUMABLE_FIELDS` may differ from
        the checkpoint's, and a budget given replaces the saved one.
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
        that is not a plot normrnn made.
    allow_new_corpus : bool, optional
        Resume on other documents than the checkpoint's.

    Returns
    -------
    int
        0; 2 (one line on stderr) for options or paths that cannot be used,
        or an ``out`` another run is writing; 1 if the plot could not be
        written (the checkpoint was); 128 + the signal's number for a run
        stopped cleanly by ``SIGTERM`` (143) or ``SIGHUP`` (129).

    Notes
    -----
    Before anything is read, ``out`` and ``plot`` are checked by
    :func:`~normrnn.cli.outputs.check_outputs`: neither may be ``data``
    (or a file of it), ``resume`` (except ``out``), each other, or an
    existing file of another kind; both must be writable.  Then ``out`` is
    locked for the run (:func:`~normrnn.files.output_lock.lock_output`).
    At every save, ``out`` is replaced only if it still holds a checkpoint;
    a save that fails goes to a fallback path, said in one line
    (:mod:`normrnn.files.rescue`), and the summary names where the
    checkpoint is.
    """
    from ..files.output_lock import OutputBusy, lock_output
    from .outputs import OutputError, check_outputs, show_path
    outputs, inputs = _train_outputs(data, out, plot, resume)
    try:                              # refused now, not after the first hours of training
        check_outputs(outputs, inputs, force=force)
        with lock_output(out, f"--out {show_path(out)}"):
            return _load_and_train(data, out, outputs[1].path, options=options, resume=resume,
                                   progress=progress, as_json=as_json, force=force,
                                   allow_new_corpus=allow_new_corpus)
    except (OutputError, OutputBusy) as exc:
        return fail(exc, USAGE)


def _load_and_train(data, out, plot, *, options, resume, progress, as_json, force,
                    allow_new_corpus):
    """:func:`train_command` once its outputs are checked and ``out`` is locked."""
    from ..data.corpus import load_corpus
    from ..training import CheckpointError
    from ..training.checkpoint import is_checkpoint
    documents = load_corpus(data)
    try:
        trainer = _trainer(documents, dict(options or {}), resume, allow_new_corpus,
                           checkpoint_path=Path(out),
                           may_replace=None if force else is_checkpoint,
                           on_fallback=_fallback_reporter("--out", out, "the checkpoint"))
    except CheckpointError:           # a damaged file, not a usage error: exit 1 in main
        raise
    except ValueError as exc:
        return fail(exc, USAGE)
    return _train_locked(trainer, data, out, plot, as_json, force, progress)
