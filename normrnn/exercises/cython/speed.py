"""The speed grade: the learner's kernel against the NumPy twin and normrnn's own.

All three run in the grading child on the same inputs, at hidden size
:data:`~.table.SPEED_H`, in float64, measured in turn (:mod:`.child`); the
report gives ratios, never times, because times say more about the machine
than about the kernel.  The inputs are drawn here, in the grading process;
the timed call's answer comes back and is checked here against the NumPy
twin's, so a kernel that skips its work when timed is not credited.  Speed
never changes the correctness verdict: a kernel is native code running in
the child, and although the clock is bound before it is loaded, nothing
stops compiled code from tampering with what the child measures.  A forged
speed buys a level, never a pass.
"""

from dataclasses import dataclass

import numpy as np

from .. import child as codec
from ... import gradcheck, reference
from ..cases import INPUTS, OUTPUTS
from .table import CYTHON, SPEED_H

__all__ = ["Speed", "FASTER", "speed_request", "judge_speed"]

#: The ratio t(NumPy twin) / t(kernel) at or above which a kernel is "faster than NumPy".
FASTER = 1.0
#: Where normrnn's own kernel is itself no faster than NumPy, measured in the same run (a
#: section so small that the cost of a call from Python decides its time, as the bias at
#: H = 128), the level asks for this fraction of its speed instead.
NEAR_OWN = 0.8

#: The vocabulary size and document length of the timed inputs.
_V, _T = 256, 32


@dataclass
class Speed:
    """How fast one kernel ran, as ratios.

    Attributes
    ----------
    numpy : float or None
        t(NumPy twin) / t(kernel): above 1, the kernel is faster.
    normrnn : float or None
        t(normrnn's kernel) / t(kernel).
    message : str
        Why there is no ratio, or why it is not credited.
    """

    numpy: float = None
    normrnn: float = None
    message: str = ""

    @property
    def credited(self):
        """The ratios were measured, and the timed call's answer was right."""
        return self.numpy is not None and not self.message

    @property
    def own_is_slower(self):
        """normrnn's own kernel was itself no faster than NumPy in this measurement."""
        return self.normrnn is not None and self.numpy / self.normrnn < FASTER

    @property
    def faster_than_numpy(self):
        """Credited, and at least :data:`FASTER` times the NumPy twin's speed (or, where
        normrnn's own kernel is no faster than NumPy either, :data:`NEAR_OWN` of its speed)."""
        if not self.credited:
            return False
        return self.numpy >= FASTER or (self.own_is_slower and self.normrnn >= NEAR_OWN)

    def target(self):
        """What the speed level asks for, in words."""
        if self.numpy is not None and self.own_is_slower:
            return (f"at least {NEAR_OWN:g}x normrnn's own kernel (which is no faster than "
                    "NumPy here: a call from Python costs more than this section's loop)")
        return f"at least {FASTER:g}x NumPy"

    def summary(self):
        """``"1.9x NumPy, 0.8x normrnn"`` (or why not)."""
        if self.numpy is None:
            return self.message or "not timed"
        text = f"{_ratio(self.numpy)}x NumPy" + (f", {_ratio(self.normrnn)}x normrnn"
                                                  if self.normrnn is not None else "")
        return text + (f" (not credited: {self.message})" if self.message else "")


def _ratio(value):
    """``1.9``, ``0.8``, ``0.031``: one decimal, or two significant digits below 0.1."""
    return f"{value:.1f}" if value >= 0.1 else f"{value:.2g}"


def _inputs(name, rng):
    """The learner's arguments at H = SPEED_H, and the twin's, in float64."""
    H = SPEED_H
    if name == "loss_and_grads":
        params = gradcheck._pseudocode_parameters(rng, V=_V, H=H)
        tokens = rng.integers(0, _V, size=_T).astype(np.int32)
        learner = (*params, tokens, 1, np.zeros(H))
        return learner, (*params, [int(t) for t in tokens], 1)
    make = {"embedding": lambda: rng.normal(size=(_V, H)) / np.sqrt(H),
            "state": lambda: rng.uniform(-1 / 3, 1, size=H),
            "token": lambda: _V - 1,
            "middle": lambda: rng.normal(size=H),
            "embedded": lambda: rng.uniform(0, 1, size=H),
            "ih": lambda: rng.normal(size=(H, H)) / np.sqrt(H),
            "scaled_hh": lambda: rng.normal(size=(H, H)) / H,
            "hh": lambda: rng.normal(size=(H, H)),
            "gain": lambda: rng.normal(size=H),
            "d_scaled_hh": lambda: rng.normal(size=(H, H))}
    args = tuple(make.get(k, lambda: rng.normal(size=H))() for k in INPUTS[name])
    return args, args


