"""Atomic file writes: a short temporary name in the same folder, then a rename.

A file is written as ``.NAME.XXXXXXXX.tmp`` next to its target (``XXXXXXXX``:
eight random hexadecimal digits), flushed to disk, then renamed over the
target with :func:`os.replace`, so the target always holds either the old or
the new content.  ``NAME`` is cut so that the temporary name never exceeds the
file system's limit on a name (255 bytes on most), whatever the target's.

While a temporary file is written its writer holds an exclusive lock on it
(:func:`fcntl.flock`).  A temporary file of the same pattern that nobody holds
was left by a writer that was killed: :func:`remove_stale_temporaries` deletes
those, and every :func:`atomic_file` calls it first.
"""

import os
import re
import secrets
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:          # not POSIX: temporaries are still removed by their writer
    fcntl = None

__all__ = ["name_max", "temporary_prefix", "remove_stale_temporaries", "atomic_file",
           "check_writable"]

_RANDOM = 8                              # hexadecimal digits of a temporary name
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_EXTRA = len(b"..") + _RANDOM + len(b".tmp")
#: a writer's random part: hexadecimal (ours) or tempfile's alphabet (earlier versions)
_RANDOM_PART = re.compile(rb"[a-z0-9_]{%d}" % _RANDOM)


def name_max(folder):
    """The longest file name, in bytes, that ``folder`` accepts.

    Parameters
    ----------
    folder : str or Path

    Returns
    -------
    int
        ``os.pathconf(folder, "PC_NAME_MAX")``, or 255 if it cannot be asked.
    """
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def temporary_prefix(path):
    """``b".NAME."``, with ``NAME`` cut so that a temporary name fits the folder's limit.

    Parameters
    ----------
    path : str or Path
        The target file.

    Returns
    -------
    bytes
    """
    path = Path(path)
    name = os.fsencode(path.name)
    limit = name_max(path.parent if str(path.parent) else ".")
    return b"." + name[:max(1, limit - _EXTRA)] + b"."


def _temporaries(path):
    """Paths in ``path``'s folder that follow its temporary-name pattern."""
    prefix = temporary_prefix(path)
    folder = Path(path).parent
    try:
        names = os.listdir(os.fsencode(folder))
    except OSError:
        return []
    return [folder / os.fsdecode(n) for n in names
            if n.startswith(prefix) and n.endswith(b".tmp")
            and _RANDOM_PART.fullmatch(n[len(prefix):-len(b".tmp")])]


def remove_stale_temporaries(path):
    """Delete temporary files of ``path`` left by killed writers; return their paths.

    A temporary file is stale when no process holds its lock (on systems
    without :mod:`fcntl`, nothing is removed).

    Parameters
    ----------
    path : str or Path
        The target file whose temporaries to look for.

    Returns
    -------
    list of Path
    """
    if fcntl is None:
        return []
    removed = []
    for tmp in _temporaries(path):
        try:
            fd = os.open(tmp, os.O_RDONLY | _NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # held: a live writer
            if os.path.samestat(os.fstat(fd), os.lstat(tmp)):
                os.unlink(tmp)
                removed.append(tmp)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def _open_temporary(path):
    """Create, open and lock a new temporary file for ``path``; return ``(fd, name)``."""
    folder = Path(path).parent
    prefix = temporary_prefix(path)
    while True:
        name = folder / os.fsdecode(prefix + secrets.token_hex(_RANDOM // 2).encode() + b".tmp")
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o666)
        except FileExistsError:
            continue
        if fcntl is None:
            return fd, name
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:                  # a cleaner may have removed it between open and lock
            if os.path.samestat(os.fstat(fd), os.lstat(name)):
                return fd, name
        except FileNotFoundError:
            pass
        os.close(fd)


@contextmanager
def atomic_file(path):
    """Open a temporary file to write ``path``'s new content; rename it over ``path`` on success.

    Creates ``path``'s folder if needed and first removes stale temporaries of
    ``path`` (:func:`remove_stale_temporaries`).  If the block raises, the
    temporary file is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or Path

    Yields
    ------
    file
        A binary file object.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = _open_temporary(path)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
            os.replace(tmp, path)          # before closing: the lock is held until here
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def check_writable(path):
    """Check now that :func:`atomic_file` could write ``path``; raise ``OSError`` if not.

    The nearest existing folder on the way to ``path`` must be a folder in
    which a file can be created (a temporary file is created and removed
    there), and every name still to be created must fit the file system.

    Parameters
    ----------
    path : str or Path

    Raises
    ------
    OSError
        With ``strerror`` saying why and ``filename`` naming the folder or name.
    """
    path = Path(os.path.abspath(path))
    missing, folder = [path.name], path.parent
    while not os.path.lexists(folder):
        missing.append(folder.name)
        folder = folder.parent
    if not folder.is_dir():
        raise NotADirectoryError(20, "not a folder", str(folder))
    limit = name_max(folder)
    for name in missing:
        if len(os.fsencode(name)) > limit:
            raise OSError(36, f"a name is longer than {limit} bytes", name)
    probe = folder / f".normrnn.{secrets.token_hex(_RANDOM // 2)}.tmp"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise OSError(exc.errno, f"cannot create a file there ({exc.strerror})",
                      str(folder)) from None
    os.unlink(probe)
