"""The model: parameters, loss and gradients of one document, or of many."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from . import _validate
from ._kernels import bptt as _bptt

PARAMETER_NAMES = ("embedding", "ih", "hh", "bias")


@dataclass
class Grads:
    """Gradients of the loss, one array per parameter, shaped like it.

    Attributes
    ----------
    embedding : ndarray, shape (V, H)
    ih : ndarray, shape (H, H)
    hh : ndarray, shape (H, H)
    bias : ndarray, shape (H,)
    """

    embedding: np.ndarray
    ih: np.ndarray
    hh: np.ndarray
    bias: np.ndarray

    def items(self):
        """``(name, array)`` pairs in the order of :data:`PARAMETER_NAMES`."""
        return [(name, getattr(self, name)) for name in PARAMETER_NAMES]

    def as_dict(self):
        """The gradients as a ``dict`` keyed by parameter name."""
        return dict(self.items())

    @classmethod
    def zeros_like(cls, model):
        """Zero gradients shaped like ``model``'s parameters."""
        return cls(*(np.zeros_like(getattr(model, name)) for name in PARAMETER_NAMES))


class NormRNN:
    """A recurrent language model with a tied embedding and row-normalised ``hh``.

    The model of ``MATH.md``::

        s_0 = 0
        s_{t+1} = f(S s_t + W_ih f(E[x_t]) + b),   S[i] = hh[i] / (H ||hh[i]||)
        L = sum over t >= m of -log softmax(E s_t)[x_t]

    with f(x) = 1 - 1/(x^2 + x + 1) and m the title length.

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

    Notes
    -----
    The parameters are plain writable C-contiguous arrays: assign into them
    (``model.ih[...] = w``) to set them.  Every method checks them before the
    unchecked kernels run.
    """

    def __init__(self, vocab_size, hidden_size, *, seed=None, dtype=np.float64):
        V = _validate.positive_int(vocab_size, "vocab_size")
        H = _validate.positive_int(hidden_size, "hidden_size")
        dt = _validate.float_dtype(dtype)
        rng = np.random.default_rng(seed)
        self.embedding = rng.normal(0.0, 1.0, (V, H)).astype(dt)
        self.ih = rng.normal(0.0, 1.0 / np.sqrt(H), (H, H)).astype(dt)
        # any nonzero rows will do: only their directions reach the model
        self.hh = rng.normal(0.0, 1.0, (H, H)).astype(dt)
        self.bias = np.zeros(H, dtype=dt)

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

    def __repr__(self):
        return (f"NormRNN(vocab_size={self.vocab_size}, hidden_size={self.hidden_size}, "
                f"dtype=numpy.{self.dtype.name})")

    def parameters(self):
        """The live parameter arrays, as a ``dict`` in :data:`PARAMETER_NAMES` order."""
        return {name: getattr(self, name) for name in PARAMETER_NAMES}

    def copy(self):
        """A deep copy of the model."""
        other = object.__new__(type(self))
        for name in PARAMETER_NAMES:
            setattr(other, name, getattr(self, name).copy())
        return other

    # --- checks ---------------------------------------------------------------
    def check_parameters(self):
        """Raise ``TypeError``/``ValueError`` unless the parameters are usable.

        Checks dtype (float32 or float64, all the same), shape, C-contiguity,
        finiteness, and that no row of ``hh`` is zero.
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
        _validate.nonzero_rows(self.hh, "hh")

    def _document(self, tokens, title_length, initial_state):
        tokens = _validate.tokens(tokens, self.vocab_size)
        title_length = _validate.index(title_length, "title_length", 0, len(tokens))
        if initial_state is None:
            initial_state = np.zeros(self.hidden_size, dtype=self.dtype)
        else:
            _validate.array(initial_state, "initial_state", dtype=self.dtype,
                            shape=(self.hidden_size,))
        return tokens, title_length, initial_state

    # --- one document ---------------------------------------------------------
    def loss(self, tokens, title_length, *, initial_state=None):
        """Loss of one document: summed -log p over the text positions.

        Parameters
        ----------
        tokens : sequence of int
            x_0 .. x_{T-1}, each in [0, V), T >= 1: the title, then the text.
        title_length : int
            m in [0, T]: positions t < m (the title) condition but carry no loss.
        initial_state : ndarray, shape (H,), optional
            s_0 (zero by default); truncated BPTT passes the carried state.

        Returns
        -------
        float
            L = sum_{t=m}^{T-1} -log softmax(E s_t)[x_t], in nats.
        """
        return self.loss_and_grads(tokens, title_length, initial_state=initial_state)[0]

    def loss_and_grads(self, tokens, title_length, *, initial_state=None,
                       return_last_state=False):
        """Loss of one document and its gradient with respect to every parameter.

        Forward and backpropagation through time run in one Cython call
        (:func:`normrnn._kernels.bptt.document_loss_and_grads`), with no Python
        per token.

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
        grads = Grads.zeros_like(self)
        states = np.empty((len(tokens), self.hidden_size), dtype=self.dtype)
        loss = _bptt.document_loss_and_grads(
            self.embedding, self.ih, self.hh, self.bias, tokens, title_length,
            initial_state, grads.embedding, grads.ih, grads.hh, grads.bias, states)
        if return_last_state:
            return loss, grads, states[-1].copy()
        return loss, grads

    def states(self, tokens, *, initial_state=None):
        """The hidden states s_0 .. s_{T-1} while reading ``tokens``, shape (T, H)."""
        self.check_parameters()
        tokens, _, initial_state = self._document(tokens, 0, initial_state)
        states = np.empty((len(tokens), self.hidden_size), dtype=self.dtype)
        _bptt.document_states(self.embedding, self.ih, self.hh, self.bias, tokens,
                              initial_state, states)
        return states

    def next_state(self, state, token):
        """One step of the recurrence: f(S s + W_ih f(E[x]) + b)."""
        return self.states([token, 0], initial_state=state)[1]

    def probabilities(self, state, *, temperature=1.0):
        """softmax(E s / temperature), the next-token distribution, shape (V,)."""
        self.check_parameters()
        _validate.array(state, "state", dtype=self.dtype, shape=(self.hidden_size,))
        if not (isinstance(temperature, (int, float, np.floating)) and temperature > 0
                and np.isfinite(temperature)):
            raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
        z = (self.embedding.astype(np.float64) @ state.astype(np.float64)) / temperature
        p = np.exp(z - z.max())
        return p / p.sum()

    # --- many documents -------------------------------------------------------
    def batch_loss_and_grads(self, documents, *, n_threads=1):
        """Summed loss and gradients over several documents, in parallel.

        Worker k of ``n_threads`` takes documents k, k + n, k + 2n, ... with the
        GIL released, accumulating into its own gradient buffers; the buffers
        are then summed in worker order.  The split and the order are fixed, so
        a run is reproducible for a given ``n_threads`` (different thread counts
        differ only by the rounding of a reordered sum).

        Parameters
        ----------
        documents : sequence of (tokens, title_length)
        n_threads : int, optional
            Number of threads (documents computed at once).

        Returns
        -------
        loss : float
            The sum of the documents' losses.
        grads : Grads
            The sum of their gradients.
        """
        self.check_parameters()
        n_threads = _validate.positive_int(n_threads, "n_threads")
        docs = [self._document(tokens, m, None)[:2] for tokens, m in documents]
        if not docs:
            raise ValueError("documents must hold at least one (tokens, title_length) pair")
        zero = np.zeros(self.hidden_size, dtype=self.dtype)
        n_threads = min(n_threads, len(docs))

        def run(worker):
            # worker k takes documents k, k + n, k + 2n, ... into its own buffers
            grads = Grads.zeros_like(self)
            loss = 0.0
            for tokens, m in docs[worker::n_threads]:
                states = np.empty((len(tokens), self.hidden_size), dtype=self.dtype)
                loss += _bptt.document_loss_and_grads(
                    self.embedding, self.ih, self.hh, self.bias, tokens, m, zero,
                    grads.embedding, grads.ih, grads.hh, grads.bias, states)
            return loss, grads

        with threadpool_limits(limits=1, user_api="blas"):
            if n_threads == 1:
                results = [run(0)]
            else:
                with ThreadPoolExecutor(max_workers=n_threads) as pool:
                    results = list(pool.map(run, range(n_threads)))
        loss, total = results[0]
        for worker_loss, grads in results[1:]:    # fixed order: reproducible sums
            loss += worker_loss
            for name, g in grads.items():
                getattr(total, name)[...] += g
        return loss, total
