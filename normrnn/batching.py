"""The batch scheduler and the kernels' per-thread workspaces, under :class:`~normrnn.NormRNN`.

:func:`run_batch` reads a checked batch of documents with the lockstep
kernels: :class:`Lockstep` sorts it longest first and deals it among the
workers, each reading its share in groups of :data:`LOCKSTEP_GROUP`, into its
own gradient buffers, summed in worker order (reproducible for a given thread
count).  The kernels' scratch space is kept per thread (:func:`workspace`,
:func:`lockstep_workspace`) and dropped when it grew large
(:func:`release_workspaces`).
"""

import threading

import numpy as np

from ._kernels import bptt_gathered as _bptt
from ._kernels import lockstep as _lockstep
from .grads import Grads
from .memory import CHECK_ABOVE, require_batch_memory
from .parallel import map_in_order

__all__ = ["LOCKSTEP_GROUP", "Lockstep", "run_batch", "workspace", "lockstep_workspace",
           "release_workspaces"]

# Per-thread scratch space of the kernels, made once, used by every model.
_local = threading.local()


def _thread_workspace(name, kind, vocab_size, hidden_size, dtype):
    """This thread's workspace ``name`` of class ``kind`` for (V, H, dtype), made when missing."""
    key = (vocab_size, hidden_size, np.dtype(dtype))
    workspace = getattr(_local, name, None)
    if workspace is None or workspace.key != key:
        workspace = kind(*key)
        setattr(_local, name, workspace)
    return workspace


def workspace(vocab_size, hidden_size, dtype):
    """This thread's :class:`~normrnn._kernels.bptt_gathered.Workspace` for (V, H, dtype)."""
    return _thread_workspace("workspace", _bptt.Workspace, vocab_size, hidden_size, dtype)


def lockstep_workspace(vocab_size, hidden_size, dtype):
    """This thread's :class:`~normrnn._kernels.lockstep.LockstepWorkspace` for (V, H, dtype)."""
    return _thread_workspace("lockstep", _lockstep.LockstepWorkspace, vocab_size, hidden_size,
                             dtype)


def release_workspaces():
    """Drop this thread's workspaces if one holds more than :data:`~normrnn.memory.CHECK_ABOVE`.

    A workspace grows to the longest document (or largest batch) it has read;
    one that a very long document made large would otherwise keep its memory
    for good.  Small ones stay, to be reused.
    """
    for name in ("workspace", "lockstep"):
        held = getattr(_local, name, None)
        if held is not None and sum(a.nbytes for a in vars(held).values()
                                    if isinstance(a, np.ndarray)) > CHECK_ABOVE:
            setattr(_local, name, None)


#: Documents a worker reads in lockstep at once (its share of a batch is read
#: in groups of this many, longest first).  The per-step product gains
#: little beyond a few documents (``rows_matmul.h`` reads S once per group
#: of 2 to 12 rows, as the kernel :mod:`normrnn.kernel_choice` picked has it),
#: while the arrays kept for the backward pass grow with the group: 8
#: documents of 256 tokens at H = 128 keep about 10 MB, which stays in cache
#: far better than 64 documents' 80 MB (measured on a 2-core AVX2 machine:
#: groups of 64 ran about a third slower per token than groups of 8).
LOCKSTEP_GROUP = 8


