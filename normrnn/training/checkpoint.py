"""Checkpoints: the model, its vocabulary and the whole training state, in one ``.npz``.

==========================  =======================================================
key                         content
==========================  =======================================================
``format``, ``version``     ``"normrnn-checkpoint"``, 1
``config``                  :class:`TrainConfig` as JSON (0-d unicode array)
``progress``                step, epoch, tokens, elapsed seconds, shuffling RNG
                            state, streams' next index, corpus fingerprint (JSON)
``vocab``                   int32 code points of the characters (ids 3, 4, ...)
``param.<name>``            ``embedding`` (V, H), ``ih`` (H, H), ``hh`` (H, H),
                            ``bias`` (H,), and ``gain`` (H,) when the config's
                            ``gain`` is ``"learned"``, in the configured dtype
``optimizer.<key>``         the optimizer's :meth:`~Optimizer.state_dict`
``streams.<name>``          ``order``, ``doc``, ``pos``, ``carried``: the minibatch
                            schedule (:class:`~normrnn.training.streams.DocumentStreams`)
``history.<name>``          the loss curve (:class:`~normrnn.training.state.History`)
``unigram``                 int64 (V,) training token counts (the baseline)
``checksum``                SHA-256 of all the above
==========================  =======================================================

Writes are atomic; reads use ``allow_pickle=False`` and check every key,
dtype and shape, raising :class:`CheckpointError` (a ``ValueError``) that
names the file.  Before any large entry is read, its size declared in the
archive is checked against what the configuration and vocabulary imply
(:func:`read_npz`), so a crafted file cannot make loading allocate more than
about its own size.

**The archive underneath** (:func:`write_npz`, :func:`read_npz`,
:func:`checksum`): atomic writes, pickle-free bounded reads, a content
checksum.  Reading costs at most about twice the file's size in memory, whatever the
file claims: the entries' sizes declared in the zip directory may not add up
to more than the file itself (normrnn writes its archives uncompressed, so a
compressed entry, which could expand without bound, is refused), and no
``.npy`` header may declare an array larger than its entry before the array
is allocated.  A caller that knows more (a checkpoint's configuration implies
the size of most entries) checks the declared sizes before anything is read.
"""

import hashlib
import json
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._printable import show_path
from ..data.tokenizer import CharTokenizer
from ..model import NormRNN
from ..files.atomic import atomic_file
from .config import TrainConfig
from .optimizers import make_optimizer
from .state import History, TrainState

__all__ = ["Checkpoint", "CheckpointError", "save_checkpoint", "load_checkpoint",
           "is_checkpoint", "NpzArchive", "checksum", "write_npz", "read_npz"]


# --- safe .npz files ---------------------------------------------------------------

