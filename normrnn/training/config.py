"""The settings of a training run, stored in every checkpoint."""

import dataclasses
import json
import math
import os
from dataclasses import asdict, dataclass, fields

import numpy as np

from .._validate import gain_choice
from ..memory import lockstep_memory, require_memory
from ..batching import LOCKSTEP_GROUP
from .optimizers import DEFAULT_LEARNING_RATES, OPTIMIZERS

#: Arrays of the parameters' size per optimizer: its state
_OPTIMIZER_COPIES = {"adam": 2, "adagrad": 1, "sgd": 0}

__all__ = ["TrainConfig", "BUDGET_FIELDS", "RESUMABLE_FIELDS", "default_threads",
           "training_memory", "require_training_memory"]

#: The budget of a run: whichever is reached first stops it.
BUDGET_FIELDS = ("epochs", "minutes", "max_steps")
#: What a resumed run may change (:meth:`TrainConfig.resumed`): its budget and its
#: learning rate.  Every other field defines the run and stays the checkpoint's.
RESUMABLE_FIELDS = (*BUDGET_FIELDS, "lr")


def default_threads():
    """Threads for the minibatch: ``min(2, os.cpu_count())``."""
    return max(1, min(2, os.cpu_count() or 1))


@dataclass
class TrainConfig:
    """Everything that defines a training run.

    Parameters
    ----------
    hidden_size : int
        H, the width of the state and of the embedding.
    gain : {"fixed", "learned"}
        The model's row scale of S: the notes' fixed 1/H, or a learned gain
        per row (:class:`~normrnn.NormRNN`).  Configurations saved before this
        field existed read as ``"fixed"``.
    optimizer : {"adam", "adagrad", "sgd"}
    lr : float or None
        Learning rate; ``None`` takes the optimizer's default
        (:data:`~normrnn.training.optimizers.DEFAULT_LEARNING_RATES`).
    epochs : int or None
        Budget in passes over the training documents.
    minutes : float or None
        Budget in minutes of training (across resumes).  When both budgets
        are given, whichever ends first stops the run; with neither, 10 epochs.
    max_steps : int or None
        Budget in optimizer steps (mostly for tests and quick trials).
    batch_size : int
        Documents (streams) per minibatch.
    bptt : int
        Truncated-BPTT chunk length, see :mod:`normrnn.training.streams`.
    segment : int
        Longest training unit, in text tokens: longer documents are cut into
        segments that train as parallel streams.
    clip : float or None
        Largest global gradient norm (per-token gradients); ``None``: no clipping.
    seed : int
        Seeds the initial weights, the train/validation split and the
        shuffling: the same seed gives the same run, bit for bit.
    valid_fraction : float
        Share of the documents held out for validation.
    n_threads : int
        Threads computing documents at once.  Part of the run's definition:
        a different count changes the rounding of the gradient sums.
    dtype : {"float64", "float32"}
    eval_every : int
        Evaluate (and checkpoint) every this many steps, and at each epoch's end.
    eval_tokens : int
        The training loss is measured on the first training documents up to
        this many scored tokens; the validation loss on all of them.
    """

    hidden_size: int = 64
    gain: str = "fixed"
    optimizer: str = "adam"
    lr: float | None = None
    epochs: int | None = None
    minutes: float | None = None
    max_steps: int | None = None
    batch_size: int = 32
    bptt: int = 256
    segment: int = 1024
    clip: float | None = 5.0
    seed: int = 0
    valid_fraction: float = 0.1
    n_threads: int = default_threads()
    dtype: str = "float64"
    eval_every: int = 200
    eval_tokens: int = 20_000

    def __post_init__(self):
        if not isinstance(self.optimizer, str) or self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, "
                             f"got {self.optimizer!r}")
        gain_choice(self.gain)
        if not isinstance(self.dtype, str) or self.dtype not in ("float64", "float32"):
            raise ValueError(f"dtype must be 'float64' or 'float32', got {self.dtype!r}")
        for name in ("hidden_size", "batch_size", "bptt", "segment", "n_threads", "eval_every",
                     "eval_tokens"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("epochs", "max_steps"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or value < 1):
                raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
        for name in ("lr", "minutes", "clip"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float))
                                          and not isinstance(value, bool) and value > 0):
                raise ValueError(f"{name} must be a positive number or None, got {value!r}")
        if self.lr is not None and not math.isfinite(self.lr):
            raise ValueError(f"lr must be finite, got {self.lr!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not (isinstance(self.valid_fraction, (int, float))
                and not isinstance(self.valid_fraction, bool)
                and 0.0 < self.valid_fraction < 1.0):
            raise ValueError(f"valid_fraction must lie in (0, 1), got {self.valid_fraction!r}")

    @property
    def learning_rate(self):
        """``lr``, or the optimizer's default when ``lr`` is None."""
        return DEFAULT_LEARNING_RATES[self.optimizer] if self.lr is None else self.lr

    @property
    def epoch_budget(self):
        """``epochs``, or 10 when no budget at all is given, else ``None``."""
        if self.epochs is None and self.minutes is None and self.max_steps is None:
            return 10
        return self.epochs

    def resumed(self, changes):
        """The configuration of this run resumed with ``changes``.

        Only :data:`RESUMABLE_FIELDS` may change.  A budget given replaces the
        saved budget as a whole (``{"minutes": 5}`` on a run saved with
        ``epochs=10`` gives ``epochs=None, minutes=5``).

        Parameters
        ----------
        changes : dict
            Fields to set.  Any other field may appear only with its saved
            value.

        Returns
        -------
        TrainConfig

        Raises
        ------
        ValueError
            Naming the fields that define the run and would change.
        """
        changed = {k: v for k, v in changes.items()
                   if k not in RESUMABLE_FIELDS and getattr(self, k) != v}
        if changed:
            raise ValueError(f"cannot change {sorted(changed)} when resuming: "
                             "they define the run saved in the checkpoint")
        changes = {k: v for k, v in changes.items() if k in RESUMABLE_FIELDS}
        if any(k in changes for k in BUDGET_FIELDS):     # a new budget replaces the saved one
            changes = {**dict.fromkeys(BUDGET_FIELDS), **changes}
        return dataclasses.replace(self, **changes)

    def to_json(self):
        """The settings as a JSON string."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text):
        """Inverse of :meth:`to_json`; raises ``ValueError`` on unknown or bad fields."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("configuration must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown configuration fields {sorted(unknown)}")
        return cls(**data)


