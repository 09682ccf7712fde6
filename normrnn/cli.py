"""The ``normrnn`` command: demo, train, evaluate, sample, gradcheck.

Every subcommand is a :class:`Command`: a help line, a function that adds its
arguments to an :class:`argparse.ArgumentParser`, and a function that runs it
and returns the exit status.  To add one, write those two functions and add an
entry to :data:`COMMANDS`.
"""

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Callable, NamedTuple

__all__ = ["Command", "COMMANDS", "build_parser", "main"]


class Command(NamedTuple):
    """One subcommand of ``normrnn``.

    Attributes
    ----------
    help : str
        One line for ``normrnn --help``.
    configure : callable
        ``configure(parser)`` adds the subcommand's arguments.
    run : callable
        ``run(args) -> int`` does the work and returns the exit status.
    """

    help: str
    configure: Callable
    run: Callable


def _number(kind, *, zero_ok=False, below=None, at_most=None):
    """An argparse type: ``kind(text)``, finite, > 0 (>= 0 with ``zero_ok``).

    ``below`` and ``at_most`` add an upper bound (exclusive, inclusive).  NaN
    and infinities are refused: no option of ``normrnn`` means anything with
    them, and they would otherwise reach the model (or a time budget) and fail
    there, or never end.
    """
    noun = "an integer" if kind is int else "a number"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {noun}: {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
        if not (value >= 0 if zero_ok else value > 0):
            raise argparse.ArgumentTypeError(
                f"must be {'non-negative' if zero_ok else 'positive'}, got {text!r}")
        if below is not None and not value < below:
            raise argparse.ArgumentTypeError(f"must be less than {below}, got {text!r}")
        if at_most is not None and not value <= at_most:
            raise argparse.ArgumentTypeError(f"must be at most {at_most:,}, got {text!r}")
        return value
    parse.__name__ = kind.__name__
    return parse


POS_INT, POS_FLOAT, NONNEG_INT = _number(int), _number(float), _number(int, zero_ok=True)
#: a share of something, strictly between 0 and 1
FRACTION = _number(float, below=1)
#: the most characters ``normrnn sample`` draws (at some 10,000 per second)
MAX_SAMPLE_TOKENS = 1_000_000


def _fail(message, status=1):
    print(f"normrnn: error: {message}", file=sys.stderr)
    return status


# --- demo ---------------------------------------------------------------------
def _demo_arguments(p):
    p.add_argument("--out", default="normrnn-demo-loss.png", type=Path,
                   help="where to write the loss plot (default: %(default)s)")
    p.add_argument("--minutes", type=POS_FLOAT, default=1.0,
                   help="training time budget (default: %(default)s)")
    p.add_argument("--hidden", type=POS_INT, default=None, help="hidden size (default: demo's)")
    p.add_argument("--gain", choices=["fixed", "learned"], default="fixed",
                   help="row scale of S: fixed 1/H, or learned per row (default: %(default)s)")
    p.add_argument("--seed", type=NONNEG_INT, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--threads", type=POS_INT, default=None, help="threads (default: up to 2)")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="also save the trained model here, for `normrnn sample`")
    p.add_argument("--force", action="store_true",
                   help="replace an existing --out that is not an image of its format, or "
                   "--checkpoint that is not a normrnn checkpoint")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _demo(args):
    from .training.demo import run_demo
    return run_demo(plot_path=args.out, minutes=args.minutes, hidden_size=args.hidden,
                    seed=args.seed, n_threads=args.threads, checkpoint_path=args.checkpoint,
                    progress=not args.no_progress, force=args.force,
                    gain=args.gain)


# --- train --------------------------------------------------------------------
#: train options that define a run: fixed once it has started (--resume refuses them)
_RUN_OPTIONS = {"hidden": "hidden_size", "gain": "gain", "optimizer": "optimizer", "seed": "seed",
                "batch_size": "batch_size", "bptt": "bptt", "segment": "segment",
                "clip": "clip", "valid_fraction": "valid_fraction", "threads": "n_threads",
                "dtype": "dtype", "eval_every": "eval_every"}


def _train_arguments(p):
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
                   "--plot that is not an image of its format")
    p.add_argument("--allow-new-corpus", action="store_true",
                   help="with --resume: train on DATA even if it is not the checkpoint's corpus")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")


def _train(args):
    from .training.run import train_command
    given = {field: getattr(args, opt) for opt, field in _RUN_OPTIONS.items()
             if getattr(args, opt) is not None}
    budget = {k: getattr(args, k) for k in ("epochs", "minutes", "max_steps", "lr")
              if getattr(args, k) is not None}
    return train_command(args.data, args.out, run_options=given, overrides=budget,
                         resume=args.resume, plot=args.plot, progress=not args.no_progress,
                         as_json=args.json, force=args.force,
                         allow_new_corpus=args.allow_new_corpus)


# --- evaluate -----------------------------------------------------------------
def _evaluate_arguments(p):
    p.add_argument("checkpoint", type=Path, help="a checkpoint written by `normrnn train`")
    p.add_argument("data", type=Path, help="held-out documents (same formats as train)")
    p.add_argument("--threads", type=POS_INT, default=None, help="threads (default: up to 2)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _evaluate(args):
    from .training.run import evaluate_command
    result = evaluate_command(args.checkpoint, args.data, n_threads=args.threads)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['bits_per_token']:.4f} bits per token over {result['tokens']} tokens "
              f"({result['documents']} documents); unigram baseline "
              f"{result['unigram_bits_per_token']:.4f}")
        if result["unknown_characters"]:
            print(f"{result['unknown_characters']} characters were not in the vocabulary "
                  "and were read as <unk>")
    return 0


