"""The model: parameters, loss and gradients of one document, or of many."""

import numpy as np

from . import _validate, sections
from ._kernels import bptt_gathered as _bptt
from ._kernels import lockstep as _lockstep
from .batching import lockstep_workspace, release_workspaces, run_batch, workspace
# where they were first: normrnn.model.LOCKSTEP_GROUP, and the workspaces normrnn.bench clears
from .batching import LOCKSTEP_GROUP, _local  # noqa: F401
from .grads import LEARNED_GAIN_PARAMETER_NAMES, PARAMETER_NAMES, Grads
from .memory import require_document_memory
from .parallel import document_blas
from .step import Step

#: The two settings of :class:`NormRNN`'s ``gain``.
GAINS = _validate.GAINS


def _sequence(documents):
    """``list(documents)``, or a TypeError that says what a batch is."""
    if not isinstance(documents, (str, bytes)):
        try:
            return list(documents)
        except TypeError:
            pass
    raise TypeError("documents must be a sequence of (tokens, title_length) pairs, "
                    f"got {type(documents).__name__}")


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
        loss, last = run_batch(self, docs, initial_state[None, :], 1, backward=False)
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
        require_document_memory("loss_and_grads", *self._key, [len(tokens)])
        grads = Grads.zeros_like(self)
        try:
            with document_blas(len(tokens)):
                loss, states = self._run_document(tokens, title_length, initial_state, grads)
        finally:
            release_workspaces()
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
        require_document_memory("states", *self._key, [len(tokens)])
        states = np.empty((len(tokens), self.hidden_size), dtype=self.dtype)
        try:
            with document_blas(len(tokens)):
                _bptt.document_states(self.embedding, self.ih, self.hh, self.bias, tokens,
                                      initial_state, states, workspace(*self._key), self.gain)
        finally:
            release_workspaces()
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
                             state[np.newaxis], last, lockstep_workspace(*self._key),
                             read_last=True)
        return last[0]

    @property
    def _key(self):
        return self.vocab_size, self.hidden_size, self.dtype

    def _run_document(self, tokens, title_length, initial_state, grads):
        """The unchecked kernel call: loss and states; gradients added into ``grads``."""
        states = np.empty((len(tokens), self.hidden_size), dtype=self.dtype)
        loss = _bptt.document_loss_and_grads(
            self.embedding, self.ih, self.hh, self.bias, tokens, title_length,
            initial_state, grads.embedding, grads.ih, grads.hh, grads.bias, states,
            workspace(*self._key), self.gain, grads.gain)
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
        :data:`~normrnn.batching.LOCKSTEP_GROUP`, with the GIL released, into its own gradient
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
        result = run_batch(self, docs, initial_states, n_threads, backward, method)
        if backward:
            loss, grads, last = result
            return (loss, grads, last) if return_last_states else (loss, grads)
        loss, last = result
        return (loss, last) if return_last_states else loss
