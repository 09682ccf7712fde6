"""Which kernel runs the step product, chosen by timing the candidates once per process.

Every step of a lockstep batch (:meth:`normrnn.NormRNN.batch_loss_and_grads`,
:meth:`~normrnn.NormRNN.batch_loss`) multiplies the states (forward) or the
deltas (backward) of the documents stepping by S^T or S.  The package has
several kernels for it: register blocks of several shapes in
``rows_matmul.h`` for each instruction set level (x86-64-v4 is AVX-512,
v3 AVX2 with FMA, v1 plain SSE2), the matrix-vector kernels of ``matvec.h``
for a step of one document, and BLAS gemm.  Which is fastest depends on the
CPU, the dtype, H and the number of documents B, so the first batch of a
given (dtype, H, B) times the candidates on a product of that size, a few
milliseconds in all, and keeps the fastest for the rest of the process (as
FFTW's plans do).

**Same bits whichever wins.**  The candidates timed by default sum every
entry in the same order, fusing each multiply-add on a CPU with FMA (v3 and
v4) and not fusing on one without: they give the same bits, so the timing
decides the speed and never the results (a resumed training run continues
bit for bit).  BLAS gemm and the kernels of the other family sum in another
order or round otherwise; they run only when asked for, by
``NORMRNN_KERNEL=fastest`` (gemm and everything else compete too) or by name.

``NORMRNN_KERNEL`` (environment, read at each first use):

* unset, empty or ``auto``: the fastest kernel of the same-bits family;
* ``fastest``: the fastest of all, BLAS gemm too;
* a comma-separated list of names (:func:`kernel_choices` lists them under
  ``"available"``), such as ``v3-rows4x2,v3-matvec8`` or ``gemm``: these
  kernels, nothing timed (a step of several documents takes the rows kernel
  or ``gemm`` given, a step of one the matvec kernel given; a kind not named
  keeps its default).

B is rounded up to a power of two (at most 256) for the timing, so a
process times each (dtype, H) a handful of times at most.  One document
read alone (:meth:`normrnn.NormRNN.loss_and_grads`) runs the matvec kernel
chosen for B = 1.
"""

import os
import threading

import numpy as np

__all__ = ["ENVIRONMENT_VARIABLE", "KernelSettingError", "kernel_choices", "choose", "available"]

#: The environment variable that forces a choice.
ENVIRONMENT_VARIABLE = "NORMRNN_KERNEL"
GEMM = "gemm"
_GEMM_INDEX = -1
_LARGEST_BUCKET = 256
_REPEATS = 3



class KernelSettingError(ValueError):
    """``NORMRNN_KERNEL`` names no kernel this CPU runs (a user's mistake, not a bug)."""


_lock = threading.Lock()
_choices = {}          # (dtype name, H, bucket) -> the record kernel_choices() shows
_chosen = {}           # (dtype char, H, bucket, NORMRNN_KERNEL as set) -> choose()'s answer
_LEVEL_NAMES = {4: "x86-64-v4 (AVX-512)", 3: "x86-64-v3 (AVX2, FMA)", 1: "x86-64-v1 (SSE2)",
                0: "this build's -march"}


def _lockstep():
    from normrnn._kernels import lockstep
    return lockstep


def _runnable(level, cpu_level):
    """Whether a kernel of ``level`` runs here (level 0: a build for one -march only)."""
    return level <= cpu_level if cpu_level else level == 0


def available():
    """The kernels of this build that this CPU runs, and its instruction set level.

    Returns
    -------
    dict
        ``"cpu_level"`` (4, 3 or 1; 0 for a build without levels), its
        ``"vector_level"`` name, ``"rows"`` and ``"matvec"``: lists of kernel
        names, the same-bits family's first, then the others; ``"gemm"`` is a
        rows kernel too.
    """
    lockstep = _lockstep()
    cpu = lockstep._cpu_level()
    variants = lockstep._variants()
    out = {"cpu_level": cpu, "vector_level": _LEVEL_NAMES.get(cpu, str(cpu))}
    for kind in ("rows", "matvec"):
        runs = [(name, level) for name, level in variants[kind] if _runnable(level, cpu)]
        out[kind] = ([name for name, level in runs if _same_bits(level, cpu)]
                     + [name for name, level in runs if not _same_bits(level, cpu)])
    out["rows"].append(GEMM)
    return out


def _same_bits(level, cpu_level):
    """Whether a kernel of ``level`` rounds as the default kernels do on this CPU."""
    return (level >= 3) == (cpu_level >= 3)


def _indices(kind):
    """Kernel name -> its index in the build's table of ``kind``."""
    table = {name: i for i, (name, _) in enumerate(_lockstep()._variants()[kind])}
    if kind == "rows":
        table[GEMM] = _GEMM_INDEX
    return table


def _setting(environ=None):
    """``NORMRNN_KERNEL``, parsed: "auto", "fastest", or {"rows": name, "matvec": name}.

    Raises
    ------
    KernelSettingError
        A ValueError naming the variable, for a name that is not a kernel
        this CPU runs, or two kernels of one kind.
    """
    value = (os.environ if environ is None else environ).get(ENVIRONMENT_VARIABLE, "").strip()
    if value.lower() in ("", "auto", "fastest"):
        return value.lower() or "auto"
    runs = available()
    forced = {}
    for name in (part.strip() for part in value.split(",")):
        kind = "rows" if name in runs["rows"] else "matvec" if name in runs["matvec"] else None
        if kind is None:
            raise KernelSettingError(
                f"{ENVIRONMENT_VARIABLE}={value!r}: {name!r} is not a kernel this CPU runs; "
                f"use auto, fastest, or names from: {', '.join(runs['rows'] + runs['matvec'])}")
        if kind in forced:
            raise KernelSettingError(
                f"{ENVIRONMENT_VARIABLE}={value!r}: names two {kind} kernels, "
                f"{forced[kind]!r} and {name!r}; give one of each kind at most")
        forced[kind] = name
    return forced