class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and the reason.

    Parameters
    ----------
    path : str or Path
    message : str
    """

    def __init__(self, path, message):
        super().__init__(f"{show_path(path)}: {message}")
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


def write_npz(path, arrays, *, may_replace=None):
    """Write ``arrays`` plus a ``"checksum"`` entry to ``path`` atomically.

    The file is written to a short temporary name in the same folder, flushed
    to disk, then renamed over ``path`` (:func:`os.replace`), so ``path``
    always holds either the old or the new checkpoint, never half of one;
    temporaries left by a killed writer of ``path`` are removed first
    (:func:`~normrnn.files.atomic.atomic_file`).

    Parameters
    ----------
    path : str or Path
    arrays : dict of str to ndarray
        No object arrays.
    may_replace : callable or None, optional
        ``may_replace(path) -> bool``, asked right before the rename when
        ``path`` exists: a refusal keeps the file and raises
        :class:`~normrnn.files.atomic.ReplaceRefused`.  ``None``: replace
        whatever is there.
    """
    payload = dict(arrays, checksum=np.array(checksum(arrays)))
    with atomic_file(path, headers=(b"PK",), may_replace=may_replace) as f:
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


# --- checkpoints --------------------------------------------------------------------

FORMAT = "normrnn-checkpoint"
VERSION = 1

#: entries read before the others, and the most bytes each may declare
_HEAD_LIMITS = {"format": 4096, "version": 4096, "config": 1 << 20, "progress": 1 << 20,
                "vocab": 4 * 0x110000 + 4096}


@dataclass
class Checkpoint:
    """A loaded checkpoint.

    Attributes
    ----------
    model : NormRNN
    tokenizer : CharTokenizer
    config : TrainConfig
    optimizer : Optimizer
        Built for ``model``'s parameters, its state restored.
    state : TrainState
    streams : dict of str to ndarray
        ``order``, ``doc``, ``pos``, ``carried`` and ``next_index`` (0-d).
    unigram : ndarray of int64, shape (V,)
    fingerprint : str
        Of the training corpus, to warn when a run resumes on other data.
    """

    model: NormRNN
    tokenizer: CharTokenizer
    config: TrainConfig
    optimizer: object
    state: TrainState
    streams: dict
    unigram: np.ndarray
    fingerprint: str


def save_checkpoint(path, *, model, tokenizer, config, optimizer, state, streams, unigram,
                    fingerprint="", may_replace=None):
    """Write a checkpoint atomically (temporary file, then rename).

    Parameters
    ----------
    path : str or Path
    model : NormRNN
    tokenizer : CharTokenizer
    config : TrainConfig
    optimizer : Optimizer
    state : TrainState
    streams : DocumentStreams
    unigram : ndarray of int64, shape (V,)
    fingerprint : str, optional
    may_replace : callable or None, optional
        Which existing file ``path`` may replace (:func:`write_npz`); for
        example :func:`is_checkpoint`.  ``None``: any.
    """
    progress = dict(state.progress_json(), next_index=int(streams.next_index),
                    fingerprint=fingerprint)
    arrays = {"format": np.array(FORMAT), "version": np.array(VERSION, dtype=np.int64),
              "config": np.array(config.to_json()), "progress": np.array(json.dumps(progress)),
              "vocab": tokenizer.to_array(), "unigram": np.asarray(unigram, dtype=np.int64),
              "streams.order": streams.order, "streams.doc": streams.doc,
              "streams.pos": streams.pos, "streams.carried": streams.carried}
    arrays.update((f"param.{k}", v) for k, v in model.parameters().items())
    arrays.update((f"optimizer.{k}", v) for k, v in optimizer.state_dict().items())
    arrays.update(state.history.to_arrays())
    write_npz(path, arrays, may_replace=may_replace)


def _take(path, arrays, key, kind, shape):
    """Pop ``arrays[key]``, checking its dtype (a dtype or a kind letter) and shape."""
    if key not in arrays:
        raise CheckpointError(path, f"missing entry {key!r}")
    value = arrays.pop(key)
    ok_type = value.dtype.kind == kind if isinstance(kind, str) else value.dtype == kind
    if not ok_type or value.ndim != len(shape) or any(
            want is not None and got != want for got, want in zip(value.shape, shape, strict=True)):
        want = tuple("any" if s is None else s for s in shape)
        raise CheckpointError(path, f"entry {key!r} must be {kind} of shape {want}, "
                              f"got {value.dtype} of shape {value.shape}")
    return value


def _json(path, arrays, key):
    try:
        return json.loads(str(_take(path, arrays, key, "U", ())))
    except json.JSONDecodeError as exc:
        raise CheckpointError(path, f"entry {key!r} is not valid JSON: {exc}") from None


def _header(path, arrays):
    """Check the format and version; return config and progress."""
    if str(_take(path, arrays, "format", "U", ())) != FORMAT:
        raise CheckpointError(path, "not a normrnn checkpoint")
    version = int(_take(path, arrays, "version", np.dtype(np.int64), ()))
    if version != VERSION:
        raise CheckpointError(path, f"checkpoint version {version}; this normrnn reads {VERSION}")
    try:
        config = TrainConfig.from_json(str(_take(path, arrays, "config", "U", ())))
    except (ValueError, TypeError) as exc:
        raise CheckpointError(path, f"bad configuration: {exc}") from None
    progress = _json(path, arrays, "progress")
    keys = {"step", "epoch", "tokens", "elapsed", "rng_state", "next_index", "fingerprint"}
    if not isinstance(progress, dict) or set(progress) != keys:
        raise CheckpointError(path, f"entry 'progress' must have the keys {sorted(keys)}")
    return config, progress


def _model(path, arrays, tokenizer, config):
    V, H, dtype = tokenizer.vocab_size, config.hidden_size, np.dtype(config.dtype)
    shapes = {"embedding": (V, H), "ih": (H, H), "hh": (H, H), "bias": (H,), "gain": (H,)}
    # a checkpoint from before the learned gain has no config.gain: "fixed"
    names = ("embedding", "ih", "hh", "bias") + (("gain",) if config.gain == "learned" else ())
    # check the stored shapes first: a damaged hidden_size must not allocate
    stored = {name: _take(path, arrays, f"param.{name}", dtype, shapes[name])
              for name in names}
    model = NormRNN(V, H, dtype=dtype, gain=config.gain)
    for name in names:
        getattr(model, name)[...] = stored[name]
    try:
        model.check_parameters()
    except (TypeError, ValueError) as exc:
        raise CheckpointError(path, f"unusable parameters: {exc}") from None
    return model


def _optimizer(path, arrays, model, config):
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.learning_rate)
    state = {k[len("optimizer."):]: arrays.pop(k) for k in list(arrays)
             if k.startswith("optimizer.")}
    try:
        optimizer.load_state_dict(state)
    except ValueError as exc:
        raise CheckpointError(path, f"bad optimizer state: {exc}") from None
    return optimizer


def _streams(path, arrays, config, progress):
    B, H = config.batch_size, config.hidden_size
    streams = {"order": _take(path, arrays, "streams.order", np.dtype(np.int64), (None,)),
               "doc": _take(path, arrays, "streams.doc", np.dtype(np.int64), (B,)),
               "pos": _take(path, arrays, "streams.pos", np.dtype(np.int64), (B,)),
               "carried": _take(path, arrays, "streams.carried", np.dtype(config.dtype), (B, H)),
               "next_index": progress["next_index"]}
    next_index = streams["next_index"]
    if not isinstance(next_index, int) or isinstance(next_index, bool) or not (
            0 <= next_index <= len(streams["order"])):
        raise CheckpointError(path, "streams' next index is out of range")
    if np.any(streams["pos"] < 0) or not np.isfinite(streams["carried"]).all():
        raise CheckpointError(path, "streams hold a negative position or a non-finite state")
    return streams


def _history(path, arrays):
    steps = _take(path, arrays, "history.steps", np.dtype(np.int64), (None,))
    n = len(steps)
    return History.from_arrays({
        "history.steps": steps,
        "history.tokens": _take(path, arrays, "history.tokens", np.dtype(np.int64), (n,)),
        "history.bits": _take(path, arrays, "history.bits", np.dtype(np.float64), (n,)),
        "history.evals": _take(path, arrays, "history.evals", np.dtype(np.float64), (None, 4))})


def _state(path, progress, history):
    state = TrainState(progress["step"], progress["epoch"], progress["tokens"],
                       progress["elapsed"], progress["rng_state"], history)
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**63
               for v in (state.step, state.epoch, state.tokens)):
        raise CheckpointError(path, "step, epoch and tokens must be non-negative integers "
                              "(below 2**63: they are saved as int64)")
    if not (isinstance(state.elapsed, (int, float)) and not isinstance(state.elapsed, bool)
            and math.isfinite(state.elapsed) and state.elapsed >= 0):
        raise CheckpointError(path, "elapsed must be a non-negative number of seconds")
    if not isinstance(progress["fingerprint"], str):
        raise CheckpointError(path, "the corpus fingerprint must be a string")
    try:
        np.random.default_rng().bit_generator.state = state.rng_state
    except (TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(path, f"bad random state: {exc}") from None
    return state


#: slack on the sizes the configuration implies: the exact shapes are checked after
#: reading, with clearer messages; this check only keeps a crafted file from costing memory
_SLACK_FACTOR, _SLACK_BYTES = 2, 1 << 16


def _largest_entries(config, vocab_size, steps):
    """The bytes each entry holds, by what the configuration implies.

    Parameters
    ----------
    config : TrainConfig
    vocab_size : int
        V.
    steps : int
        Steps of the run (the loss history has one row per step, evaluations
        at most one per step and one more).

    Returns
    -------
    sizes : dict of str to int
        Entries not named (``streams.order``, whose length is the training
        corpus's, unknown here) are bounded by the file's size only.
    largest_parameter : int
        Bytes of the largest parameter in float64: an optimizer entry's bound.
    """
    V, H, B = vocab_size, config.hidden_size, config.batch_size
    item = np.dtype(config.dtype).itemsize
    sizes = {"param.embedding": V * H * item, "param.ih": H * H * item,
             "param.hh": H * H * item, "param.bias": H * item, "unigram": V * 8,
             "streams.doc": B * 8, "streams.pos": B * 8, "streams.carried": B * H * item,
             "history.steps": steps * 8, "history.tokens": steps * 8,
             "history.bits": steps * 8, "history.evals": (steps + 1) * 4 * 8}
    return sizes, max(V * H, H * H) * 8


def _check_declared_sizes(path, archive):
    """Refuse an entry that declares far more bytes than the configuration implies.

    Reads only the small entries (format, version, config, progress, vocab),
    each first checked against a fixed bound; if they cannot be understood,
    the later checks of :func:`load_checkpoint` name the problem (reading is
    bounded by the file's size anyway).
    """
    def too_large(name, nbytes, limit):
        raise CheckpointError(path, f"entry {name!r} is too large to load: it declares "
                              f"{nbytes} bytes, its configuration allows {limit} (damaged?)")

    for name, limit in _HEAD_LIMITS.items():
        if archive.nbytes.get(name, 0) > limit:
            too_large(name, archive.nbytes[name], limit)
    try:
        config = TrainConfig.from_json(str(archive.read("config")))
        vocab_size = len(archive.read("vocab")) + 3
        steps = json.loads(str(archive.read("progress")))["step"]
    except Exception:  # noqa: BLE001  (missing or bad: load_checkpoint says which)
        return
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        return
    sizes, largest_parameter = _largest_entries(config, vocab_size, steps)
    for name, nbytes in archive.nbytes.items():
        size = largest_parameter if name.startswith("optimizer.") else sizes.get(name)
        if size is not None and nbytes > _SLACK_FACTOR * size + _SLACK_BYTES:
            too_large(name, nbytes, _SLACK_FACTOR * size + _SLACK_BYTES)


def is_checkpoint(path):
    """Whether ``path`` is a file that names itself a normrnn checkpoint, read cheaply.

    Only the zip directory and the small ``format`` entry are read: the
    answer does not say the checkpoint is undamaged (:func:`load_checkpoint`
    checks that), only that replacing the file replaces a checkpoint.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    bool
    """
    try:
        with open(path, "rb") as f:
            if f.read(2) != b"PK":
                return False
        with zipfile.ZipFile(path) as z:
            info = z.getinfo("format.npy")
            if info.file_size > _HEAD_LIMITS["format"]:
                return False
            with z.open(info) as member:
                value = np.lib.format.read_array(member, allow_pickle=False)
        return value.dtype.kind == "U" and value.shape == () and str(value) == FORMAT
    except Exception:  # noqa: BLE001  (anything unreadable is not a checkpoint)
        return False


def load_checkpoint(path):
    """Read and validate a checkpoint written by :func:`save_checkpoint`.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Checkpoint

    Raises
    ------
    CheckpointError
        On a missing, truncated or modified file, a missing or extra entry,
        an entry larger than the configuration implies, a wrong dtype or
        shape, or unusable values; the message names the file.
    """
    arrays = read_npz(path, check=lambda archive: _check_declared_sizes(path, archive))
    config, progress = _header(path, arrays)
    vocab = _take(path, arrays, "vocab", "i", (None,))
    try:
        tokenizer = CharTokenizer.from_array(vocab)
    except ValueError as exc:
        raise CheckpointError(path, f"bad vocabulary: {exc}") from None
    model = _model(path, arrays, tokenizer, config)
    unigram = _take(path, arrays, "unigram", np.dtype(np.int64), (tokenizer.vocab_size,))
    if np.any(unigram < 0):
        raise CheckpointError(path, "entry 'unigram' holds a negative count")
    optimizer = _optimizer(path, arrays, model, config)
    streams = _streams(path, arrays, config, progress)
    state = _state(path, progress, _history(path, arrays))
    if arrays:
        raise CheckpointError(path, f"unexpected entries {sorted(arrays)}")
    return Checkpoint(model, tokenizer, config, optimizer, state, streams, unigram,
                      progress["fingerprint"])
