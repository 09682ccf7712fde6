"""The same model in PyTorch, with weights exchanged both ways, one document or a padded batch.

Train here, continue in PyTorch (its optimizers, GPUs, autograd tooling,
``DistributedDataParallel``), and come back::

    from normrnn.torch import to_torch, from_torch, pad_documents
    module = to_torch(model)          # a torch.nn.Module with the same weights
    loss = module(tokens, title_length)
    loss.backward()                   # autograd gives what model.loss_and_grads gives
    model = from_torch(module)        # a NormRNN again

A **padded batch** of B documents is token ids of shape (B, T) (T the longest
document), the documents' lengths (B,) and their title lengths (B,):
``module(tokens, title_lengths, lengths=lengths)`` returns the summed loss of
the B documents, whose gradients are those of
:meth:`normrnn.NormRNN.batch_loss_and_grads` on the same documents.  The
batch runs the recurrence once for all B documents (one ``(B, H) x (H, H)``
product per position), with no Python per document; positions past a
document's length (padding, any value) and before its title length carry no
loss, and no gradient.  :func:`pad_documents` makes such a batch from
``(tokens, title_length)`` pairs.  ``examples/ddp_train.py`` trains the module
with ``torch.nn.parallel.DistributedDataParallel``.

PyTorch is an optional dependency (``pip install normrnn[torch]``); it is
imported only when this module's functions are used.  The row normalisation
uses ``keepdim=True``: without it (erratum 4 of the notes) the row norms
would broadcast across columns.  A model with a learned gain
(``NormRNN(..., gain="learned")``) becomes a module with a ``gain``
parameter, and back.
"""

import functools
import numbers

import numpy as np

from . import _validate
from .model import NormRNN
from .reference import activation as _activation      # f, on tensors as on arrays

__all__ = ["TorchNormRNN", "to_torch", "from_torch", "pad_documents",  # noqa: F822
           "padded_loss"]


def _torch():
    try:
        import torch
    except ImportError as exc:
        raise ImportError("normrnn.torch needs PyTorch, an optional dependency: "
                          "pip install torch (or pip install normrnn[torch])") from exc
    return torch


def _scaled_hh(hh, gain):
    """S: rows of ``hh`` scaled to norm 1/H, or to |gamma_i| (``keepdim=True``)."""
    torch = _torch()
    norms = torch.linalg.vector_norm(hh, dim=1, keepdim=True)
    if gain is None:
        return hh / (hh.shape[1] * norms)
    return gain[:, None] * hh / norms


def _padded_states(embedding, ih, bias, scaled_hh, tokens, initial_state):
    """States s_0 .. s_{T-1} of a batch, shape (B, T, H); ``tokens`` (B, T) in range.

    The inputs W_ih f(E[x_t]) + b of every position are one product; only
    the recurrence runs per position, one ``addmm`` of the whole batch.  The
    inputs are split with ``unbind`` once (indexing them at every step would
    make each step's backward write a whole (B, T, H) gradient).
    """
    torch = _torch()
    inputs = (_activation(embedding[tokens[:, :-1]]) @ ih.T + bias).unbind(1)
    transposed = scaled_hh.T
    state = initial_state
    states = [state]
    for step_input in inputs:
        state = _activation(torch.addmm(step_input, state, transposed))
        states.append(state)
    return torch.stack(states, 1)


