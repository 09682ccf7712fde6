"""The ``normrnn`` command: demo, train, evaluate, sample, gradcheck, bench, exercise.

One module per subcommand (:mod:`~normrnn.cli.train`, ...), each with a
``HELP`` line, ``configure(parser)`` adding its arguments and ``run(args)``
doing the work and returning the exit status; :data:`COMMANDS` lists them.
To add one, write such a module and add it to :data:`COMMANDS`.  Beside them,
the console's helpers: argument types (:mod:`~normrnn.cli.options`), the
one-line error messages (:mod:`~normrnn.cli.messages`), the progress bar, the
loss plot, and the checks of the files a command writes
(:mod:`~normrnn.cli.outputs`).

Importing this package does not import matplotlib: a command imports
what it needs when it runs.
"""

import argparse
import os
import sys
from typing import Callable, NamedTuple

from . import bench, demo, evaluate, exercise, gradcheck, sample, train
from .messages import fail, one_line, tolerant_output
from .options import MAX_SAMPLE_TOKENS

__all__ = ["Command", "COMMANDS", "MAX_SAMPLE_TOKENS", "TRACEBACK_VARIABLE", "build_parser",
           "main"]


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


#: The subcommands, by name.
COMMANDS = {name: Command(module.HELP, module.configure, module.run) for name, module in [
    ("demo", demo), ("train", train), ("evaluate", evaluate), ("sample", sample),
    ("gradcheck", gradcheck), ("bench", bench), ("exercise", exercise)]}


def _debug_flag(parser, default):
    parser.add_argument("--debug", action="store_true", default=default,
                        help="on an unexpected error, show the full traceback")


def build_parser():
    """The ``normrnn`` argument parser, one subparser per entry of :data:`COMMANDS`.

    Returns
    -------
    argparse.ArgumentParser
    """
    from .. import __version__
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


def main(argv=None):
    """Run ``normrnn`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    Expected failures (a bad file, a bad checkpoint, a diverged run, a file
    that cannot be written, a size that does not fit in memory) print one line
    on stderr and return 1 rather than a traceback; Ctrl-C returns 130.
    Anything else is a bug: it also prints one line, naming the error, and
    returns 1, unless ``--debug`` is given or the environment variable
    :data:`TRACEBACK_VARIABLE` is set, which re-raise it for the traceback.
    """
    from ..data.corpus import CorpusError
    from ..training.checkpoint import CheckpointError
    from ..training.trainer import TrainingDiverged
    from ..kernel_choice import KernelSettingError          # a bad NORMRNN_KERNEL
    tolerant_output()
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (CorpusError, CheckpointError, TrainingDiverged, KernelSettingError, OSError) as exc:
        return fail(str(exc))
    except MemoryError as exc:
        return fail(str(exc) or "out of memory")
    except KeyboardInterrupt:
        print("normrnn: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:                      # the safety net: a bug, told in one line
        if _wants_traceback(args):
            raise
        return fail(f"unexpected {one_line(exc)} (a bug: please report it; rerun with "
                    f"--debug or {TRACEBACK_VARIABLE}=1 for the full traceback)")
