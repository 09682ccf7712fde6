"""What a computation needs in memory, and whether this machine has it.

The fast BPTT keeps, for every position of a document, the state s_t, the
pre-activation a_t, delta_t and E^T dz_t (H numbers each) and the logits
(V numbers): **(4 H + V) numbers per token**, 8 bytes each in float64, 4 in
float32 (``normrnn bench`` measures it, see the performance page).  A
document of 5,000,000 tokens at H = 128 and V = 96 thus needs about 24 GB.
:func:`document_memory` gives the whole figure, :func:`available_memory`
what the machine can give, and :func:`require_memory` refuses, before
anything is allocated, a computation that cannot fit.
"""

import os

import numpy as np

__all__ = ["available_memory", "batch_memory", "bytes_per_token", "document_memory",
           "format_bytes", "lockstep_memory", "require_memory", "require_document_memory",
           "require_batch_memory", "CHECK_ABOVE", "DOCUMENT_REMEDY", "BATCH_REMEDY"]

# The size formulas (bytes_per_token, document_memory, batch_memory,
# lockstep_memory) take and document V, H, ... and dtype alike on purpose: one
# formula each, to read against what the kernels allocate.

#: Calls that need less than this are not checked (reading what is available
#: costs more than they do); NumPy's own MemoryError still applies.
CHECK_ABOVE = 64 * 2**20


def format_bytes(n):
    """``n`` bytes in the largest unit that keeps a number >= 1, e.g. ``"24.6 GB"``.

    Parameters
    ----------
    n : int or float

    Returns
    -------
    str
    """
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB", "EB", "ZB"):
        if abs(n) < 1000 or unit == "ZB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1000
    raise AssertionError("unreachable")         # pragma: no cover


def bytes_per_token(vocab_size, hidden_size, dtype=np.float64):
    """Memory the fast BPTT keeps per token of a document: ``(4 H + V) x itemsize``.

    Parameters
    ----------
    vocab_size, hidden_size : int
        V and H.
    dtype : {numpy.float64, numpy.float32}, optional

    Returns
    -------
    int
    """
    return (4 * hidden_size + vocab_size) * np.dtype(dtype).itemsize


def document_memory(vocab_size, hidden_size, length, dtype=np.float64):
    """Bytes one :meth:`~normrnn.NormRNN.loss_and_grads` call of ``length`` tokens needs.

    The per-token arrays (:func:`bytes_per_token`), the rows kept per distinct
    token (at most V), the gradients and the H x H scratch matrices.  The
    parameters themselves are not counted: they exist already.

    Parameters
    ----------
    vocab_size, hidden_size, length : int
        V, H and T.
    dtype : {numpy.float64, numpy.float32}, optional

    Returns
    -------
    int
    """
    V, H, T = int(vocab_size), int(hidden_size), int(length)
    item = np.dtype(dtype).itemsize
    grads = V * H + 2 * H * H + H
    fixed = 3 * H * H + H                      # S, S^T, dS and g_t
    distinct = 3 * min(V, T) * H               # u = f(E[x]), W_ih u + b, summed deltas
    return T * bytes_per_token(V, H, dtype) + item * (grads + fixed + distinct) + 4 * (T + 2 * V)


def batch_memory(vocab_size, hidden_size, lengths, dtype=np.float64):
    """Bytes one lockstep batch (one worker's share of a batch) of documents needs.

    :func:`lockstep_memory` of their total length and number.

    Parameters
    ----------
    vocab_size, hidden_size : int
        V and H.
    lengths : sequence of int
        The documents' lengths T_b.
    dtype : {numpy.float64, numpy.float32}, optional

    Returns
    -------
    int
    """
    lengths = [int(T) for T in lengths]
    return lockstep_memory(vocab_size, hidden_size, sum(lengths), len(lengths), dtype)


def lockstep_memory(vocab_size, hidden_size, tokens, documents, dtype=np.float64):
    """Bytes :meth:`~normrnn.NormRNN.batch_loss_and_grads` needs for one worker's documents.

    The lockstep kernel keeps the same per-token arrays as one document of
    the total length (no padding: see :mod:`normrnn._kernels.lockstep`), V
    rows per distinct-token array, and per document its initial and last
    state, a row of the forward-only path and its offsets.

    Parameters
    ----------
    vocab_size, hidden_size : int
        V and H.
    tokens, documents : int
        Total tokens of the documents, and how many there are.
    dtype : {numpy.float64, numpy.float32}, optional

    Returns
    -------
    int
    """
    V, H, B = int(vocab_size), int(hidden_size), int(documents)
    item = np.dtype(dtype).itemsize
    per_document = 4 * H * item + 12
    return (document_memory(V, H, int(tokens), dtype) + 3 * V * H * item
            + B * per_document + 8 * int(tokens))


def _meminfo_available():
    try:
        with open("/proc/meminfo", "rb") as fh:
            for line in fh:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


#: Where the kernel mounts the cgroup file systems.
CGROUP_ROOT = "/sys/fs/cgroup"

#: cgroup v1 writes "no limit" as a huge number (2^63 rounded down to a page,
#: 9223372036854771712 with 4 kB pages); limits from here on count as none.
CGROUP_V1_UNLIMITED = 2**62


def _read_int(path):
    with open(path) as fh:
        return int(fh.read().strip())


def _cgroup_v2_room(root):
    """Room under ``root/memory.max`` (cgroup v2), or None without a limit."""
    with open(os.path.join(root, "memory.max")) as fh:
        limit = fh.read().strip()
    if limit == "max":
        return None
    return max(int(limit) - _read_int(os.path.join(root, "memory.current")), 0)