def padded_loss(embedding, ih, hh, bias, gain, tokens, lengths, title_lengths,
                initial_state=None):
    """Summed loss of a padded batch of documents: the model in PyTorch, unchecked.

    Document b is ``tokens[b, :lengths[b]]``, scored at positions
    ``title_lengths[b] <= t < lengths[b]``.  Token ids past a document's
    length are replaced by 0 before use, so padding of any value changes
    nothing.  Nothing is checked (this is the function ``torch.compile``
    takes whole); :class:`TorchNormRNN` checks its arguments, then calls it.

    Parameters
    ----------
    embedding, ih, hh, bias : torch.Tensor
        Shapes (V, H), (H, H), (H, H), (H,).
    gain : torch.Tensor of shape (H,), or None
        The learned gain; None for the fixed 1/H.
    tokens : torch.Tensor of int64, shape (B, T)
        Token ids in [0, V) at the positions of each document.
    lengths, title_lengths : torch.Tensor of int64, shape (B,)
        T_b in [1, T] and m_b in [0, T_b].
    initial_state : torch.Tensor, shape (B, H), optional
        s_0 of every document (zero by default).

    Returns
    -------
    torch.Tensor
        The scalar sum over documents and scored positions of
        -log softmax(E s_t)[x_t].
    """
    torch = _torch()
    B, T = tokens.shape
    positions = torch.arange(T, device=tokens.device)
    inside = positions < lengths[:, None]
    scored = inside & (positions >= title_lengths[:, None])
    tokens = torch.where(inside, tokens, 0)
    if initial_state is None:
        initial_state = torch.zeros(B, hh.shape[1], dtype=hh.dtype, device=hh.device)
    states = _padded_states(embedding, ih, bias, _scaled_hh(hh, gain), tokens, initial_state)
    logits = states @ embedding.T
    losses = torch.nn.functional.cross_entropy(logits.reshape(B * T, -1), tokens.reshape(-1),
                                               reduction="none").reshape(B, T)
    loss = torch.where(scored, losses, 0.0).sum()
    if T == 1:
        # no recurrence ran: keep every parameter in the graph, so that each gets a
        # zero gradient (as NormRNN gives) rather than none (which DDP would miss)
        loss = loss + 0.0 * sum(p.sum() for p in (ih, hh, bias, gain) if p is not None)
    return loss


def pad_documents(documents, *, padding=0):
    """A padded batch from ``(tokens, title_length)`` pairs, as :class:`TorchNormRNN` takes it.

    Parameters
    ----------
    documents : sequence of (tokens, title_length)
        As for :meth:`normrnn.NormRNN.batch_loss_and_grads`; at least one,
        each of at least one token.
    padding : int, optional
        The id written past each document's end (it changes nothing).

    Returns
    -------
    tokens : torch.Tensor of int64, shape (B, T)
        T the longest document's length.
    lengths, title_lengths : torch.Tensor of int64, shape (B,)

    Examples
    --------
    >>> tokens, lengths, titles = pad_documents([([1, 2, 3], 1), ([4], 0)])  # doctest: +SKIP
    >>> tokens.tolist(), lengths.tolist(), titles.tolist()                   # doctest: +SKIP
    ([[1, 2, 3], [4, 0, 0]], [3, 1], [1, 0])
    """
    torch = _torch()
    docs = []
    for i, document in enumerate(documents):
        try:
            tokens, title_length = document
        except (TypeError, ValueError):
            raise TypeError(f"documents[{i}] must be a (tokens, title_length) pair, "
                            f"got {type(document).__name__}") from None
        _validate.no_bool_element(tokens, f"documents[{i}] tokens")
        tokens = np.asarray(tokens)
        if tokens.ndim != 1 or tokens.size < 1 or tokens.dtype.kind not in "iu":
            raise ValueError(f"documents[{i}]: tokens must be a non-empty 1-D sequence of "
                             "integers")
        docs.append((tokens, _validate.in_range(title_length, f"documents[{i}] title_length",
                                                0, tokens.size + 1)))
    if not docs:
        raise ValueError("documents must hold at least one (tokens, title_length) pair")
    longest = max(t.size for t, _ in docs)
    padded = np.full((len(docs), longest), padding, dtype=np.int64)
    for row, (tokens, _) in zip(padded, docs):
        row[:tokens.size] = tokens
    return (torch.from_numpy(padded), torch.tensor([t.size for t, _ in docs]),
            torch.tensor([m for _, m in docs]))


def _integer_vector(value, name, size, torch):
    value = torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value)
    if value.dtype.is_floating_point or value.dtype.is_complex or value.dtype == torch.bool:
        raise TypeError(f"{name} must hold integers, got {value.dtype}")
    if tuple(value.shape) != (size,):
        raise ValueError(f"{name} must have shape ({size},), got {tuple(value.shape)}")
    return value.to(torch.int64)


