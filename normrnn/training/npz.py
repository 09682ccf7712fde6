"""Safe ``.npz`` files: atomic writes, pickle-free reads, a content checksum."""

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["CheckpointError", "checksum", "write_npz", "read_npz"]


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and the reason.

    Parameters
    ----------
    path : str or Path
    message : str
    """

    def __init__(self, path, message):
        super().__init__(f"{path}: {message}")
        self.path = Path(path)


def checksum(arrays):
    """SHA-256 of the arrays' names, dtypes, shapes and bytes, in name order.

    Detects a checkpoint edited or damaged after it was written (it is an
    integrity check, not a signature).

    Parameters
    ----------
    arrays : dict of str to ndarray

    Returns
    -------
    str
        Hex digest.
    """
    digest = hashlib.sha256()
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{value.dtype.str}|{value.shape}|".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def write_npz(path, arrays):
    """Write ``arrays`` plus a ``"checksum"`` entry to ``path`` atomically.

    The file is written to a temporary name in the same folder, flushed to
    disk, then renamed over ``path`` (:func:`os.replace`), so ``path`` always
    holds either the old or the new checkpoint, never half of one.

    Parameters
    ----------
    path : str or Path
    arrays : dict of str to ndarray
        No object arrays.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = dict(arrays, checksum=np.array(checksum(arrays)))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_npz(path):
    """Read every array of an ``.npz`` with ``allow_pickle=False`` and verify the checksum.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    dict of str to ndarray
        Without the ``"checksum"`` entry.

    Raises
    ------
    CheckpointError
        If the file is missing, not a complete ``.npz`` archive, holds object
        arrays, or its checksum does not match.
    """
    try:
        # a zip archive starts with "PK"; anything else would reach np.load's
        # pickle branch, whose message suggests loading the file unsafely
        with open(path, "rb") as f:
            if f.read(2) != b"PK":
                raise CheckpointError(path, "not an .npz archive (a checkpoint is a zip "
                                      "file written by normrnn train)")
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise CheckpointError(path, "not an .npz archive")
        with npz:
            arrays = {name: npz[name] for name in npz.files}
    except FileNotFoundError:
        raise CheckpointError(path, "no such file") from None
    except CheckpointError:
        raise
    except MemoryError as exc:        # an entry whose header declares a huge shape
        raise CheckpointError(path, f"an entry is too large to load (damaged?): {exc}") from None
    except Exception as exc:  # noqa: BLE001  (zipfile, zlib, numpy: any damage)
        # zipfile alone raises BadZipFile, RuntimeError (an "encrypted" flag),
        # NotImplementedError (a compression method), zlib/lzma errors, ...
        raise CheckpointError(path, f"not a readable .npz archive (truncated or damaged?): "
                              f"{exc}") from None
    stored = arrays.pop("checksum", None)
    if stored is None or stored.dtype.kind != "U" or stored.shape != ():
        raise CheckpointError(path, "missing its checksum; not a normrnn checkpoint")
    if str(stored) != checksum(arrays):
        raise CheckpointError(path, "checksum mismatch: the file was modified or damaged "
                              "after it was written")
    return arrays
