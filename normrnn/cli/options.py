"""Argument types of the ``normrnn`` options: numbers that are finite and in range."""

import argparse
import math

__all__ = ["number", "POS_INT", "POS_FLOAT", "NONNEG_INT", "FRACTION", "MAX_SAMPLE_TOKENS"]


def number(kind, *, zero_ok=False, below=None, at_most=None):
    """An argparse type: ``kind(text)``, finite, > 0 (>= 0 with ``zero_ok``).

    ``below`` and ``at_most`` add an upper bound (exclusive, inclusive).  NaN
    and infinities are refused: no option of ``normrnn`` means anything with
    them, and they would otherwise reach the model (or a time budget) and fail
    there, or never end.
    """
    noun = "an integer" if kind is int else "a number"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {noun}: {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
        if not (value >= 0 if zero_ok else value > 0):
            raise argparse.ArgumentTypeError(
                f"must be {'non-negative' if zero_ok else 'positive'}, got {text!r}")
        if below is not None and not value < below:
            raise argparse.ArgumentTypeError(f"must be less than {below}, got {text!r}")
        if at_most is not None and not value <= at_most:
            raise argparse.ArgumentTypeError(f"must be at most {at_most:,}, got {text!r}")
        return value
    parse.__name__ = kind.__name__
    return parse


POS_INT, POS_FLOAT, NONNEG_INT = number(int), number(float), number(int, zero_ok=True)
#: a share of something, strictly between 0 and 1
FRACTION = number(float, below=1)
#: the most characters ``normrnn sample`` draws
MAX_SAMPLE_TOKENS = 1_000_000