def _cgroup_v1_room(root):
    """Room under ``root/memory/memory.limit_in_bytes`` (cgroup v1), or None without a limit."""
    folder = os.path.join(root, "memory")
    limit = _read_int(os.path.join(folder, "memory.limit_in_bytes"))
    if limit >= CGROUP_V1_UNLIMITED:
        return None
    return max(limit - _read_int(os.path.join(folder, "memory.usage_in_bytes")), 0)


def _cgroup_room(root=None):
    """Room left under a cgroup memory limit (v2, else v1), if there is one.

    Parameters
    ----------
    root : str, optional
        The cgroup mount point, :data:`CGROUP_ROOT` by default.

    Returns
    -------
    int or None
        None when no limit applies or none can be read.
    """
    root = CGROUP_ROOT if root is None else root
    for room in (_cgroup_v2_room, _cgroup_v1_room):
        try:
            return room(root)
        except (OSError, ValueError):
            continue
    return None


def _sysconf_available():
    for pages in ("SC_AVPHYS_PAGES", "SC_PHYS_PAGES"):
        try:
            n, size = os.sysconf(pages), os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            continue
        if n > 0 and size > 0:
            return n * size
    return None


def available_memory():
    """Bytes of memory this process can still allocate without swapping, or None.

    Linux's estimate ``MemAvailable`` (free memory plus caches it can drop),
    capped by the room under a cgroup memory limit if one applies (cgroup v2's
    ``memory.max`` less ``memory.current``, or cgroup v1's
    ``memory/memory.limit_in_bytes`` less ``memory.usage_in_bytes``); elsewhere the free physical
    pages from ``os.sysconf`` (``SC_AVPHYS_PAGES``, else all of physical
    memory, ``SC_PHYS_PAGES``).  None when none of these can be read.

    Returns
    -------
    int or None
    """
    available = _meminfo_available()
    if available is None:
        available = _sysconf_available()
    room = _cgroup_room()
    if room is not None:
        available = room if available is None else min(available, room)
    return available


def require_memory(needed, what, remedy):
    """Raise ``MemoryError`` if ``needed`` bytes exceed :func:`available_memory`.

    Needs under :data:`CHECK_ABOVE` are not checked.

    Parameters
    ----------
    needed : int
        Bytes the computation will allocate.
    what : str
        The computation, for the message (``"loss_and_grads of 5,000,000 tokens"``).
    remedy : str
        What to do instead, for the message.

    Raises
    ------
    MemoryError
        ``"<what> needs <size> of memory, but <size> is available: <remedy>"``.
    """
    if needed < CHECK_ABOVE:
        return
    available = available_memory()
    if available is not None and needed > available:
        raise MemoryError(f"{what} needs {format_bytes(needed)} of memory, but "
                          f"{format_bytes(available)} is available: {remedy}")


#: What to do instead, after a refused call on one document.
DOCUMENT_REMEDY = ("read it in pieces, passing each piece's last state (return_last_state=True) "
                   "as the next piece's initial_state: truncated BPTT, as normrnn.training "
                   "does (normrnn.training.evaluate computes a long document's loss that way)")
#: What to do instead, after a refused call on a batch.
BATCH_REMEDY = ("pass fewer or shorter documents per call, or read long ones in pieces "
                "with initial_states and return_last_states (truncated BPTT)")


def require_document_memory(method, vocab_size, hidden_size, dtype, lengths):
    """:func:`require_memory` for ``method`` of :class:`~normrnn.NormRNN` on one document.

    Parameters
    ----------
    method : str
        The method's name, for the message.
    vocab_size, hidden_size : int
        V and H.
    dtype : numpy.dtype
    lengths : sequence of int
        The longest document of each thread at work.

    Raises
    ------
    MemoryError
        Naming the document's length, V, H, the dtype, the bytes per token and
        :data:`DOCUMENT_REMEDY`.
    """
    dtype = np.dtype(dtype)
    needed = sum(document_memory(vocab_size, hidden_size, T, dtype) for T in lengths)
    threads = f", on {len(lengths)} threads" if len(lengths) > 1 else ""
    require_memory(
        needed, f"{method} of a document of {max(lengths):,} tokens at V={vocab_size}, "
        f"H={hidden_size}, {dtype.name} "
        f"({format_bytes(bytes_per_token(vocab_size, hidden_size, dtype))} per token{threads})",
        DOCUMENT_REMEDY)


def require_batch_memory(method, vocab_size, hidden_size, dtype, groups, documents, longest):
    """:func:`require_memory` for ``method`` of :class:`~normrnn.NormRNN` on a batch.

    Parameters
    ----------
    method : str
        The method's name, for the message.
    vocab_size, hidden_size : int
        V and H.
    dtype : numpy.dtype
    groups : sequence of sequence of int
        The lengths of the documents each thread reads at once (its largest group).
    documents, longest : int
        The batch's size and its longest document, for the message.

    Raises
    ------
    MemoryError
        Naming the batch, V, H, the dtype, the tokens read at once and
        :data:`BATCH_REMEDY`.
    """
    dtype = np.dtype(dtype)
    needed = sum(batch_memory(vocab_size, hidden_size, lengths, dtype) for lengths in groups)
    threads = f" on {len(groups)} threads" if len(groups) > 1 else ""
    require_memory(
        needed, f"{method} of {documents:,} documents, the longest of {longest:,} "
        f"tokens, at V={vocab_size}, H={hidden_size}, {dtype.name} "
        f"({format_bytes(bytes_per_token(vocab_size, hidden_size, dtype))} per token, "
        f"{sum(map(sum, groups)):,} tokens at once{threads})",
        BATCH_REMEDY)