# --- sample -------------------------------------------------------------------
def _sample_arguments(p):
    p.add_argument("checkpoint", type=Path, help="a checkpoint written by `normrnn train`")
    p.add_argument("--title", required=True, help="the title to write a text for")
    p.add_argument("--max-tokens", type=_number(int, zero_ok=True, at_most=MAX_SAMPLE_TOKENS),
                   default=500, help="most characters to write, at most "
                   f"{MAX_SAMPLE_TOKENS:,} (default: %(default)s)")
    p.add_argument("--temperature", type=POS_FLOAT, default=0.8,
                   help="below 1: safer, above 1: wilder (default: %(default)s)")
    p.add_argument("--seed", type=NONNEG_INT, default=None, help="same seed, same text")


def _sample(args):
    """Print the text as it is drawn: Ctrl-C keeps what was printed."""
    from .training.checkpoint import load_checkpoint
    from .training.sampling import sample_stream
    ckpt = load_checkpoint(args.checkpoint)
    characters = sample_stream(ckpt.model, ckpt.tokenizer, args.title,
                               max_tokens=args.max_tokens, temperature=args.temperature,
                               seed=args.seed)
    try:
        for character in characters:
            sys.stdout.write(character)
            sys.stdout.flush()
    finally:                          # end the line, also when interrupted
        sys.stdout.write("\n")
        sys.stdout.flush()
    return 0


# --- gradcheck ----------------------------------------------------------------
def _gradcheck_arguments(p):
    from .gradcheck import SECTIONS
    p.add_argument("--section", choices=SECTIONS, default=None,
                   help="check one section only (default: all)")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                   help="(default: %(default)s)")


def _gradcheck(args):
    import numpy as np

    from .gradcheck import check_all, format_table
    rows = check_all(dtype=np.dtype(args.dtype),
                     sections=None if args.section is None else [args.section])
    print(format_table(rows))
    return 0 if all(row.passed for row in rows) else 1


#: The subcommands, by name.
def _bench_arguments(p):
    from .bench.command import configure
    configure(p)


def _bench(args):
    from .bench.command import run
    return run(args)


def _exercise_arguments(p):
    from .exercises.command import configure
    configure(p)


def _exercise(args):
    from .exercises.command import run
    return run(args)


COMMANDS = {
    "demo": Command("check the gradients, train on the built-in corpus, sample, plot",
                    _demo_arguments, _demo),
    "train": Command("train a model on your documents", _train_arguments, _train),
    "evaluate": Command("held-out loss of a checkpoint, in bits per token",
                        _evaluate_arguments, _evaluate),
    "sample": Command("write a text for a title", _sample_arguments, _sample),
    "gradcheck": Command("finite-difference check of every backward section",
                         _gradcheck_arguments, _gradcheck),
    "bench": Command("time a training step against NumPy and PyTorch, check the speed targets",
                     _bench_arguments, _bench),
    "exercise": Command("graded exercises: start DIR, check DIR, solution NAME",
                        _exercise_arguments, _exercise),
}


def _debug_flag(parser, default):
    parser.add_argument("--debug", action="store_true", default=default,
                        help="on an unexpected error, show the full traceback")


def build_parser():
    """The ``normrnn`` argument parser, one subparser per entry of :data:`COMMANDS`.

    Returns
    -------
    argparse.ArgumentParser
    """
    from . import __version__
    parser = argparse.ArgumentParser(
        prog="normrnn", description="Backpropagation through time by hand: a small "
        "recurrent language model, its gradient checks, training and sampling.")
    parser.add_argument("--version", action="version", version=f"normrnn {__version__}")
    _debug_flag(parser, False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.help, description=command.help)
        command.configure(p)
        _debug_flag(p, argparse.SUPPRESS)       # accepted after the command too
        p.set_defaults(run=command.run)
    return parser


#: Set (to anything but "" or "0") to let unexpected errors end in a full traceback.
TRACEBACK_VARIABLE = "NORMRNN_TRACEBACK"


def _wants_traceback(args):
    return args.debug or os.environ.get(TRACEBACK_VARIABLE, "") not in ("", "0")


def _tolerant_output():
    """Print what cannot be encoded to the terminal as ``\\uXXXX`` escapes, never fail.

    A vocabulary may hold characters the terminal's encoding lacks (or lone
    surrogates, which no encoding has): ``sample`` then prints them escaped.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):      # not a text file, or closed
            pass


def _one_line(exc):
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def main(argv=None):
    """Run ``normrnn`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    Expected failures (a bad file, a bad checkpoint, a diverged run, a file
    that cannot be written, a size that does not fit in memory) print one line
    on stderr and return 1 rather than a traceback; Ctrl-C returns 130.
    Anything else is a bug: it also prints one line, naming the error, and
    returns 1, unless ``--debug`` is given or the environment variable
    :data:`TRACEBACK_VARIABLE` is set, which re-raise it for the traceback.
    """
    from .data.corpus import CorpusError
    from .training.checkpoint import CheckpointError
    from .training.trainer import TrainingDiverged
    _tolerant_output()
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (CorpusError, CheckpointError, TrainingDiverged, OSError) as exc:
        return _fail(str(exc))
    except MemoryError as exc:
        return _fail(str(exc) or "out of memory")
    except KeyboardInterrupt:
        print("normrnn: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:                      # the safety net: a bug, told in one line
        if _wants_traceback(args):
            raise
        return _fail(f"unexpected {_one_line(exc)} (a bug: please report it; rerun with "
                     f"--debug or {TRACEBACK_VARIABLE}=1 for the full traceback)")
