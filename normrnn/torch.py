"""The same model in PyTorch, with weights exchanged both ways.

Train here, continue in PyTorch (its optimizers, GPUs, autograd tooling), and
come back::

    from normrnn.torch import to_torch, from_torch
    module = to_torch(model)          # a torch.nn.Module with the same weights
    loss = module(tokens, title_length)
    loss.backward()                   # autograd gives what model.loss_and_grads gives
    model = from_torch(module)        # a NormRNN again

PyTorch is an optional dependency (``pip install normrnn[torch]``); it is
imported only when this module's functions are used.  The row normalisation
uses ``keepdim=True``: without it (erratum 4 of the notes) the row norms
would broadcast across columns.  A model with a learned gain
(``NormRNN(..., gain="learned")``) becomes a module with a ``gain``
parameter, and back.
"""

import functools

import numpy as np

from . import _validate
from .model import NormRNN

__all__ = ["TorchNormRNN", "to_torch", "from_torch"]  # noqa: F822 (defined lazily)


def _torch():
    try:
        import torch
    except ImportError as exc:
        raise ImportError("normrnn.torch needs PyTorch, an optional dependency: "
                          "pip install torch (or pip install normrnn[torch])") from exc
    return torch


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
            _validate.gain_choice(gain)
            V, H = vocab_size, hidden_size
            self.embedding = torch.nn.Parameter(torch.zeros(V, H, dtype=dtype))
            self.ih = torch.nn.Parameter(torch.zeros(H, H, dtype=dtype))
            self.hh = torch.nn.Parameter(torch.ones(H, H, dtype=dtype))
            self.bias = torch.nn.Parameter(torch.zeros(H, dtype=dtype))
            self.gain = (torch.nn.Parameter(torch.full((H,), 1.0 / H, dtype=dtype))
                         if gain == "learned" else None)

        @staticmethod
        def activation(x):
            """f(x) = 1 - 1 / (x^2 + x + 1)."""
            return 1.0 - 1.0 / (x * x + x + 1.0)

        def scaled_hh(self):
            """S[i] = hh[i] / (H ||hh[i]||), or g_i hh[i] / ||hh[i]||, row-wise (``keepdim=True``)."""
            norms = torch.linalg.vector_norm(self.hh, dim=1, keepdim=True)
            if self.gain is None:
                return self.hh / (self.hh.shape[1] * norms)
            return self.gain[:, None] * self.hh / norms

        def states(self, tokens, initial_state=None):
            """States s_0 .. s_{T-1}, shape (T, H); s_0 = ``initial_state`` or 0."""
            tokens = torch.as_tensor(np.asarray(tokens), dtype=torch.long)
            S, H = self.scaled_hh(), self.hh.shape[1]
            state = (torch.zeros(H, dtype=self.hh.dtype) if initial_state is None
                     else torch.as_tensor(initial_state, dtype=self.hh.dtype))
            embedded = self.activation(self.embedding[tokens])
            states = [state]
            for t in range(len(tokens) - 1):
                state = self.activation(S @ state + self.ih @ embedded[t] + self.bias)
                states.append(state)
            return torch.stack(states)

        def forward(self, tokens, title_length, initial_state=None):
            """Summed loss (nats) over positions t >= ``title_length``, as NormRNN.loss."""
            tokens_t = torch.as_tensor(np.asarray(tokens), dtype=torch.long)
            states = self.states(tokens, initial_state)[title_length:]
            if len(states) == 0:
                return self.embedding.sum() * 0.0
            logits = states @ self.embedding.T
            return torch.nn.functional.cross_entropy(logits, tokens_t[title_length:],
                                                     reduction="sum")

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
