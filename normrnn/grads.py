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
