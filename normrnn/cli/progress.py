"""A tqdm progress bar counting scored tokens, with tokens/s and the current loss."""

import sys

from tqdm.auto import tqdm

__all__ = ["ProgressBar"]


class ProgressBar:
    """Progress of a run, on stderr.

    Parameters
    ----------
    total : int or None
        Tokens the run will process (``None`` for a time budget).
    initial : int
        Tokens already processed (a resumed run).
    disable : bool, optional
        Show nothing.
    """

    def __init__(self, total, initial, *, disable=False):
        self._bar = tqdm(total=total, initial=initial, unit="tok", unit_scale=True,
                         desc="train", file=sys.stderr, disable=disable, dynamic_ncols=True,
                         smoothing=0.1)
        self._valid = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._bar.close()
        return False

    def set_valid(self, bits):
        """Record the latest validation loss, shown from now on."""
        self._valid = bits

    def update(self, tokens, train_bits):
        """Move to ``tokens`` processed; show the running training loss."""
        self._bar.update(tokens - self._bar.n)
        postfix = {}
        if train_bits is not None:
            postfix["loss"] = f"{train_bits:.3f} bit/tok"
        if self._valid is not None:
            postfix["valid"] = f"{self._valid:.3f}"
        self._bar.set_postfix(postfix, refresh=False)
