"""Safe ``.npz`` files: atomic writes, pickle-free bounded reads, a content checksum.

Reading costs at most about twice the file's size in memory, whatever the
file claims: the entries' sizes declared in the zip directory may not add up
to more than the file itself (normrnn writes its archives uncompressed, so a
compressed entry, which could expand without bound, is refused), and no
``.npy`` header may declare an array larger than its entry before the array
is allocated.  A caller that knows more (a checkpoint's configuration implies
the size of most entries) checks the declared sizes before anything is read.
"""

import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np

from .atomic import atomic_file

__all__ = ["CheckpointError", "NpzArchive", "checksum", "write_npz", "read_npz"]


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
        digest.update(value.reshape(-1).view(np.uint8))        # its bytes, not a copy
    return digest.hexdigest()


def write_npz(path, arrays):
    """Write ``arrays`` plus a ``"checksum"`` entry to ``path`` atomically.

    The file is written to a short temporary name in the same folder, flushed
    to disk, then renamed over ``path`` (:func:`os.replace`), so ``path``
    always holds either the old or the new checkpoint, never half of one;
    temporaries left by a killed writer of ``path`` are removed first
    (:func:`~normrnn.training.atomic.atomic_file`).

    Parameters
    ----------
    path : str or Path
    arrays : dict of str to ndarray
        No object arrays.
    """
    payload = dict(arrays, checksum=np.array(checksum(arrays)))
    with atomic_file(path) as f:
        np.savez(f, **payload)


class NpzArchive:
    """An open ``.npz`` whose entries' sizes were checked before any array is read.

    Parameters
    ----------
    path : str or Path
    npz : numpy.lib.npyio.NpzFile
        Opened with ``allow_pickle=False``.

    Attributes
    ----------
    nbytes : dict of str to int
        Per entry (name without ``.npy``), the size of the array its header
        declares (or of the raw entry, if it is not an ``.npy``).
    """

    def __init__(self, path, npz):
        self.path, self._npz = path, npz
        infos = npz.zip.infolist()
        declared, size = sum(i.file_size for i in infos), os.path.getsize(path)
        if declared > size:
            raise CheckpointError(path, f"not a readable .npz archive: its entries declare "
                                  f"{declared} bytes in a file of {size} (normrnn writes "
                                  "uncompressed archives; a compressed one is refused)")
        self.nbytes = dict(self._declared(info) for info in infos)

    def _declared(self, info):
        name = info.filename.removesuffix(".npy")
        if not info.filename.endswith(".npy"):
            return name, info.file_size
        with self._npz.zip.open(info) as member:
            if member.read(6) != np.lib.format.MAGIC_PREFIX:
                return name, info.file_size
            member.seek(0)
            version = np.lib.format.read_magic(member)
            readers = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}
            if version not in readers:
                raise CheckpointError(self.path, f"not a readable .npz archive: entry {name!r} "
                                      f"is a .npy file of version {version}")
            shape, _, dtype = readers[version](member)
            header = member.tell()
        if dtype.hasobject:
            return name, info.file_size
        nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if nbytes > info.file_size - header:
            raise CheckpointError(self.path, f"entry {name!r} is too large to load: its header "
                                  f"declares {nbytes} bytes, the entry holds "
                                  f"{info.file_size - header} (damaged?)")
        return name, nbytes

    def read(self, name):
        """The array ``name`` (its size was checked when the archive was opened)."""
        return self._npz[name]


def read_npz(path, check=None):
    """Read every array of an ``.npz`` with ``allow_pickle=False`` and verify the checksum.

    Parameters
    ----------
    path : str or Path
    check : callable or None, optional
        ``check(archive)`` with the :class:`NpzArchive`, before any array is
        read in full: it may read small entries and raise
        :class:`CheckpointError` for an entry whose declared size
        (``archive.nbytes``) is more than the caller expects.

    Returns
    -------
    dict of str to ndarray
        Without the ``"checksum"`` entry.

    Raises
    ------
    CheckpointError
        If the file is missing, not a complete ``.npz`` archive, declares
        more bytes than it holds, holds object arrays, or its checksum does
        not match.
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
            archive = NpzArchive(path, npz)
            if check is not None:
                check(archive)
            arrays = {name: archive.read(name) for name in npz.files}
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
