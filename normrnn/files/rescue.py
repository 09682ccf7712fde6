"""A save that fails still reaches the disk: retried, then written to a fallback path.

Hours of training live in memory until a checkpoint is written.  When the
checkpoint's own path cannot be written (its folder turned read-only, was
removed or replaced by a file, the disk or the quota is full, a file that is
not a checkpoint appeared there), :func:`save_with_fallback` tries again a few
times, then writes the same checkpoint under a new name in the current
folder, then in the temporary folder (:func:`tempfile.gettempdir`), and says
where it went and why.  It never replaces a file it did not write.
"""

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .atomic import ReplaceRefused

__all__ = ["SaveOutcome", "SaveFailed", "fallback_name", "save_with_fallback"]

#: pauses, in seconds, before the second and third attempt at the target
RETRY_PAUSES = (0.05, 0.25)
#: bytes of the target's name kept in a fallback name (which adds about 30)
_KEPT = 150


class SaveFailed(OSError):
    """Neither the target nor any fallback path could be written; the message says why."""


@dataclass(frozen=True)
class SaveOutcome:
    """Where a save went.

    Attributes
    ----------
    path : Path
        The file written: the target, or a fallback path.
    reason : str or None
        Why the target was not written (``None`` if it was).
    """

    path: Path
    reason: str | None

    @property
    def fell_back(self):
        """Whether the checkpoint went elsewhere than its target."""
        return self.reason is not None


#: the reason given when the target holds a file the save may not replace
REFUSED = "it now holds a file that normrnn did not write"


def _why(exc):
    """An OSError's reason in a few words, without any file name."""
    if isinstance(exc, ReplaceRefused):
        return REFUSED
    return exc.strerror or str(exc) or type(exc).__name__


def fallback_name(target):
    """The name a checkpoint of ``target`` is saved under elsewhere: ``NAME.rescued-PID-N.npz``.

    Parameters
    ----------
    target : str or Path

    Returns
    -------
    str
        With a counter ``N`` to be filled in (``{n}``).
    """
    stem = os.fsencode(Path(target).stem)[:_KEPT].decode("utf-8", "ignore") or "checkpoint"
    return f"{stem}.rescued-{os.getpid()}-{{n}}{Path(target).suffix or '.npz'}"


def _candidates(target):
    """Fresh fallback paths: in the current folder, then in the temporary folder."""
    name = fallback_name(target)
    for where in (Path.cwd, tempfile.gettempdir):
        try:
            folder = Path(where())
        except OSError:              # the current folder was removed; no usable temporary one
            continue
        for n in range(1, 4):
            yield folder / name.format(n=n)


def _attempt(write, path, may_replace):
    try:
        write(path, may_replace)
    except OSError as exc:
        return _why(exc)
    return None


def save_with_fallback(write, target, *, may_replace, previous=None, pauses=None):
    """Write to ``target``, retrying; failing that, to ``previous`` or a fresh fallback path.

    Parameters
    ----------
    write : callable
        ``write(path, may_replace)`` writes the file atomically
        (:func:`~normrnn.files.atomic.atomic_file`), raising ``OSError``.
    target : str or Path
    may_replace : callable or None
        Which existing file ``target`` may replace (``None``: any).  A
        refusal is not retried.
    previous : Path or None, optional
        A fallback path this run already wrote: tried first among the
        fallbacks (it may only replace a file that ``may_replace`` accepts).
    pauses : sequence of float or None, optional
        Seconds to wait before each further attempt at ``target``; default
        :data:`RETRY_PAUSES`.

    Returns
    -------
    SaveOutcome

    Raises
    ------
    SaveFailed
        Nothing could be written anywhere; the message names ``target``,
        why, and where else it was tried.
    """
    target = Path(target)
    reason = _attempt(write, target, may_replace)
    for pause in RETRY_PAUSES if pauses is None else pauses:
        if reason is None or reason == REFUSED:
            break
        time.sleep(pause)
        reason = _attempt(write, target, may_replace)
    if reason is None:
        return SaveOutcome(target, None)
    tried = []
    if previous is not None:
        if _attempt(write, previous, may_replace) is None:
            return SaveOutcome(previous, reason)
        tried.append(previous.parent)
    for path in _candidates(target):
        failure = _attempt(write, path, lambda p: False)      # a fresh name: replace nothing
        if failure is None:
            return SaveOutcome(path, reason)
        if path.parent not in tried:
            tried.append(path.parent)
    where = " nor in ".join(str(folder) for folder in tried)
    raise SaveFailed(f"{target} could not be written ({reason}), nor a copy in {where}")