class Lockstep:
    """A checked batch, sorted longest first, split among workers and into groups.

    Worker k takes the sorted documents k, k + n, k + 2n, ...: every worker
    gets documents of about the same lengths, and its share is still sorted,
    as the lockstep kernel needs.  The share is read in consecutive groups of
    at most :data:`LOCKSTEP_GROUP` documents.
    """

    def __init__(self, docs, initial_states, n_threads, dtype, hidden_size):
        order = sorted(range(len(docs)), key=lambda b: -len(docs[b][0]))
        self.n_threads = min(n_threads, len(docs))
        self.shares = []                       # per worker, a list of groups
        for k in range(self.n_threads):
            share = order[k::self.n_threads]
            groups = []
            for start in range(0, len(share), LOCKSTEP_GROUP):
                group = share[start:start + LOCKSTEP_GROUP]
                lengths = [len(docs[b][0]) for b in group]
                offsets = np.zeros(len(group) + 1, dtype=np.int32)
                np.cumsum(lengths, out=offsets[1:])
                tokens = np.concatenate([docs[b][0] for b in group]).astype(np.int32,
                                                                               copy=False)
                titles = np.array([docs[b][1] for b in group], dtype=np.int32)
                if initial_states is None:
                    starts = np.zeros((len(group), hidden_size), dtype=dtype)
                else:
                    starts = np.ascontiguousarray(initial_states[group])
                groups.append((np.asarray(group), tokens, offsets, titles, starts, lengths))
            self.shares.append(groups)

    def largest_groups(self):
        """The lengths of each worker's largest group (by total tokens)."""
        return [max((g[5] for g in groups), key=sum) for groups in self.shares]

    def last_states(self, results, count, hidden_size, dtype):
        """The groups' last states (rows in group order), back in the batch's order."""
        out = np.empty((count, hidden_size), dtype=dtype)
        for groups, lasts in zip(self.shares, results, strict=True):
            for (indices, *_), last in zip(groups, lasts, strict=True):
                out[indices] = last
        return out


def run_batch(model, docs, initial_states, n_threads, backward, method="loss",
              phase_seconds=None):
    """A checked batch through the lockstep kernels, on ``n_threads`` workers.

    Parameters
    ----------
    model : NormRNN
        Its parameters already checked.
    docs : list of (tokens, title_length)
        Checked documents: int32 tokens in [0, V), title lengths in [0, T].
    initial_states : ndarray, shape (B, H), or None
        Checked s_0 of each document (zero when None).
    n_threads : int
        Workers (:class:`Lockstep` splits the batch among them).
    backward : bool
        Also compute the gradients (the memory is checked first).
    method : str, optional
        The calling method's name, for a refusal's message.
    phase_seconds : ndarray of float64, shape (len(lockstep.PHASES),), optional
        With ``backward``: each phase's wall seconds
        (:func:`normrnn._kernels.lockstep.batch_loss_and_grads`) are added
        into it, summed over the groups and the workers.

    Returns
    -------
    (loss, grads, last_states) or (loss, last_states)
        The summed loss, the summed :class:`~normrnn.Grads` (with
        ``backward``) and every document's s_{T-1}, row b for ``docs[b]``.
    """
    V, H, dtype = model.vocab_size, model.hidden_size, model.dtype
    batch = Lockstep(docs, initial_states, n_threads, dtype, H)
    if backward:
        require_batch_memory(method, V, H, dtype, batch.largest_groups(), len(docs),
                             max(len(tokens) for tokens, _ in docs))
    stop = threading.Event()

    def run(worker):
        # one worker: its groups one after the other, into its own buffers
        grads = Grads.zeros_like(model) if backward else None
        phases = None if phase_seconds is None else np.zeros_like(phase_seconds)
        loss, lasts = 0.0, []
        try:
            workspace = lockstep_workspace(V, H, dtype)
            for _, tokens, offsets, titles, starts, _ in batch.shares[worker]:
                if stop.is_set():             # the caller was interrupted
                    return None
                last = np.empty_like(starts)
                if backward:
                    loss += _lockstep.batch_loss_and_grads(
                        model.embedding, model.ih, model.hh, model.bias, model.gain, tokens,
                        offsets, titles, starts, grads.embedding, grads.ih, grads.hh,
                        grads.bias, grads.gain, last, workspace, stop=stop,
                        phase_seconds=phases)
                else:
                    loss += _lockstep.batch_loss(
                        model.embedding, model.ih, model.hh, model.bias, model.gain, tokens,
                        offsets, titles, starts, last, workspace, stop=stop)
                lasts.append(last)
            return loss, grads, lasts, phases
        finally:
            release_workspaces()

    results = map_in_order(run, range(batch.n_threads), batch.n_threads, stop=stop)
    loss, total, _, _ = results[0]
    for worker_loss, grads, _, _ in results[1:]:   # fixed order: reproducible sums
        loss += worker_loss
        if backward:
            for name, g in grads.items():
                getattr(total, name)[...] += g
    if phase_seconds is not None:
        for *_, phases in results:
            phase_seconds += phases
    last = batch.last_states([r[2] for r in results], len(docs), H, dtype)
    return (loss, total, last) if backward else (loss, last)
