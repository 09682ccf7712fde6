"""The front door's checks.

The Cython kernels run with bounds checking off and trust their inputs.  Every
public entry point passes its arguments through these functions first, so bad
input becomes a ``TypeError`` or ``ValueError`` that names the argument, never
a crash or silent garbage.
"""

import math
import numbers
import operator

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

#: The settings of the model's row scale of S: the notes' 1/H, or a learned gain.
GAINS = ("fixed", "learned")


def float_dtype(dtype, name="dtype"):
    """Return ``numpy.dtype(dtype)`` if it is float32 or float64."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"{name} must be float32 or float64, got {dtype!r}") from exc
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {dt}")
    return dt


def array(value, name, *, dtype, shape, finite=True, writable=False):
    """Check that ``value`` is a C-contiguous ndarray of ``dtype`` and ``shape``.

    ``shape`` may hold ``None`` for an axis of any length.  Arrays are never
    copied or cast silently: a kernel that writes into a parameter must write
    into the caller's array, and one that reads must read what the caller
    passed.
    """
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(value).__name__}")
    if value.dtype != dtype:
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}, got {value.dtype}")
    if value.ndim != len(shape) or any(
            want is not None and got != want for got, want in zip(value.shape, shape)):
        want = tuple("any" if s is None else s for s in shape)
        raise ValueError(f"{name} must have shape {want}, got {value.shape}")
    if not value.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (use numpy.ascontiguousarray)")
    if writable and not value.flags.writeable:
        raise ValueError(f"{name} must be writable")
    if finite and not np.isfinite(value).all():
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    return value


def gain_choice(value, name="gain"):
    """Return ``value`` if it is one of :data:`GAINS` (``"fixed"`` or ``"learned"``)."""
    if not isinstance(value, str) or value not in GAINS:
        raise ValueError(f"{name} must be one of {GAINS}, got {value!r}")
    return value


def tokens(value, vocab_size, name="tokens", *, min_length=1):
    """Return ``value`` as a C-contiguous int32 array of token ids in [0, V)."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of integer token ids, got {type(value).__name__}")
    no_bool_element(value, name)
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a sequence of integer token ids") from exc
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":
        if arr.dtype.kind == "b" or arr.dtype.kind not in "f":
            raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise TypeError(f"{name} must hold integers, got non-integral values")
    if arr.size < min_length:
        raise ValueError(f"{name} must hold at least {min_length} token(s), got {arr.size}")
    if arr.size and (arr.min() < 0 or arr.max() >= vocab_size):
        bad = arr[(arr < 0) | (arr >= vocab_size)][0]
        raise ValueError(f"{name} must lie in [0, {vocab_size}), found {bad}")
    return np.ascontiguousarray(arr, dtype=np.int32)


def no_bool_element(value, name):
    """Refuse a Python sequence holding a bool among its elements.

    NumPy turns ``[3, True, 4]`` into int64 ``[3, 1, 4]``, so the array's
    dtype cannot tell; a bool is not a token id.  Arrays (anything with a
    ``dtype``) are judged by their dtype instead.
    """
    if hasattr(value, "dtype"):
        return
    try:
        elements = iter(value)
    except TypeError:
        return                       # not a sequence: np.asarray's check says so
    for i, element in enumerate(elements):
        if isinstance(element, (bool, np.bool_)):
            raise TypeError(f"{name} must hold integers, found a bool at index {i} "
                            "(a bool is not a token id)")


def integer(value, name):
    """Return ``value`` as a Python int; bools and non-integers are refused."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got bool")
    try:
        return operator.index(value)
    except TypeError as exc:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}") from exc


def in_range(value, name, start, stop):
    """Return ``value`` as an int in ``range(start, stop)``: [start, stop), half-open.

    The same convention as :func:`tokens` and Python's ranges: a token id
    lies in ``in_range(token, "token", 0, V)``, a title length in
    ``in_range(m, "title_length", 0, T + 1)``.
    """
    value = integer(value, name)
    if not start <= value < stop:
        raise ValueError(f"{name} must lie in [{start}, {stop}), got {value}")
    return value


def non_negative_int(value, name):
    """Return ``value`` as an int >= 0."""
    value = integer(value, name)
    if value < 0:
        raise ValueError(f"{name} must be non-negative, got {value}")
    return value


def positive_int(value, name):
    """Return ``value`` as an int >= 1."""
    value = integer(value, name)
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


def temperature(value, name="temperature"):
    """Return ``value`` as a positive finite float: the divisor of the logits.

    Bools and non-numbers are refused (``TypeError``); zero, negative, NaN,
    infinite, and integers beyond the float range (``ValueError``).
    """
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    try:
        t = float(value)
    except OverflowError:            # an int beyond float range
        t = math.inf
    if not (t > 0 and math.isfinite(t)):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return t


def seed(value, name="seed"):
    """Return ``value`` if it is ``None`` or a non-negative integer (a random seed)."""
    if value is None:
        return None
    try:
        return non_negative_int(value, name)
    except TypeError:
        raise TypeError(f"{name} must be None or a non-negative integer, "
                        f"got {type(value).__name__}") from None
    except ValueError:
        raise ValueError(f"{name} must be None or a non-negative integer, got {value!r}") from None


def nonzero_rows(hh, name="hh"):
    """Refuse a matrix with a zero row: its row normalisation divides by 0."""
    # in hh's own dtype, as the kernel computes it: a float32 row of tiny
    # entries can have a nonzero float64 norm but a zero float32 one
    norms = np.sqrt(np.einsum("ij,ij->i", hh, hh))
    if not np.all(norms > 0):
        raise ValueError(f"{name} has a zero row ({int(np.argmin(norms))}); "
                         "row normalisation needs every row to have a nonzero norm")
    if not np.all(np.isfinite(norms)):
        raise ValueError(f"{name} has a row whose norm overflows")
    return hh