@functools.cache
def _module_class():
    """Define :class:`TorchNormRNN` once torch is imported."""
    torch = _torch()

    class TorchNormRNN(torch.nn.Module):
        """:class:`~normrnn.NormRNN` as a ``torch.nn.Module``.

        Parameters
        ----------
        vocab_size, hidden_size : int
        dtype : torch.dtype, optional
        gain : {"fixed", "learned"}, optional
            As in NormRNN: "learned" adds the parameter ``gain`` (H,), 1/H.

        Attributes
        ----------
        embedding, ih, hh, bias : torch.nn.Parameter
            Shapes (V, H), (H, H), (H, H), (H,), as in NormRNN.
        gain : torch.nn.Parameter or None
            Shape (H,) with ``gain="learned"``; None otherwise.
        """

        def __init__(self, vocab_size, hidden_size, dtype=torch.float64, gain="fixed"):
            super().__init__()
            V = _validate.positive_int(vocab_size, "vocab_size")
            H = _validate.positive_int(hidden_size, "hidden_size")
            if dtype not in (torch.float32, torch.float64):
                raise TypeError(f"dtype must be float32 or float64, got {dtype!r}")
            _validate.gain_choice(gain)
            self.embedding = torch.nn.Parameter(torch.zeros(V, H, dtype=dtype))
            self.ih = torch.nn.Parameter(torch.zeros(H, H, dtype=dtype))
            self.hh = torch.nn.Parameter(torch.ones(H, H, dtype=dtype))
            self.bias = torch.nn.Parameter(torch.zeros(H, dtype=dtype))
            self.gain = (torch.nn.Parameter(torch.full((H,), 1.0 / H, dtype=dtype))
                         if gain == "learned" else None)

        activation = staticmethod(_activation)

        def check_parameters(self):
            """Raise ``ValueError`` unless the parameters are usable, as NormRNN's method does.

            Every parameter finite, and no row of ``hh`` zero (its row
            normalisation would divide by zero: the loss would be NaN).
            The checks and messages are :class:`~normrnn.NormRNN`'s.
            """
            for name in ("embedding", "ih", "hh", "bias", "gain"):
                value = getattr(self, name)
                if value is not None and not bool(torch.isfinite(value).all()):
                    raise ValueError(f"{name} must be finite (found NaN or inf)")
            _validate.nonzero_rows(self.hh.detach().cpu().numpy(), "hh")

        def scaled_hh(self):
            """S[i] = hh[i] / (H ||hh[i]||), or gamma_i hh[i] / ||hh[i]||, row-wise (``keepdim=True``)."""
            return _scaled_hh(self.hh, self.gain)

        def _batch(self, tokens, title_lengths, lengths, initial_state):
            """Check a batch (tokens 1-D: one document); return it as (B, T) tensors."""
            one = not (isinstance(tokens, torch.Tensor) and tokens.ndim == 2 or
                       isinstance(tokens, np.ndarray) and tokens.ndim == 2)
            if one:
                if isinstance(tokens, torch.Tensor):
                    tokens = tokens.detach().cpu().numpy()
                tokens = _validate.tokens(tokens, self.embedding.shape[0])
                if lengths is not None:
                    raise TypeError("lengths is for a padded batch, tokens of shape (B, T)")
                if not isinstance(title_lengths, numbers.Integral):
                    raise TypeError("title_length must be an integer for one document, "
                                    f"got {type(title_lengths).__name__}")
                title_lengths = [_validate.in_range(title_lengths, "title_length", 0, len(tokens) + 1)]
                tokens, lengths = torch.from_numpy(tokens.astype(np.int64))[None], [len(tokens)]
                if initial_state is not None:
                    initial_state = torch.as_tensor(initial_state)[None]
            tokens = torch.as_tensor(tokens)
            if tokens.dtype.is_floating_point or tokens.dtype == torch.bool:
                raise TypeError(f"tokens must hold integer ids, got {tokens.dtype}")
            B, T = tokens.shape
            if B < 1 or T < 1:
                raise ValueError(f"tokens must have shape (B, T) with B, T >= 1, got {(B, T)}")
            tokens = tokens.to(torch.int64)
            lengths = (torch.full((B,), T, dtype=torch.int64) if lengths is None
                       else _integer_vector(lengths, "lengths", B, torch))
            title_lengths = _integer_vector(title_lengths, "title_lengths", B, torch)
            if bool((lengths < 1).any()) or bool((lengths > T).any()):
                raise ValueError(f"lengths must be in [1, {T}] (the padded length)")
            if bool((title_lengths < 0).any()) or bool((title_lengths > lengths).any()):
                raise ValueError("title_lengths must be in [0, lengths]")
            inside = torch.arange(T) < lengths[:, None]
            V = self.embedding.shape[0]
            if bool(((tokens < 0) | (tokens >= V))[inside].any()):
                raise ValueError(f"tokens must be ids in [0, {V}) within each document's length")
            if initial_state is not None:
                initial_state = torch.as_tensor(initial_state, dtype=self.hh.dtype)
                want = (B, self.hh.shape[1])
                if tuple(initial_state.shape) != want:
                    got = tuple(initial_state.shape)[one:]
                    raise ValueError(f"initial_state must have shape {want[one:]}, got {got}")
                if not bool(torch.isfinite(initial_state).all()):
                    raise ValueError("initial_state must be finite (found NaN or inf)")
                initial_state = initial_state.detach()     # no gradient flows into it
            self.check_parameters()
            return tokens, lengths, title_lengths, initial_state

        def states(self, tokens, initial_state=None):
            """States s_0 .. s_{T-1} of one document, shape (T, H); s_0 = ``initial_state`` or 0."""
            tokens, _, _, initial_state = self._batch(tokens, 0, None, initial_state)
            if initial_state is None:
                initial_state = torch.zeros(1, self.hh.shape[1], dtype=self.hh.dtype)
            return _padded_states(self.embedding, self.ih, self.bias, self.scaled_hh(),
                                  tokens, initial_state)[0]

        def forward(self, tokens, title_length, initial_state=None, *, lengths=None):
            """Summed loss (nats): of one document, as NormRNN.loss, or of a padded batch.

            Parameters
            ----------
            tokens : sequence of int, shape (T,), or tensor/array of ints, shape (B, T)
                One document, or a padded batch (see :func:`pad_documents`).
            title_length : int, or sequence of int of shape (B,)
                m, or each document's m (positions t < m carry no loss).
            initial_state : array_like, shape (H,) or (B, H), optional
                s_0 (zero by default).  No gradient flows into it: a tensor
                that requires grad is detached.
            lengths : sequence of int, shape (B,), optional
                A padded batch's document lengths (default: all T).

            Returns
            -------
            torch.Tensor
                The scalar loss: ``loss.backward()`` gives the gradients of
                :meth:`~normrnn.NormRNN.loss_and_grads` (one document) or of
                :meth:`~normrnn.NormRNN.batch_loss_and_grads` (a batch).
            """
            tokens, lengths, title_lengths, initial_state = self._batch(
                tokens, title_length, lengths, initial_state)
            return padded_loss(self.embedding, self.ih, self.hh, self.bias, self.gain,
                               tokens, lengths, title_lengths, initial_state)

    return TorchNormRNN


