"""The model: parameters, loss and gradients of one document, or of many."""

import threading
from dataclasses import dataclass

import numpy as np

from . import _validate, sections
from ._kernels import bptt_gathered as _bptt
from ._kernels import lockstep as _lockstep
from .memory import (CHECK_ABOVE, batch_memory, bytes_per_token, document_memory,
                     format_bytes, require_memory)
from .parallel import document_blas, map_in_order
from .step import Step

#: The parameters of the notes' model (``gain="fixed"``), in order.
PARAMETER_NAMES = ("embedding", "ih", "hh", "bias")
#: The parameters of a model with ``gain="learned"``: one more, the gain gamma (H,).
LEARNED_GAIN_PARAMETER_NAMES = PARAMETER_NAMES + ("gain",)
#: The two settings of :class:`NormRNN`'s ``gain``.
GAINS = _validate.GAINS

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


def _workspace(vocab_size, hidden_size, dtype):
    """This thread's :class:`~normrnn._kernels.bptt_gathered.Workspace` for (V, H, dtype)."""
    return _thread_workspace("workspace", _bptt.Workspace, vocab_size, hidden_size, dtype)


def _lockstep_workspace(vocab_size, hidden_size, dtype):
    """This thread's :class:`~normrnn._kernels.lockstep.LockstepWorkspace` for (V, H, dtype)."""
    return _thread_workspace("lockstep", _lockstep.LockstepWorkspace, vocab_size, hidden_size,
                             dtype)


def _release_workspace():
    """Drop this thread's workspaces if one holds more than :data:`~normrnn.memory.CHECK_ABOVE`.

    A workspace grows to the longest document (or largest batch) it has read;
    one that a very long document made large would otherwise keep its memory
    for good.  Small ones stay, to be reused.
    """
    for name in ("workspace", "lockstep"):
        workspace = getattr(_local, name, None)
        if workspace is not None and sum(a.nbytes for a in vars(workspace).values()
                                         if isinstance(a, np.ndarray)) > CHECK_ABOVE:
            setattr(_local, name, None)


_REMEDY = ("read it in pieces, passing each piece's last state (return_last_state=True) "
           "as the next piece's initial_state: truncated BPTT, as normrnn.training does "
           "(normrnn.training.evaluate computes a long document's loss that way)")
_BATCH_REMEDY = ("pass fewer or shorter documents per call, or read long ones in pieces "
                 "with initial_states and return_last_states (truncated BPTT)")


def _sequence(documents):
    """``list(documents)``, or a TypeError that says what a batch is."""
    if not isinstance(documents, (str, bytes)):
        try:
            return list(documents)
        except TypeError:
            pass
    raise TypeError("documents must be a sequence of (tokens, title_length) pairs, "
                    f"got {type(documents).__name__}")


#: Documents a worker reads in lockstep at once (its share of a batch is read
#: in groups of this many, longest first).  The per-step product gains
#: little beyond a few documents (``rows_matmul.h`` reads S once per four),
#: while the arrays kept for the backward pass grow with the group: 8
#: documents of 256 tokens at H = 128 keep about 10 MB, which stays in cache
#: far better than 64 documents' 80 MB (measured on a 2-core AVX2 machine:
#: groups of 64 ran about a third slower per token than groups of 8).
LOCKSTEP_GROUP = 8


class _Lockstep:
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


@dataclass
class Grads:
    """Gradients of the loss, one array per parameter, shaped like it.

    Attributes
    ----------
    embedding : ndarray, shape (V, H)
    ih : ndarray, shape (H, H)
    hh : ndarray, shape (H, H)
    bias : ndarray, shape (H,)
    gain : ndarray, shape (H,), or None
        The learned gain's gradient; None for a model with ``gain="fixed"``,
        which has no such parameter.
    """

    embedding: np.ndarray
    ih: np.ndarray
    hh: np.ndarray
    bias: np.ndarray
    gain: np.ndarray | None = None

    def items(self):
        """``(name, array)`` pairs of the model's parameters, in their order.

        :data:`PARAMETER_NAMES`, then ``gain`` if it is not None.
        """
        names = PARAMETER_NAMES if self.gain is None else LEARNED_GAIN_PARAMETER_NAMES
        return [(name, getattr(self, name)) for name in names]

    def as_dict(self):
        """The gradients as a ``dict`` keyed by parameter name."""
        return dict(self.items())

    @classmethod
    def zeros_like(cls, model):
        """Zero gradients shaped like ``model``'s parameters."""
        return cls(**{name: np.zeros_like(getattr(model, name))
                      for name in model.parameter_names})


