"""One run per output: a lock on the checkpoint's path, held for the whole run.

Two runs writing the same checkpoint would each replace the other's at every
save, and one of the two models would be lost without a word.
:func:`lock_output` takes an exclusive :func:`fcntl.flock` lock on a small
file beside the checkpoint, ``.NAME.normrnn-lock``, holding the owner's
process id, for as long as the run lasts; a second run on the same path is
refused at once, naming that process.  The kernel drops the lock when its
process ends, however it ends, so a killed run never blocks the next one
(its lock file is reused, and removed by the run that ends normally).
"""

import os
from contextlib import contextmanager
from pathlib import Path

from .atomic import temporary_prefix

try:
    import fcntl
except ImportError:          # not POSIX: runs are not locked
    fcntl = None

__all__ = ["OutputBusy", "lock_path", "lock_output"]

_HEADER = b"normrnn output lock\n"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class OutputBusy(ValueError):
    """Another process holds the output; the message names it and its process id.

    Attributes
    ----------
    pid : int or None
        The process that holds it, if its lock file says.
    """

    def __init__(self, message, pid=None):
        super().__init__(message)
        self.pid = pid


def lock_path(path):
    """The lock file of ``path``: ``.NAME.normrnn-lock`` in its folder.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Path
    """
    prefix = temporary_prefix(path)          # NAME cut to leave room, as for temporaries
    return Path(path).parent / os.fsdecode(prefix + b"normrnn-lock")


def _holder(fd):
    """The process id written in an open lock file, or None."""
    text = os.pread(fd, 256, 0)
    if not text.startswith(_HEADER):
        return None
    words = text[len(_HEADER):].split()
    return int(words[1]) if len(words) > 1 and words[0] == b"pid" and words[1].isdigit() \
        else None


def _acquire(lock, label):
    """Open and lock ``lock``; return its descriptor, or raise :class:`OutputBusy`."""
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _holder(fd)
            os.close(fd)
            who = f"process {pid}" if pid is not None else "another process"
            raise OutputBusy(f"{label} is being written by another normrnn run ({who}); wait "
                             "for it to end, or give another file name", pid) from None
        try:                  # the previous holder may have removed it between open and lock
            if os.path.samestat(os.fstat(fd), os.lstat(lock)):
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


@contextmanager
def lock_output(path, label=None):
    """Hold ``path`` for this process for the length of the block.

    Creates ``path``'s folder if needed.  The lock file sits beside the file
    ``path`` resolves to (symbolic links followed), so every spelling of one
    path takes the same lock.

    Parameters
    ----------
    path : str or Path
        The output (a checkpoint).
    label : str or None, optional
        How to name it in the message, such as ``"--out model.npz"``;
        default the path.

    Raises
    ------
    OutputBusy
        Another process holds it (the message names that process's id), or
        a file that is not normrnn's lock file bears the lock's name.
    OSError
        The lock file cannot be created.
    """
    label = str(path) if label is None else label
    if fcntl is None:
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    lock = lock_path(os.path.realpath(path))      # one lock, however the path is spelt
    fd, owned = _acquire(lock, label), False
    try:
        content = os.pread(fd, len(_HEADER), 0)
        if content and not content.startswith(_HEADER):
            raise OutputBusy(f"{label}: a file that normrnn did not write, {lock.name}, bears "
                             "the name of its lock file; move it, or give another file name")
        os.ftruncate(fd, 0)
        os.pwrite(fd, _HEADER + f"pid {os.getpid()}\n".encode(), 0)
        owned = True
        yield
    finally:
        try:                    # while held: a run that opened it meanwhile retries anew
            if owned and os.path.samestat(os.fstat(fd), os.lstat(lock)):
                os.unlink(lock)
        except OSError:
            pass                # the folder went away: nothing to remove
        os.close(fd)