def __getattr__(name):
    if name == "TorchNormRNN":
        return _module_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def to_torch(model):
    """A :class:`TorchNormRNN` holding a copy of ``model``'s weights.

    Parameters
    ----------
    model : NormRNN

    Returns
    -------
    TorchNormRNN
        Same dtype (float32 or float64) as the model.
    """
    torch = _torch()
    dtype = torch.float64 if model.dtype == np.float64 else torch.float32
    module = _module_class()(model.vocab_size, model.hidden_size, dtype=dtype,
                             gain=model.gain_mode)
    with torch.no_grad():
        for name in model.parameter_names:
            getattr(module, name).copy_(torch.from_numpy(getattr(model, name).copy()))
    return module


def from_torch(module):
    """A :class:`~normrnn.NormRNN` holding a copy of ``module``'s weights.

    Parameters
    ----------
    module : TorchNormRNN
        Or any module with ``embedding``, ``ih``, ``hh``, ``bias`` parameters
        of the right shapes, float32 or float64, and optionally ``gain`` (H,).

    Returns
    -------
    NormRNN
        With ``gain="learned"`` if the module has a ``gain`` that is not None;
        checked with :meth:`~normrnn.NormRNN.check_parameters`.
    """
    gain = "fixed" if getattr(module, "gain", None) is None else "learned"
    names = ("embedding", "ih", "hh", "bias") + (("gain",) if gain == "learned" else ())
    arrays = {name: getattr(module, name).detach().cpu().numpy() for name in names}
    V, H = arrays["embedding"].shape
    model = NormRNN(V, H, dtype=arrays["embedding"].dtype, gain=gain)
    for name, value in arrays.items():
        if value.shape != getattr(model, name).shape:
            raise ValueError(f"{name} has shape {value.shape}, expected "
                             f"{getattr(model, name).shape}")
        getattr(model, name)[...] = value
    model.check_parameters()
    return model