def _bucket(B):
    """B rounded up to a power of two, at most 256: the size the kernels are timed at."""
    bucket = 1
    while bucket < min(B, _LARGEST_BUCKET):
        bucket *= 2
    return bucket


def _time(dtype, H, rows, candidates, calls):
    """Seconds per product of each (rows kernel, matvec kernel) pair, on random data."""
    rng = np.random.default_rng(0)
    m = (rng.standard_normal((H, H)) / np.sqrt(H)).astype(dtype)
    x = rng.uniform(-1, 1, (rows, H)).astype(dtype)
    y = np.zeros((rows, H), dtype=dtype)
    return _lockstep()._time_products(m, x, y, candidates, _REPEATS, calls)


def _measure(dtype, H, bucket, setting):
    """The record of one (dtype, H, bucket): the kernels chosen and the timings behind them."""
    runs = available()
    rows_index, matvec_index = _indices("rows"), _indices("matvec")
    record = {"dtype": np.dtype(dtype).name, "H": H, "B": bucket, "forced": None, "times_us": {}}
    if isinstance(setting, dict):
        record["forced"] = ",".join(setting.values())
        record["rows"] = setting.get("rows", runs["rows"][0])
        record["matvec"] = setting.get("matvec", runs["matvec"][0])
        return record
    family = {kind: [name for name in runs[kind]
                     if name != GEMM and _same_bits(_level(kind, name), runs["cpu_level"])]
              for kind in ("rows", "matvec")}
    # "auto" times its family, and gemm for the record (the report shows how
    # far it is); "fastest" times everything this CPU runs
    timed = {kind: runs[kind] if setting == "fastest"
             else family[kind] + ([GEMM] if kind == "rows" else []) for kind in ("rows", "matvec")}
    for kind, rows, calls in (("matvec", 1, 16), ("rows", bucket, 1)):
        if kind == "rows" and bucket == 1:
            record["rows"] = family["rows"][0]         # never runs: one row takes matvec
            continue
        pairs = [(rows_index[name], 0) if kind == "rows" else (0, matvec_index[name])
                 for name in timed[kind]]
        seconds = _time(dtype, H, rows, pairs, calls)
        times = dict(zip(timed[kind], seconds))
        # unrounded: the times the choice was made on (rounded, two could tie in the
        # record where the choice between them did not)
        record["times_us"].update({name: t * 1e6 for name, t in times.items()})
        pool = timed[kind] if setting == "fastest" else family[kind]
        record[kind] = min(pool, key=times.__getitem__)
    return record


def _level(kind, name):
    return dict(_lockstep()._variants()[kind])[name]


def choose(dtype, H, B):
    """The step-product kernels for B documents of H numbers: (rows index, matvec index).

    Timed at the first call for this (dtype, H, B rounded up to a power of
    two), then remembered for the process: a later call with the same
    ``NORMRNN_KERNEL`` is a dictionary lookup, cheap enough for every
    document and every batch.

    Parameters
    ----------
    dtype : {numpy.float64, numpy.float32}
    H, B : int
        Hidden size and number of documents.

    Returns
    -------
    tuple of int
        Indices into the build's kernel tables, -1 for gemm (as the lockstep
        kernels take them).

    Raises
    ------
    KernelSettingError
        A ValueError, if ``NORMRNN_KERNEL`` names no kernel this CPU runs.
    """
    fast = (np.dtype(dtype).char, int(H), _bucket(int(B)), os.environ.get(ENVIRONMENT_VARIABLE))
    if fast in _chosen:
        return _chosen[fast]
    setting = _setting()
    key = (np.dtype(dtype).name, int(H), fast[2], repr(setting))
    with _lock:
        if key not in _choices:
            _choices[key] = _measure(dtype, int(H), key[2], setting)
        record = _choices[key]
    _chosen[fast] = _indices("rows")[record["rows"]], _indices("matvec")[record["matvec"]]
    return _chosen[fast]


def kernel_choices():
    """What this process chose for each (dtype, H, B) it has run, and what it could choose from.

    Returns
    -------
    dict
        ``"setting"``: the value of ``NORMRNN_KERNEL`` in force ("auto" when
        unset); ``"available"``: :func:`available`; ``"choices"``: one dict
        per (dtype, H, B) run so far, with ``"dtype"``, ``"H"``, ``"B"``
        (rounded up to a power of two), ``"rows"`` and ``"matvec"`` (the
        kernels chosen), ``"forced"`` (the names forced, or None) and
        ``"times_us"`` (microseconds per product of each candidate timed:
        the family and gemm, or everything with ``fastest``; empty when
        forced).  Plain Python values, ready for JSON.

    Raises
    ------
    KernelSettingError
        A ValueError, if ``NORMRNN_KERNEL`` names no kernel this CPU runs.
    """
    setting = _setting()
    with _lock:
        records = [dict(record, times_us=dict(record["times_us"]))
                   for _, record in sorted(_choices.items())]
    return {"setting": setting if isinstance(setting, str) else ",".join(setting.values()),
            "available": available(), "choices": records}