def _twin(name):
    fn = "loss_and_grads" if name == "loss_and_grads" else f"{name}_backward"
    return getattr(reference, fn), ["normrnn.reference", fn]


def _answer(name, twin_args):
    """The twin's answer, output name -> float64."""
    fn, _ = _twin(name)
    got = fn(*twin_args)
    if name == "loss_and_grads":
        loss, grads = got
        return {"loss": np.asarray(loss), **{k: grads[k] for k in OUTPUTS[name][1:]}}
    got = got if isinstance(got, tuple) else (got,)
    return {k: np.asarray(v) for k, v in zip(OUTPUTS[name], got)}


def _workspace(argument, args):
    return (args[0].shape[0],) if argument == "d_logits" else (args[4].shape[0], SPEED_H)


def speed_request(name, seed=0):
    """(the child's ``speed`` request, the twin's answer) for exercise ``name``.

    Parameters
    ----------
    name : str
    seed : int, optional

    Returns
    -------
    request : dict
    answer : dict
    """
    exercise = CYTHON[name]
    rng = np.random.default_rng([seed, 128, list(CYTHON).index(name)])
    args, twin_args = _inputs(name, rng)
    answer = _answer(name, twin_args)
    outputs = [np.zeros(answer[graded].shape if graded else _workspace(argument, args))
               for argument, _, graded in exercise.outputs]
    module = "normrnn._kernels." + exercise.source.removesuffix(".pyx")
    request = {"args": [codec.encode_argument(a) for a in args],
               "twin_args": [codec.encode_argument(a) for a in twin_args],
               "outputs": [codec.encode_array(o) for o in outputs],
               "twin": _twin(name)[1], "own": [module, exercise.wrapper]}
    return request, answer


def judge_speed(name, report, answer, read=None):
    """The :class:`Speed` from the child's ``report`` and the twin's ``answer``.

    Parameters
    ----------
    name : str
    report : dict or None
        What the child sent (:func:`.child._speed`).
    answer : dict
    read : callable, optional
        ``read(report)`` -> output name -> float64, the timed call's answer
        (default: the section's outputs, :data:`.table.CYTHON`).

    Returns
    -------
    Speed
    """
    # a forged report can change the speed, never the correctness verdict
    if not isinstance(report, dict):
        return Speed(message="not timed (the grading process ended first)")
    if "failure" in report:
        return Speed(message=f"not timed: {report['failure']}"[:200])
    try:
        seconds = [report[k] for k in ("learner", "numpy", "normrnn")]
        if not all(s is None or (isinstance(s, float) and s > 0) for s in seconds) \
                or seconds[0] is None or seconds[1] is None:
            raise ValueError("bad times")
        got = (read or (lambda r: _timed_answer(name, r)))(report)
    except (KeyError, ValueError, TypeError, codec.Malformed):
        return Speed(message="not timed (a malformed report)")
    learner, numpy_, own = seconds
    speed = Speed(numpy_ / learner, own / learner if own is not None else None)
    tolerance = gradcheck.TOLERANCES[np.dtype(np.float64)]
    wrong = [k for k in answer if k not in got or np.shape(got[k]) != np.shape(answer[k])
             or not np.all(np.isfinite(got[k]))
             or _error(got[k], answer[k]) > tolerance]
    if wrong:
        speed.message = f"the timed call's {', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} wrong"
    return speed


def _timed_answer(name, report):
    exercise = CYTHON[name]
    got = {}
    outputs = [codec.decode_array(o) for o in report["outputs"]]
    for (_, _, graded), value in zip(exercise.outputs, outputs):
        if graded:
            got[graded] = value.astype(np.float64)
    if exercise.returns:
        returned = codec.decode_output(report["returned"])
        if isinstance(returned, float):
            got[exercise.returns] = np.asarray(returned)
    return got


def _error(got, want):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    scale = np.abs(want).max(initial=0.0)
    error = np.abs(got - want).max(initial=0.0)
    return error / scale if scale > 0 else error
