"""The files a command will write, checked before any work starts.

``normrnn train`` and ``normrnn demo`` call :func:`check_outputs` first, so
that a mistyped path is refused in one line before minutes of training, and
so that no file is destroyed:

1. an output that exists must be a regular file (not a folder, a device such
   as ``/dev/null``, a pipe, ...);
2. no output may be an input of the run (the training data, a file of the
   data folder that is read, the checkpoint resumed from) or another output
   of the run: paths are compared resolved (symbolic links, ``..``, relative
   against absolute) and, where both exist, with :func:`os.path.samefile`
   (hard links).  The one exception: the checkpoint written may be the one
   resumed from (``--resume X --out X`` continues a run in place);
3. a plot's suffix must name a format matplotlib writes;
4. an existing checkpoint output must be a normrnn checkpoint
   (:func:`~normrnn.training.checkpoint.is_checkpoint`), an existing plot
   output a plot normrnn made, carrying its mark
   (:func:`~normrnn.cli.plot_files.is_normrnn_plot`), an existing JSON
   report one that ``normrnn bench --json`` wrote: anything else is only replaced when ``force`` is
   given;
5. every output's folder must let a file be created now (a missing folder is
   created at the first write; its nearest existing ancestor is checked), and
   every name must fit the file system.

Every refusal is an :class:`OutputError` whose message is one line.
"""

import errno
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .._printable import show_path
from ..data.corpus import text_folder_files
from ..files.atomic import check_writable
from ..training.checkpoint import is_checkpoint
from .plot_files import is_normrnn_plot
from .plotting import plot_format

__all__ = ["OutputError", "Output", "Input", "data_inputs", "check_outputs", "show_path"]


class OutputError(ValueError):
    """An output path that cannot or must not be written; the message is one line."""


@dataclass(frozen=True)
class Output:
    """A file a command will write.

    Attributes
    ----------
    path : Path
    kind : {"checkpoint", "plot", "json"}
        ``"json"``: a ``normrnn bench`` report.
    label : str
        How the user gave it, for messages: ``"--out"``, ``"--plot"``, ...
    """

    path: Path
    kind: str
    label: str

    def __str__(self):
        return f"{self.label} {show_path(self.path)}"


@dataclass(frozen=True)
class Input:
    """A file a command reads.

    Attributes
    ----------
    path : Path
    label : str
        How the user gave it: ``"DATA"``, ``"--resume"``, ...
    checkpoint : bool
        A checkpoint, which a checkpoint output may replace.
    """

    path: Path
    label: str
    checkpoint: bool = False


_EXAMPLES = {"checkpoint": "model.npz", "plot": "loss.png", "json": "results.json"}
_KINDS = [(stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a named pipe"),
          (stat.S_ISSOCK, "a socket")]


def data_inputs(data):
    """The files a run reads from ``DATA``: the path, and a folder's ``.txt`` files.

    Parameters
    ----------
    data : str or Path

    Returns
    -------
    list of Input
    """
    data = Path(data)
    inputs = [Input(data, "DATA")]
    if data.is_dir():
        try:
            inputs += [Input(p, "DATA's file") for p in text_folder_files(data)]
        except OSError:
            pass                  # unreadable: the corpus reader says so
    return inputs


def _same(a, b):
    """Whether paths ``a`` and ``b`` name the same file, existing or not."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def _check_regular(output):
    try:
        mode = os.stat(output.path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return                          # nothing to replace; _check_writable says more
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            return
        raise OutputError(f"{output} cannot be used: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        what = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise OutputError(f"{output} is {what}; give a file name such as "
                          f"{_EXAMPLES[output.kind]}")


def _check_distinct(outputs, inputs):
    for i, output in enumerate(outputs):
        for other in inputs:
            if _same(output.path, other.path) and not (output.kind == "checkpoint"
                                                       and other.checkpoint):
                raise OutputError(f"{output} is the same file as {other.label} "
                                  f"{show_path(other.path)}, "
                                  "which the run reads: writing it would destroy it; give "
                                  "another file name")
        for other in outputs[i + 1:]:
            if _same(output.path, other.path):
                raise OutputError(f"{output} and {other} are the same file: one would "
                                  "overwrite the other; give them different names")


def _is_bench_report(path):
    """Whether ``path`` holds what ``normrnn bench --json`` writes (read if under 16 MiB)."""
    try:
        if os.path.getsize(path) > 1 << 24:
            return False
        with open(path, "rb") as f:
            report = json.loads(f.read())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(report, dict) and {"config", "targets"} <= set(report)


def _check_content(output, force):
    if force or not os.path.isfile(output.path):
        return
    if output.kind == "checkpoint" and not is_checkpoint(output.path):
        raise OutputError(f"{output} exists and is not a normrnn checkpoint; give another "
                          "file name, or --force to replace it")
    if output.kind == "plot" and not is_normrnn_plot(output.path):
        other = "give --plot" if output.label.startswith("the loss plot") else "give"
        raise OutputError(f"{output} exists and is not a plot normrnn made; {other} another "
                          "file name, or --force to replace it")
    if output.kind == "json" and not _is_bench_report(output.path):
        raise OutputError(f"{output} exists and is not a normrnn bench report; give "
                          "another file name, or --force to replace it")


def _check_writable(output):
    try:
        check_writable(output.path)
    except OSError as exc:
        where = f": {show_path(exc.filename)}" if exc.filename else ""
        raise OutputError(f"{output} cannot be written: {exc.strerror}{where}") from None


def check_outputs(outputs, inputs=(), *, force=False):
    """Refuse, before any work, outputs that cannot be written or would destroy a file.

    The rules are listed in the module's description.

    Parameters
    ----------
    outputs : sequence of Output
    inputs : sequence of Input, optional
    force : bool, optional
        Replace existing files that are not of the output's kind.

    Raises
    ------
    OutputError
        The first rule broken, in one line naming the option and the path.
    """
    outputs, inputs = list(outputs), list(inputs)
    for output in outputs:
        _check_regular(output)
    _check_distinct(outputs, inputs)
    for output in outputs:
        if output.kind == "plot":
            try:
                plot_format(output.path)
            except ValueError as exc:
                raise OutputError(f"{output}: {exc}") from None
    for output in outputs:
        _check_content(output, force)
    for output in outputs:
        _check_writable(output)
