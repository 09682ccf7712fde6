"""Gradient descent rules: SGD, Adagrad (as in min-char-rnn) and Adam.

Each optimizer holds the live parameter arrays of a model and updates them in
place with :meth:`Optimizer.step`.  Its state (running sums, moments, step
count) is a flat ``dict`` of arrays, so a checkpoint can store it and a resumed
run can continue bit for bit.
"""

import numbers

import numpy as np

__all__ = ["Optimizer", "SGD", "Adagrad", "Adam", "OPTIMIZERS", "DEFAULT_LEARNING_RATES",
           "make_optimizer", "clip_grad_norm"]


def _as_dict(grads):
    return grads.as_dict() if hasattr(grads, "as_dict") else dict(grads)


def clip_grad_norm(grads, max_norm):
    """Scale all gradients together so their global 2-norm is at most ``max_norm``.

    Parameters
    ----------
    grads : Grads or dict of ndarray
        Modified in place.
    max_norm : float or None
        The largest norm allowed, >= 0; ``None`` or ``inf`` turns clipping off.

    Returns
    -------
    float
        The global norm before clipping (``nan`` or ``inf`` if a gradient is
        not finite, in which case nothing is scaled).

    Raises
    ------
    ValueError
        If ``max_norm`` is negative, NaN or not a number (a negative one
        would silently flip the gradient).
    """
    if max_norm is not None and not (isinstance(max_norm, numbers.Real)
                                     and not isinstance(max_norm, bool) and max_norm >= 0):
        raise ValueError(f"max_norm must be a non-negative number or None, got {max_norm!r}")
    arrays = list(_as_dict(grads).values())
    norm = float(np.sqrt(sum(float(np.square(g).sum()) for g in arrays)))
    if max_norm is not None and np.isfinite(norm) and norm > max_norm:
        scale = max_norm / norm
        for g in arrays:
            g *= scale
    return norm


class Optimizer:
    """Base class: holds the parameters, a learning rate and named state arrays.

    Parameters
    ----------
    parameters : dict of str to ndarray
        The live arrays to update, e.g. ``model.parameters()``.
    lr : float
        Learning rate, positive.

    Attributes
    ----------
    name : str
        The optimizer's name in :data:`OPTIMIZERS` and in checkpoints.
    """

    name = None
    #: Per-parameter state arrays, e.g. ``("m", "v")``.
    slots = ()
    #: Slots that hold sums of squares (their square roots are taken).
    non_negative_slots = ()

    def __init__(self, parameters, lr):
        if not (isinstance(lr, (int, float, np.floating)) and not isinstance(lr, bool)
                and np.isfinite(lr) and lr > 0):
            raise ValueError(f"learning rate must be a positive finite number, got {lr!r}")
        self.parameters = dict(parameters)
        self.lr = float(lr)
        self.steps = 0
        self.state = {f"{slot}.{name}": np.zeros_like(p)
                      for slot in self.slots for name, p in self.parameters.items()}

    def step(self, grads):
        """Update every parameter in place from its gradient.

        Parameters
        ----------
        grads : Grads or dict of ndarray
            Shaped like the parameters.

        Raises
        ------
        ValueError
            If a gradient is missing or its shape or dtype differs from its
            parameter's (nothing is updated then).
        """
        grads = _as_dict(grads)
        for name, p in self.parameters.items():
            g = grads.get(name)
            if not isinstance(g, np.ndarray) or g.shape != p.shape or g.dtype != p.dtype:
                got = ("missing" if g is None else f"{type(g).__name__}" if not
                       isinstance(g, np.ndarray) else f"{g.dtype} of shape {g.shape}")
                raise ValueError(f"gradient {name!r} must be {p.dtype} of shape {p.shape}, "
                                 f"got {got}")
        self.steps += 1
        for name, p in self.parameters.items():
            self._update(name, p, grads[name])

    def _update(self, name, p, g):
        raise NotImplementedError

    def state_dict(self):
        """The optimizer's state: ``{"steps": 0-d int64, "<slot>.<param>": array}``.

        Returns
        -------
        dict of str to ndarray
            Copies, safe to store.
        """
        out = {"steps": np.array(self.steps, dtype=np.int64)}
        out.update((k, v.copy()) for k, v in self.state.items())
        return out

    def load_state_dict(self, state):
        """Restore a state from :meth:`state_dict`, checking every key, dtype and shape.

        Parameters
        ----------
        state : dict of str to ndarray

        Raises
        ------
        ValueError
            If a key is missing or extra, or an array has the wrong dtype or shape.
        """
        expected = set(self.state) | {"steps"}
        if set(state) != expected:
            raise ValueError(f"{self.name} state must have keys {sorted(expected)}, "
                             f"got {sorted(state)}")
        steps = np.asarray(state["steps"])
        if steps.shape != () or steps.dtype != np.int64 or steps < 0:
            raise ValueError(f"{self.name} state 'steps' must be a non-negative 0-d int64")
        for key, current in self.state.items():
            value = np.asarray(state[key])
            if value.dtype != current.dtype or value.shape != current.shape:
                raise ValueError(f"{self.name} state {key!r} must be {current.dtype} of shape "
                                 f"{current.shape}, got {value.dtype} of shape {value.shape}")
            if not np.isfinite(value).all():
                raise ValueError(f"{self.name} state {key!r} is not finite")
            if key.split(".")[0] in self.non_negative_slots and np.any(value < 0):
                raise ValueError(f"{self.name} state {key!r} is a sum of squares; "
                                 "it cannot be negative")
        self.steps = int(steps)
        for key in self.state:
            self.state[key][...] = state[key]