class NormRNN:
    """A recurrent language model with a tied embedding and row-normalised ``hh``.

    The model (derived on the docs' *Model* page)::

        s_0 = 0
        s_{t+1} = f(S s_t + W_ih f(E[x_t]) + b),   S[i] = hh[i] / (H ||hh[i]||)
        L = sum over t >= m of -log softmax(E s_t)[x_t]

    with f(x) = 1 - 1/(x^2 + x + 1) and m the title length.  With
    ``gain="learned"``, S[i] = gamma_i hh[i] / ||hh[i]|| instead (weight
    normalisation): the fixed 1/H becomes a parameter gamma, one per row, that
    starts at 1/H, so the model starts exactly where the fixed one does.

    Parameters
    ----------
    vocab_size : int
        V, the number of token ids.
    hidden_size : int
        H, the width of the state and of the embedding.
    seed : int or None, optional
        Seed of the initialisation.
    dtype : {numpy.float64, numpy.float32}, optional
        Floating type of the parameters, gradients and computation.
    gain : {"fixed", "learned"}, optional
        "fixed" (the default): every row of S has norm 1/H.  "learned": row i
        has norm |gamma_i|, gamma a parameter of shape (H,) initialised at 1/H.  Any
        finite gamma_i is allowed: zero switches off unit i's recurrent input (its
        row of S is zero, and ``hh[i]`` gets no gradient while gamma_i still
        does), a negative gamma_i flips the row's sign.  NaN or inf is refused.

    Attributes
    ----------
    embedding : ndarray, shape (V, H)
        Token embedding, tied between input and output.
    ih : ndarray, shape (H, H)
        Input-to-hidden weights.
    hh : ndarray, shape (H, H)
        Hidden-to-hidden weights, used only row-normalised.
    bias : ndarray, shape (H,)
        Hidden bias.
    gain : ndarray, shape (H,), or None
        The learned gain gamma; None with ``gain="fixed"``.

    Notes
    -----
    The parameters are plain writable C-contiguous arrays: assign into them
    (``model.ih[...] = w``) to set them.  Every method checks them before the
    unchecked kernels run.

    **Memory.**  A document of T tokens costs (4 H + V) numbers per token
    (s_t, a_t, delta_t, E^T dz_t and the logits): ``(4 H + V) x 8`` bytes in
    float64, 4 in float32, plus O(V H + H^2) (:func:`normrnn.memory.document_memory`).
    A call that needs more than the machine has available is refused with a
    ``MemoryError`` naming both sizes before anything is allocated; scratch
    space above 64 MiB is released when the call returns.  Read longer
    documents in pieces, carrying the state (``initial_state``,
    ``return_last_state``): that is truncated BPTT, and its loss is exact.
    """

    def __init__(self, vocab_size, hidden_size, *, seed=None, dtype=np.float64, gain="fixed"):
        V = _validate.positive_int(vocab_size, "vocab_size")
        H = _validate.positive_int(hidden_size, "hidden_size")
        dt = _validate.float_dtype(dtype)
        _validate.gain_choice(gain)
        try:
            rng = np.random.default_rng(seed)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"seed must be None or a non-negative integer, got {seed!r}") from None
        self.embedding = rng.normal(0.0, 1.0, (V, H)).astype(dt)
        self.ih = rng.normal(0.0, 1.0 / np.sqrt(H), (H, H)).astype(dt)
        # any nonzero rows will do: only their directions reach the model
        self.hh = rng.normal(0.0, 1.0, (H, H)).astype(dt)
        self.bias = np.zeros(H, dtype=dt)
        # drawn from no generator: the other parameters are the fixed model's
        self.gain = np.full(H, 1.0 / H, dtype=dt) if gain == "learned" else None

    # --- shapes ---------------------------------------------------------------
    @property
    def vocab_size(self):
        """V, the number of rows of :attr:`embedding`."""
        return self.embedding.shape[0]

    @property
    def hidden_size(self):
        """H, the number of columns of :attr:`embedding`."""
        return self.embedding.shape[1]

    @property
    def dtype(self):
        """The floating type of every parameter."""
        return self.embedding.dtype

    @property
    def gain_mode(self):
        """``"learned"`` if the model has a gain parameter, else ``"fixed"``."""
        return "fixed" if self.gain is None else "learned"

    @property
    def parameter_names(self):
        """:data:`PARAMETER_NAMES`, or :data:`LEARNED_GAIN_PARAMETER_NAMES` with a learned gain."""
        return PARAMETER_NAMES if self.gain is None else LEARNED_GAIN_PARAMETER_NAMES

    def __repr__(self):
        gain = "" if self.gain is None else ', gain="learned"'
        return (f"NormRNN(vocab_size={self.vocab_size}, hidden_size={self.hidden_size}, "
                f"dtype=numpy.{self.dtype.name}{gain})")

    def parameters(self):
        """The live parameter arrays, as a ``dict`` in :attr:`parameter_names` order."""
        return {name: getattr(self, name) for name in self.parameter_names}

    def copy(self):
        """A deep copy of the model."""
        other = object.__new__(type(self))
        other.gain = None
        for name in self.parameter_names:
            setattr(other, name, getattr(self, name).copy())
        return other

    def scaled_hh(self):
        """S, the matrix the recurrence multiplies the state by, shape (H, H).

        S[i] = hh[i] / (H ||hh[i]||), or gamma_i hh[i] / ||hh[i]|| with a learned
        gain; computed by the same kernels as the loss.
        """
        self.check_parameters()
        if self.gain is None:
            return sections.row_normalise(self.hh)
        return sections.gain_forward(self.hh, self.gain)

    # --- checks ---------------------------------------------------------------
    def check_parameters(self):
        """Raise ``TypeError``/``ValueError`` unless the parameters are usable.

        Checks dtype (float32 or float64, all the same), shape, C-contiguity,
        finiteness (of ``gain`` too, when learned), and that no row of ``hh``
        is zero.
        """
        if not isinstance(self.embedding, np.ndarray):
            raise TypeError(f"embedding must be a numpy.ndarray, got {type(self.embedding).__name__}")
        dt = _validate.float_dtype(self.embedding.dtype, "embedding.dtype")
        if self.embedding.ndim != 2:
            raise ValueError(f"embedding must be 2-D, shape (V, H), got shape {self.embedding.shape}")
        V, H = self.embedding.shape
        if V < 1 or H < 1:
            raise ValueError(f"embedding must have V, H >= 1, got shape {(V, H)}")
        _validate.array(self.embedding, "embedding", dtype=dt, shape=(V, H))
        _validate.array(self.ih, "ih", dtype=dt, shape=(H, H))
        _validate.array(self.hh, "hh", dtype=dt, shape=(H, H))
        _validate.array(self.bias, "bias", dtype=dt, shape=(H,))
        if self.gain is not None:
            _validate.array(self.gain, "gain", dtype=dt, shape=(H,))
        _validate.nonzero_rows(self.hh, "hh")

    def _document(self, tokens, title_length, initial_state):
        tokens = _validate.tokens(tokens, self.vocab_size)
        title_length = _validate.in_range(title_length, "title_length", 0, len(tokens) + 1)
        if initial_state is None:
            initial_state = np.zeros(self.hidden_size, dtype=self.dtype)
        else:
            _validate.array(initial_state, "initial_state", dtype=self.dtype,
                            shape=(self.hidden_size,))
        return tokens, title_length, initial_state

    def _batch_document(self, i, document):
        """Check ``documents[i]`` of a batch; errors name the document."""
        try:
            tokens, title_length = document
        except (TypeError, ValueError):
            raise TypeError(f"documents[{i}] must be a (tokens, title_length) pair, "
                            f"got {type(document).__name__}") from None
        try:
            return self._document(tokens, title_length, None)[:2]
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"documents[{i}]: {exc}") from None

    # --- one document ---------------------------------------------------------
    def loss(self, tokens, title_length, *, initial_state=None, return_last_state=False):
        """Loss of one document: summed -log p over the text positions.

        Forward only (:func:`normrnn._kernels.lockstep.batch_loss` with one
        document): nothing is kept for a backward pass, so it is several
        times faster than :meth:`loss_and_grads` and its memory does not grow
        with the document.

        Parameters
        ----------
        tokens : sequence of int
            x_0 .. x_{T-1}, each in [0, V), T >= 1: the title, then the text.
        title_length : int
            m in [0, T]: positions t < m (the title) condition but carry no loss.
        initial_state : ndarray, shape (H,), optional
            s_0 (zero by default); truncated BPTT passes the carried state.
        return_last_state : bool, optional
            Also return s_{T-1}, as :meth:`loss_and_grads` does.

        Returns
        -------
        loss : float
            L = sum_{t=m}^{T-1} -log softmax(E s_t)[x_t], in nats.
        last_state : ndarray, shape (H,)
            Only if ``return_last_state``.
        """
        self.check_parameters()
        tokens, title_length, initial_state = self._document(tokens, title_length, initial_state)
        docs = [(tokens, title_length)]
        loss, last = self._run_batch(docs, initial_state[None, :], 1, backward=False)
        if return_last_state:
            return loss, last[0]
        return loss

    def loss_and_grads(self, tokens, title_length, *, initial_state=None,
                       return_last_state=False):
        """Loss of one document and its gradient with respect to every parameter.

        Forward and backpropagation through time run in one Cython call
        (:func:`normrnn._kernels.bptt_gathered.document_loss_and_grads`), with no Python
        per token.  BLAS runs on one thread unless the document has at least
        :data:`normrnn.parallel.LONG_DOCUMENT` tokens (see :mod:`normrnn.parallel`):
        a Python loop of short documents would otherwise oversubscribe the cores.

        Parameters
        ----------
        tokens, title_length, initial_state
            As in :meth:`loss`.  No gradient flows into ``initial_state``.
        return_last_state : bool, optional
            Also return s_{T-1}, the state that has read all but the last
            token: the carried state of truncated BPTT.

        Returns
        -------
        loss : float
        grads : Grads
        last_state : ndarray, shape (H,)
            Only if ``return_last_state``.
        """
        self.check_parameters()
        tokens, title_length, initial_state = self._document(tokens, title_length, initial_state)
        self._require_memory("loss_and_grads", [len(tokens)])
        grads = Grads.zeros_like(self)
        try:
            with document_blas(len(tokens)):
                loss, states = self._run_document(tokens, title_length, initial_state, grads)
        finally:
            _release_workspace()
        if return_last_state:
            return loss, grads, states[-1].copy()
        return loss, grads

    def states(self, tokens, *, initial_state=None):
        """The hidden states s_0 .. s_{T-1} while reading ``tokens``, shape (T, H).

        s_{T-1} has read all but the last token; :meth:`final_state` gives the
        state after the last one, s_T, without keeping the others.
        """
        self.check_parameters()
        tokens, _, initial_state = self._document(tokens, 0, initial_state)
        self._require_memory("states", [len(tokens)])
        states = np.empty((len(tokens), self.hidden_size), dtype=self.dtype)
        try:
            with document_blas(len(tokens)):
                _bptt.document_states(self.embedding, self.ih, self.hh, self.bias, tokens,
                                      initial_state, states, _workspace(*self._key), self.gain)
        finally:
            _release_workspace()
        return states

    def final_state(self, tokens, *, initial_state=None):
        """s_T, the state after reading every token of ``tokens``, shape (H,).

        One step per token (:func:`normrnn._kernels.lockstep.batch_loss` with
        ``read_last``, scoring nothing), no logits, nothing kept: what a sampler needs to read a prompt.

        Parameters
        ----------
        tokens : sequence of int
            x_0 .. x_{T-1}, T >= 1.
        initial_state : ndarray, shape (H,), optional
            s_0 (zero by default).

        Returns
        -------
        ndarray, shape (H,)
        """
        self.check_parameters()
        tokens, _, initial_state = self._document(tokens, 0, initial_state)
        return self._read(tokens, initial_state)

    def _read(self, tokens, state):
        """The unchecked kernel call of :meth:`final_state`: a new array, s_T."""
        T = len(tokens)
        last = np.empty((1, self.hidden_size), dtype=self.dtype)
        _lockstep.batch_loss(self.embedding, self.ih, self.hh, self.bias, self.gain, tokens,
                             np.array([0, T], dtype=np.int32), np.array([T], dtype=np.int32),
                             state[np.newaxis], last, _lockstep_workspace(*self._key),
                             read_last=True)
        return last[0]

    @property
    def _key(self):
        return self.vocab_size, self.hidden_size, self.dtype

    def _require_memory(self, method, lengths):
        """Refuse, before allocating, documents that need more memory than there is.

        ``lengths`` holds the longest document of each thread at work.
        """
        V, H, dtype = self._key
        needed = sum(document_memory(V, H, T, dtype) for T in lengths)
        longest = max(lengths)
        require_memory(
            needed, f"{method} of a document of {longest:,} tokens at V={V}, H={H}, {dtype.name} "
            f"({format_bytes(bytes_per_token(V, H, dtype))} per token"
            f"{f', on {len(lengths)} threads' if len(lengths) > 1 else ''})", _REMEDY)

    def _run_document(self, tokens, title_length, initial_state, grads):
        """The unchecked kernel call: loss and states; gradients added into ``grads``."""
        states = np.empty((len(tokens), self.hidden_size), dtype=self.dtype)
        loss = _bptt.document_loss_and_grads(
            self.embedding, self.ih, self.hh, self.bias, tokens, title_length,
            initial_state, grads.embedding, grads.ih, grads.hh, grads.bias, states,
            _workspace(*self._key), self.gain, grads.gain)
        return loss, states

    def stepper(self):
        """The model one token at a time, checked once: a :class:`~normrnn.step.Step`.

        Its ``next_state`` and ``probabilities`` are :meth:`next_state` and
        :meth:`probabilities` without the checks, for a loop of many steps
        (sampling).  It holds S, computed now: change the parameters, make
        another.
        """
        self.check_parameters()
        return Step(self)

    def next_state(self, state, token):
        """One step of the recurrence: f(S s + W_ih f(E[x]) + b), shape (H,).

        Checks the parameters and arguments, then :meth:`Step.next_state
        <normrnn.step.Step.next_state>`.
        """
        step = self.stepper()
        _validate.array(state, "state", dtype=self.dtype, shape=(self.hidden_size,))
        token = _validate.in_range(token, "token", 0, self.vocab_size)
        return step.next_state(state, token)

    def probabilities(self, state, *, temperature=1.0):
        """softmax(E s / temperature), the next-token distribution, shape (V,), float64.

        Checks the parameters and arguments, then :meth:`Step.probabilities
        <normrnn.step.Step.probabilities>`.
        """
        step = self.stepper()
        _validate.array(state, "state", dtype=self.dtype, shape=(self.hidden_size,))
        return step.probabilities(state, _validate.temperature(temperature))

    # --- many documents -------------------------------------------------------
    def batch_loss_and_grads(self, documents, *, n_threads=1, initial_states=None,
                             return_last_states=False):
        """Summed loss and gradients over several documents, read in lockstep.

        The documents are sorted by length, longest first, and read together
        by :func:`normrnn._kernels.lockstep.batch_loss_and_grads`: at every
        step the states of all documents still reading are multiplied by S at
        once, which reads S once for the batch instead of once per document.
        Worker k of ``n_threads`` takes the sorted documents k, k + n,
        k + 2n, ... and reads them in lockstep groups of up to
        :data:`LOCKSTEP_GROUP`, with the GIL released, into its own gradient
        buffers; the buffers are then summed in worker order.
        The split and the order are fixed, so a run is reproducible for a
        given ``n_threads`` (different thread counts differ only by the
        rounding of reordered sums).  BLAS runs on one thread meanwhile
        (:mod:`normrnn.parallel`).

        Parameters
        ----------
        documents : sequence of (tokens, title_length)
        n_threads : int, optional
            Number of threads (lockstep sub-batches computed at once).
        initial_states : ndarray, shape (B, H), optional
            s_0 of each document (zero by default), as ``initial_state`` of
            :meth:`loss_and_grads`; no gradient flows into them.
        return_last_states : bool, optional
            Also return each document's s_{T-1} (the state that has read all
            but its last token), row b for ``documents[b]``.

        Returns
        -------
        loss : float
            The sum of the documents' losses.
        grads : Grads
            The sum of their gradients.
        last_states : ndarray, shape (B, H)
            Only if ``return_last_states``.
        """
        return self._batch("batch_loss_and_grads", documents, n_threads, initial_states,
                           return_last_states, backward=True)

    def batch_loss(self, documents, *, n_threads=1, initial_states=None,
                   return_last_states=False):
        """Summed loss of several documents, forward only, in lockstep.

        :meth:`batch_loss_and_grads` without the gradients
        (:func:`normrnn._kernels.lockstep.batch_loss`): nothing is kept for a
        backward pass, so it is several times faster per token and its memory
        is O(B (H + V)) whatever the documents' lengths.  Same arguments.

        Returns
        -------
        loss : float
        last_states : ndarray, shape (B, H)
            Only if ``return_last_states``.
        """
        return self._batch("batch_loss", documents, n_threads, initial_states,
                           return_last_states, backward=False)

    def _batch(self, method, documents, n_threads, initial_states, return_last_states,
               backward):
        self.check_parameters()
        n_threads = _validate.positive_int(n_threads, "n_threads")
        docs = [self._batch_document(i, doc) for i, doc in enumerate(_sequence(documents))]
        if not docs:
            raise ValueError("documents must hold at least one (tokens, title_length) pair")
        if initial_states is not None:
            _validate.array(initial_states, "initial_states", dtype=self.dtype,
                            shape=(len(docs), self.hidden_size))
        result = self._run_batch(docs, initial_states, n_threads, backward, method)
        if backward:
            loss, grads, last = result
            return (loss, grads, last) if return_last_states else (loss, grads)
        loss, last = result
        return (loss, last) if return_last_states else loss

    def _run_batch(self, docs, initial_states, n_threads, backward, method="loss"):
        """The checked batch through the lockstep kernels: (loss[, grads], last_states)."""
        V, H, dtype = self._key
        batch = _Lockstep(docs, initial_states, n_threads, dtype, H)
        if backward:
            groups = batch.largest_groups()
            needed = sum(batch_memory(V, H, lengths, dtype) for lengths in groups)
            longest = max(len(tokens) for tokens, _ in docs)
            require_memory(
                needed, f"{method} of {len(docs):,} documents, the longest of {longest:,} "
                f"tokens, at V={V}, H={H}, {dtype.name} "
                f"({format_bytes(bytes_per_token(V, H, dtype))} per token, "
                f"{sum(map(sum, groups)):,} tokens at once"
                f"{f' on {batch.n_threads} threads' if batch.n_threads > 1 else ''})",
                _BATCH_REMEDY)
        stop = threading.Event()

        def run(worker):
            # one worker: its groups one after the other, into its own buffers
            grads = Grads.zeros_like(self) if backward else None
            loss, lasts = 0.0, []
            try:
                workspace = _lockstep_workspace(V, H, dtype)
                for _, tokens, offsets, titles, starts, _ in batch.shares[worker]:
                    if stop.is_set():             # the caller was interrupted
                        return None
                    last = np.empty_like(starts)
                    if backward:
                        loss += _lockstep.batch_loss_and_grads(
                            self.embedding, self.ih, self.hh, self.bias, self.gain, tokens,
                            offsets, titles, starts, grads.embedding, grads.ih, grads.hh,
                            grads.bias, grads.gain, last, workspace, stop=stop)
                    else:
                        loss += _lockstep.batch_loss(
                            self.embedding, self.ih, self.hh, self.bias, self.gain, tokens,
                            offsets, titles, starts, last, workspace, stop=stop)
                    lasts.append(last)
                return loss, grads, lasts
            finally:
                _release_workspace()

        results = map_in_order(run, range(batch.n_threads), batch.n_threads, stop=stop)
        loss, total, _ = results[0]
        for worker_loss, grads, _ in results[1:]:   # fixed order: reproducible sums
            loss += worker_loss
            if backward:
                for name, g in grads.items():
                    getattr(total, name)[...] += g
        last = batch.last_states([r[2] for r in results], len(docs), H, dtype)
        return (loss, total, last) if backward else (loss, last)
