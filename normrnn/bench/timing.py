"""How the benchmark times: interleaved rounds, on one thread, and how busy the machine was."""

import gc
import math
import os
import statistics
import time

from threadpoolctl import threadpool_limits

from .implementations import torch_available


def time_interleaved(functions, *, rounds=7, min_seconds=0.1):
    """Seconds per call of each function, timed in interleaved rounds.

    Each function is called once to warm up and once more to choose how many
    calls make one measurement of about ``min_seconds``.  Round r runs every
    function once, in an order rotated by r, so a slow phase of the machine
    hits all of them alike.  The garbage collector runs between rounds and is
    off during them, as in :mod:`timeit`.

    Parameters
    ----------
    functions : dict
        Name -> function of no argument.
    rounds : int, optional
        Number of rounds: the median is taken over them.
    min_seconds : float, optional
        Target length of one measurement (0: one call each).

    Returns
    -------
    dict
        Name -> ``{"seconds": median over rounds, "best": minimum,
        "samples": per-call seconds of each round, "calls": calls per
        measurement}``.
    """
    names = list(functions)
    calls = {}
    for name in names:
        functions[name]()
        start = time.perf_counter()
        functions[name]()
        once = time.perf_counter() - start
        calls[name] = max(1, math.ceil(min_seconds / max(once, 1e-9)))
    samples = {name: [] for name in names}
    enabled = gc.isenabled()
    try:
        for r in range(rounds):
            gc.collect()
            gc.disable()
            for name in names[r % len(names):] + names[:r % len(names)]:
                function, n = functions[name], calls[name]
                start = time.perf_counter()
                for _ in range(n):
                    function()
                samples[name].append((time.perf_counter() - start) / n)
            if enabled:
                gc.enable()
    finally:
        if enabled:
            gc.enable()
    return {name: {"seconds": statistics.median(samples[name]), "best": min(samples[name]),
                   "samples": samples[name], "calls": calls[name]} for name in names}


class one_thread:
    """Context manager: BLAS and PyTorch on one thread inside.

    Parameters
    ----------
    use_torch : bool, optional
        Also import torch (if installed) and limit its threads.  It must be
        imported here, before its thread pools start: its own OpenMP and BLAS
        are not loaded yet when :func:`threadpoolctl.threadpool_limits` runs.

    Examples
    --------
    >>> with one_thread():                        # doctest: +SKIP
    ...     model.loss_and_grads(tokens, 0)
    """

    def __init__(self, use_torch=True):
        self.use_torch = use_torch

    def __enter__(self):
        self._torch = None
        if self.use_torch and torch_available():
            import torch

            self._torch = torch.get_num_threads()
            torch.set_num_threads(1)
        self._blas = threadpool_limits(limits=1)
        self._blas.__enter__()
        return self

    def __exit__(self, *exc):
        if self._torch is not None:
            import torch

            torch.set_num_threads(self._torch)
        return self._blas.__exit__(*exc)


def _busy_seconds():
    """CPU seconds spent by the whole machine (all cores) outside idle, or None."""
    try:
        with open("/proc/stat", encoding="utf-8") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)       # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class other_load:
    """Context manager: how busy the machine was with other programs inside.

    On exit, ``cores`` is the average number of cores that other processes
    kept busy (the machine's busy time, from ``/proc/stat``, less this
    process's own CPU time, over the wall time); None where ``/proc/stat``
    is missing.

    Examples
    --------
    >>> with other_load() as load:                # doctest: +SKIP
    ...     run_something()
    >>> load.cores                                # doctest: +SKIP
    0.02
    """

    def __enter__(self):
        self.cores = None
        self._start = (_busy_seconds(), _own_seconds(), time.perf_counter())
        return self

    def __exit__(self, *exc):
        busy, own, wall = _busy_seconds(), _own_seconds(), time.perf_counter()
        if busy is not None and self._start[0] is not None and wall > self._start[2]:
            other = (busy - self._start[0]) - (own - self._start[1])
            self.cores = max(0.0, other / (wall - self._start[2]))
        return False


def _own_seconds():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