class SGD(Optimizer):
    """Plain stochastic gradient descent: ``p -= lr * g``."""

    name = "sgd"

    def _update(self, name, p, g):
        p -= self.lr * g


class Adagrad(Optimizer):
    """Adagrad as in min-char-rnn: ``mem += g**2; p -= lr * g / sqrt(mem + eps)``.

    Parameters
    ----------
    parameters, lr
        As in :class:`Optimizer`.
    eps : float, optional
        Added under the square root, as in min-char-rnn.
    """

    name = "adagrad"
    slots = ("mem",)
    non_negative_slots = ("mem",)

    def __init__(self, parameters, lr, *, eps=1e-8):
        super().__init__(parameters, lr)
        self.eps = eps

    def _update(self, name, p, g):
        mem = self.state[f"mem.{name}"]
        mem += g * g
        p -= self.lr * g / np.sqrt(mem + self.eps)


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015) with bias-corrected moments.

    Parameters
    ----------
    parameters, lr
        As in :class:`Optimizer`.
    betas : (float, float), optional
        Decay rates of the first and second moment.
    eps : float, optional
        Added to the denominator.
    """

    name = "adam"
    slots = ("m", "v")
    non_negative_slots = ("v",)

    def __init__(self, parameters, lr, *, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(parameters, lr)
        self.beta1, self.beta2 = betas
        self.eps = eps

    def _update(self, name, p, g):
        m, v = self.state[f"m.{name}"], self.state[f"v.{name}"]
        m *= self.beta1
        m += (1.0 - self.beta1) * g
        v *= self.beta2
        v += (1.0 - self.beta2) * (g * g)
        m_hat = m / (1.0 - self.beta1 ** self.steps)
        v_hat = v / (1.0 - self.beta2 ** self.steps)
        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


#: Optimizer classes by name.
OPTIMIZERS = {cls.name: cls for cls in (SGD, Adagrad, Adam)}

#: Default learning rate of each optimizer (gradients are per scored token).
DEFAULT_LEARNING_RATES = {"sgd": 0.5, "adagrad": 0.1, "adam": 0.01}


def make_optimizer(name, parameters, lr=None):
    """Build an optimizer by name.

    Parameters
    ----------
    name : {"sgd", "adagrad", "adam"}
    parameters : dict of str to ndarray
        The live arrays to update.
    lr : float, optional
        Learning rate; :data:`DEFAULT_LEARNING_RATES` by default.

    Returns
    -------
    Optimizer
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[name](parameters, DEFAULT_LEARNING_RATES[name] if lr is None else lr)
