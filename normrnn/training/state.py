"""Where a training run stands: step, epoch, random state, streams, loss history.

Everything here is saved in a checkpoint so that ``--resume`` continues the
run exactly: the same next minibatch, the same carried states, the same
shuffles to come.
"""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["History", "TrainState"]


@dataclass
class History:
    """The loss curve of a run.

    Attributes
    ----------
    steps, tokens, bits : list
        Per optimizer step: its number, the scored tokens seen so far, and the
        minibatch's training loss in bits per token.
    evals : list of (step, epoch, train_bits, valid_bits)
        Every evaluation: training loss (on a fixed subset) and validation
        loss, in bits per token.
    """

    steps: list = field(default_factory=list)
    tokens: list = field(default_factory=list)
    bits: list = field(default_factory=list)
    evals: list = field(default_factory=list)

    def to_arrays(self):
        """The history as ``{"history.<name>": ndarray}``."""
        return {"history.steps": np.array(self.steps, dtype=np.int64),
                "history.tokens": np.array(self.tokens, dtype=np.int64),
                "history.bits": np.array(self.bits, dtype=np.float64),
                "history.evals": np.array(self.evals, dtype=np.float64).reshape(-1, 4)}

    @classmethod
    def from_arrays(cls, arrays):
        """Inverse of :meth:`to_arrays` (arrays already validated)."""
        return cls([int(x) for x in arrays["history.steps"]],
                   [int(x) for x in arrays["history.tokens"]],
                   [float(x) for x in arrays["history.bits"]],
                   [tuple(float(v) for v in row) for row in arrays["history.evals"]])

    @property
    def last_eval(self):
        """The latest ``(step, epoch, train_bits, valid_bits)``, or ``None``."""
        return self.evals[-1] if self.evals else None


@dataclass
class TrainState:
    """The progress of a run, apart from the model and optimizer.

    Attributes
    ----------
    step : int
        Optimizer steps taken.
    epoch : int
        Epochs completed.
    tokens : int
        Scored training tokens processed.
    elapsed : float
        Seconds spent training, summed over resumes.
    rng_state : dict
        ``numpy.random.Generator.bit_generator.state`` of the shuffling
        generator (JSON-serialisable).
    history : History
    """

    step: int = 0
    epoch: int = 0
    tokens: int = 0
    elapsed: float = 0.0
    rng_state: dict = None
    history: History = field(default_factory=History)

    def progress_json(self):
        """The scalar progress as a JSON-serialisable ``dict``."""
        return {"step": self.step, "epoch": self.epoch, "tokens": self.tokens,
                "elapsed": self.elapsed, "rng_state": self.rng_state}