def training_memory(config, vocab_size, longest_unit=None):
    """Bytes a training run of ``config`` needs at least, before it allocates them.

    The parameters (V H + 2 H^2 + H numbers) with their gradients (one set per
    thread and a total), the optimizer's state and the copy kept to undo a
    step; per thread, the scratch space of the chunks of ``bptt + 1`` tokens
    it reads in lockstep at once (its share of the minibatch, at most
    :data:`normrnn.batching.LOCKSTEP_GROUP`; :func:`normrnn.memory.lockstep_memory`);
    and the state carried by each of the ``batch_size`` streams.

    Parameters
    ----------
    config : TrainConfig
    vocab_size : int
        V.
    longest_unit : int or None, optional
        Tokens of the longest training unit, if known: no chunk is longer.

    Returns
    -------
    int
    """
    V, H, dtype = int(vocab_size), config.hidden_size, np.dtype(config.dtype)
    threads = min(config.n_threads, config.batch_size)
    gain = H if config.gain == "learned" else 0
    parameters = (V * H + 2 * H * H + H + gain) * dtype.itemsize
    copies = 1 + _OPTIMIZER_COPIES.get(config.optimizer, 2) + 1 + (threads + 1)
    rows = config.bptt + 1 if longest_unit is None else min(config.bptt + 1, longest_unit)
    streams = config.batch_size * (H * dtype.itemsize + 16)
    # chunks a thread reads at once: its share, rounded up, in groups of at most 8
    share = min(-(-config.batch_size // threads), LOCKSTEP_GROUP)
    scratch = lockstep_memory(V, H, rows * share, share, dtype)
    return copies * parameters + threads * scratch + streams


def require_training_memory(config, vocab_size, longest_unit=None):
    """Raise ``MemoryError`` if :func:`training_memory` exceeds the memory available.

    Raises
    ------
    MemoryError
        Naming the size needed, the size available and the options to reduce.
    """
    needed = training_memory(config, vocab_size, longest_unit)
    require_memory(needed, f"training with hidden size {config.hidden_size:,}, batch size "
                   f"{config.batch_size:,}, bptt {config.bptt:,} and {config.n_threads:,} "
                   f"thread(s) (vocabulary {vocab_size:,}, {config.dtype})",
                   "use a smaller --hidden, --batch-size, --bptt or --threads")
