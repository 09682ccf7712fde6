"""Atomic file writes: a temporary name in the same folder, then a rename.

A file is written as ``.NAME.normrnn-XXXXXXXXXXXXXXXX.tmp`` next to its target
(``XXXXXXXXXXXXXXXX``: sixteen random hexadecimal digits), flushed to disk,
then renamed over the target with :func:`os.replace`, so the target always
holds either the old or the new content.  ``NAME`` is cut so that the
temporary name never exceeds the file system's limit on a name (255 bytes on
most), whatever the target's.

While a temporary file is written its writer holds an exclusive lock on it
(:func:`fcntl.flock`).  A temporary file that nobody holds was left by a
writer that was killed: :func:`remove_stale_temporaries` deletes it, and every
:func:`atomic_file` calls it first, but only when it is provably normrnn's:
its name has exactly that pattern (a name no person chooses) *and* it is
empty or begins as the target's format does (``PK`` for a checkpoint, the
image signature for a plot).  A user's ``.model.npz.old_copy.tmp`` is kept.

A target may be guarded (``may_replace``): it is replaced only if it is
absent or passes the check, made again right before the rename, so that a
file that appeared at the target since the command started is not
destroyed (:class:`ReplaceRefused`).
"""

import errno
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
           "check_writable", "ReplaceRefused"]

_RANDOM = 16                             # hexadecimal digits of a temporary name
_TAG = b"normrnn-"                       # before them: no person names a file so
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_EXTRA = len(b"..") + len(_TAG) + _RANDOM + len(b".tmp")
_RANDOM_PART = re.compile(rb"%s[0-9a-f]{%d}" % (_TAG, _RANDOM))
#: the errors of os.link on a file system without hard links
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK,
             errno.ENOSYS, errno.EACCES}


class ReplaceRefused(FileExistsError):
    """The target holds a file that the write's ``may_replace`` check does not accept.

    ``filename`` is the target; nothing was written to it.
    """


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


def _default_headers(path):
    """How a temporary of ``path`` may begin, by the target's suffix: ``PK`` for ``.npz``."""
    return (b"PK",) if Path(path).suffix.lower() == ".npz" else ()


def _ours(fd, headers):
    """Whether the open temporary ``fd`` is empty or begins with one of ``headers``."""
    head = os.pread(fd, max((len(h) for h in headers), default=0), 0)
    return head == b"" or any(head.startswith(h) for h in headers)


def remove_stale_temporaries(path, headers=None):
    """Delete temporary files of ``path`` left by killed writers; return their paths.

    A temporary file is removed only when its name has the exact pattern of
    :func:`atomic_file`'s, no process holds its lock, and it is empty or
    begins with one of ``headers`` (on systems without :mod:`fcntl`,
    nothing is removed).

    Parameters
    ----------
    path : str or Path
        The target file whose temporaries to look for.
    headers : sequence of bytes or None, optional
        How the content written to ``path`` begins; default ``(b"PK",)``
        for a ``.npz`` target (a zip archive), none for others (only empty
        temporaries are then removed).

    Returns
    -------
    list of Path
    """
    if fcntl is None:
        return []
    headers = _default_headers(path) if headers is None else tuple(headers)
    removed = []
    for tmp in _temporaries(path):
        try:
            fd = os.open(tmp, os.O_RDONLY | _NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # held: a live writer
            if _ours(fd, headers) and os.path.samestat(os.fstat(fd), os.lstat(tmp)):
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
        name = folder / os.fsdecode(prefix + _TAG + secrets.token_hex(_RANDOM // 2).encode()
                                    + b".tmp")
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


def _install(tmp, path, may_replace):
    """Rename ``tmp`` to ``path``; with ``may_replace``, only over a file it accepts.

    An absent target is created with :func:`os.link`, which fails rather than
    replace a file that appeared meanwhile (where the file system has no
    hard links, the check below is made instead).  A present target is
    checked, then replaced at once: the window between the two is the time
    of one check.
    """
    if may_replace is None:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path, follow_symlinks=False)
    except FileExistsError:
        pass
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        if not os.path.lexists(path):
            os.replace(tmp, path)
            return
    else:
        os.unlink(tmp)
        return
    if not (os.path.isfile(path) and may_replace(path)):
        raise ReplaceRefused(errno.EEXIST, "it holds a file that this command did not write",
                             str(path))
    os.replace(tmp, path)


def _naming_target(exc, path):
    """``exc`` (an OSError) told about ``path`` itself, never about a temporary name."""
    if isinstance(exc, ReplaceRefused) or exc.filename == str(path):
        return exc
    return OSError(exc.errno, exc.strerror or str(exc), str(path))     # errno picks the class


@contextmanager
def atomic_file(path, *, headers=None, may_replace=None):
    """Open a temporary file to write ``path``'s new content; rename it over ``path`` on success.

    Creates ``path``'s folder if needed and first removes stale temporaries of
    ``path`` (:func:`remove_stale_temporaries`).  If the block raises, the
    temporary file is removed and ``path`` is left as it was.  An
    ``OSError`` names ``path``, not the temporary file.

    Parameters
    ----------
    path : str or Path
    headers : sequence of bytes or None, optional
        How the content begins (:func:`remove_stale_temporaries`).
    may_replace : callable or None, optional
        ``may_replace(path) -> bool``: whether an existing file at ``path``
        may be replaced, asked right before the rename.  ``None``: any.

    Yields
    ------
    file
        A binary file object.

    Raises
    ------
    ReplaceRefused
        ``path`` holds a file that ``may_replace`` refuses; it is kept.
    OSError
        The file could not be written; ``filename`` is ``path``.
    """
    path = Path(path)
    try:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:       # a file where a folder should be
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)) from None
        remove_stale_temporaries(path, headers)
        fd, tmp = _open_temporary(path)
    except OSError as exc:
        raise _naming_target(exc, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
            _install(tmp, path, may_replace)   # before closing: the lock is held until here
    except BaseException as exc:
        try:
            if os.path.lexists(tmp):
                os.unlink(tmp)
        except OSError:
            pass                  # its folder went away or was locked: the next sweep
        if isinstance(exc, OSError):
            raise _naming_target(exc, path) from None
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
