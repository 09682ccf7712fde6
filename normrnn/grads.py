"""The gradients of the loss, one array per parameter: :class:`Grads`."""

from dataclasses import dataclass

import numpy as np

__all__ = ["Grads", "PARAMETER_NAMES", "LEARNED_GAIN_PARAMETER_NAMES"]

#: The parameters of the notes' model (``gain="fixed"``), in order.
PARAMETER_NAMES = ("embedding", "ih", "hh", "bias")
#: The parameters of a model with ``gain="learned"``: one more, the gain gamma (H,).
LEARNED_GAIN_PARAMETER_NAMES = PARAMETER_NAMES + ("gain",)


@dataclass
class Grads:
    """Gradients of the loss, one array per parameter, shaped like it.

    Read by attribute (``grads.hh``) or by name, as a read-only mapping of
    the parameters it holds (``grads["hh"]``, ``grads.keys()``,
    ``dict(grads)``, ``{**grads}``): ``gain`` is among its keys only when it
    is not None.  :meth:`NormRNN.loss_and_grads <normrnn.NormRNN.loss_and_grads>`
    and :func:`normrnn.reference.loss_and_grads` both return one.

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

    def keys(self):
        """The names of the gradients held: :data:`PARAMETER_NAMES`, then ``gain`` if not None."""
        return PARAMETER_NAMES if self.gain is None else LEARNED_GAIN_PARAMETER_NAMES

    def items(self):
        """``(name, array)`` pairs of the model's parameters, in :meth:`keys` order."""
        return [(name, getattr(self, name)) for name in self.keys()]

    def values(self):
        """The arrays, in :meth:`keys` order."""
        return [getattr(self, name) for name in self.keys()]

    def __getitem__(self, name):
        if name not in self.keys():
            raise KeyError(name)
        return getattr(self, name)

    def __contains__(self, name):
        return name in self.keys()

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self.keys())

    def as_dict(self):
        """The gradients as a ``dict`` keyed by parameter name."""
        return dict(self.items())

    @classmethod
    def zeros_like(cls, model):
        """Zero gradients shaped like ``model``'s parameters."""
        return cls(**{name: np.zeros_like(getattr(model, name))
                      for name in model.parameter_names})
