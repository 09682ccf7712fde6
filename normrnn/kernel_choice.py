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

**The loss's blocks.**  Each kernel scores its states (the logits
Z = S E^T, the softmax, dZ E and dE += dZ^T S) either in blocks of 64 rows,
which stay in cache from one product to the next, or all rows at once
(:func:`normrnn._kernels.bptt_gathered._score_rows`).  Which is faster
depends on the BLAS: OpenBLAS multiplies a block that small without packing
it where it has kernels for small matrices (its AVX-512 cores: SkylakeX,
Cooperlake, SapphireRapids), and packs it, slowly, where it has not
(:func:`loss_block_times` times both).  The two round differently (the last
bits of the loss and the gradients), and a timing near a tie could choose
one in one process and the other in the next: a resumed run would then not
continue bit for bit.  So this choice is not timed: the blocks run where the
BLAS is an OpenBLAS with those kernels, everything else runs all rows at
once.  ``NORMRNN_KERNEL`` takes ``loss-blocks64`` or ``loss-whole`` too, and
with ``fastest`` both are timed and the faster runs.

**A CPU without AVX-512, on one with it.**  ``NORMRNN_MAX_LEVEL=v3`` (or
``v1``) keeps every C kernel of the package at that level at most, as on a
CPU without AVX-512 (or without AVX2): the step products, the activation and
the softmax.  It is read once, when the kernels first run, and is for tests
and benchmarks, as ``OPENBLAS_CORETYPE=Haswell`` and
``ATEN_CPU_CAPABILITY=avx2`` are for OpenBLAS and PyTorch.  v3 and v4 give
the same bits; v1 rounds otherwise (it has no fused multiply-add).

B is rounded up to a power of two (at most 256) for the timing, so a
process times each (dtype, H) a handful of times at most.  One document
read alone (:meth:`normrnn.NormRNN.loss_and_grads`) runs the matvec kernel
chosen for B = 1.
"""

import os
import threading

import numpy as np

__all__ = ["ENVIRONMENT_VARIABLE", "KernelSettingError", "kernel_choices", "choose",
           "loss_block_rows", "loss_block_times", "blas_cores", "available", "level_limit"]

#: The environment variable that forces a choice.
ENVIRONMENT_VARIABLE = "NORMRNN_KERNEL"
#: The environment variable that keeps the kernels at a lower x86-64 level.
LEVEL_VARIABLE = "NORMRNN_MAX_LEVEL"
#: Its values: v4 (no limit), v3 (AVX2 and FMA at most), v1 (SSE2).
LEVEL_LIMITS = ("v4", "v3", "v1")
GEMM = "gemm"
_GEMM_INDEX = -1
_LARGEST_BUCKET = 256
_REPEATS = 3



class KernelSettingError(ValueError):
    """``NORMRNN_KERNEL`` or ``NORMRNN_MAX_LEVEL`` is not a setting (a user's mistake, not a bug)."""


_lock = threading.Lock()
_choices = {}          # (dtype name, H, bucket) -> the record kernel_choices() shows
_loss_choices = {}     # (dtype name, H, V, setting) -> the record kernel_choices() shows
_loss_chosen = {}      # (dtype char, H, V, NORMRNN_KERNEL as set) -> loss_block_rows()'s answer
#: The loss's block sizes (rows per block; 0: every row in one block), by name.
LOSS_BLOCKS = {"loss-blocks64": 64, "loss-whole": 0}
#: OpenBLAS cores (threadpoolctl's "architecture") with kernels for small matrices.
SMALL_MATRIX_CORES = frozenset({"SkylakeX", "Cooperlake", "SapphireRapids"})
_LOSS_ROWS = 2048      # states scored per timing (a lockstep group of 8 documents of 256)
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
    out["loss"] = list(LOSS_BLOCKS)
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
    environ = os.environ if environ is None else environ
    level_limit(environ)
    value = environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if value.lower() in ("", "auto", "fastest"):
        return value.lower() or "auto"
    runs = available()
    forced = {}
    for name in (part.strip() for part in value.split(",")):
        kind = next((kind for kind in ("rows", "matvec", "loss") if name in runs[kind]), None)
        if kind is None:
            raise KernelSettingError(
                f"{ENVIRONMENT_VARIABLE}={value!r}: {name!r} is not a kernel this CPU runs; "
                f"use auto, fastest, or names from: "
                f"{', '.join(runs['rows'] + runs['matvec'] + runs['loss'])}")
        if kind in forced:
            raise KernelSettingError(
                f"{ENVIRONMENT_VARIABLE}={value!r}: names two {kind} kernels, "
                f"{forced[kind]!r} and {name!r}; give one of each kind at most")
        forced[kind] = name
    return forced


def level_limit(environ=None):
    """``NORMRNN_MAX_LEVEL``, checked: "v3", "v1", or None (no limit).

    The C kernels read it themselves, once; this says what they read, and
    refuses a value they would ignore.

    Parameters
    ----------
    environ : mapping, optional
        The environment (default ``os.environ``).

    Returns
    -------
    str or None

    Raises
    ------
    KernelSettingError
        A ValueError naming the variable, for a value not in :data:`LEVEL_LIMITS`.
    """
    value = (os.environ if environ is None else environ).get(LEVEL_VARIABLE)
    if value is None or value == "" or value == "v4":
        return None
    if value not in LEVEL_LIMITS:
        raise KernelSettingError(f"{LEVEL_VARIABLE}={value!r}: use one of "
                                 f"{', '.join(LEVEL_LIMITS)} (or leave it unset)")
    return value


def _narrowed(setting, kinds):
    """The part of a parsed ``NORMRNN_KERNEL`` that concerns ``kinds``.

    A setting that forces kernels of other kinds only is "auto" here: forcing
    a step kernel does not force the loss's blocks, nor the other way round.
    """
    if not isinstance(setting, dict):
        return setting
    return {kind: name for kind, name in setting.items() if kind in kinds} or "auto"


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
    setting = _narrowed(_setting(), ("rows", "matvec"))
    key = (np.dtype(dtype).name, int(H), fast[2], repr(setting))
    with _lock:
        if key not in _choices:
            _choices[key] = _measure(dtype, int(H), key[2], setting)
        record = _choices[key]
    _chosen[fast] = _indices("rows")[record["rows"]], _indices("matvec")[record["matvec"]]
    return _chosen[fast]


def blas_cores():
    """The core type of every OpenBLAS loaded (threadpoolctl's ``architecture``); [] for none.

    Any other BLAS loaded is listed by its ``internal_api`` (``"mkl"``, ...).
    """
    from threadpoolctl import threadpool_info
    import normrnn._kernels.bptt_gathered  # noqa: F401  (loads the BLAS the kernels call)
    return [info.get("architecture") if info["internal_api"] == "openblas"
            else info["internal_api"] for info in threadpool_info() if info["user_api"] == "blas"]


def loss_block_times(dtype, H, V, rows=_LOSS_ROWS, repeats=_REPEATS):
    """Seconds to score ``rows`` states of hidden size H and V tokens, for each of :data:`LOSS_BLOCKS`.

    BLAS on one thread, as batches run it; random states and targets.

    Returns
    -------
    dict
        Name -> seconds, the fastest of ``repeats`` timings.
    """
    from normrnn._kernels import bptt_gathered
    from normrnn.parallel import blas_threads
    rng = np.random.default_rng(0)
    embedding = (rng.standard_normal((V, H)) / np.sqrt(H)).astype(dtype)
    states = rng.uniform(-1, 1, (rows, H)).astype(dtype)
    targets = rng.integers(0, V, rows, dtype=np.int32)
    with blas_threads(1):
        seconds = bptt_gathered._time_scoring(embedding, states, targets,
                                              list(LOSS_BLOCKS.values()), repeats)
    return dict(zip(LOSS_BLOCKS, seconds))


def _measure_loss(dtype, H, V, setting):
    """The record of one (dtype, H, V): the loss's blocks chosen, and why."""
    record = {"dtype": np.dtype(dtype).name, "H": H, "V": V, "forced": None, "times_us": {}}
    if isinstance(setting, dict) and "loss" in setting:
        record["forced"] = record["loss"] = setting["loss"]
        record["why"] = "forced"
    elif setting == "fastest":
        times = loss_block_times(dtype, H, V)
        record["times_us"] = {name: t * 1e6 for name, t in times.items()}
        record["loss"] = min(times, key=times.__getitem__)
        record["why"] = "the faster (NORMRNN_KERNEL=fastest)"
    else:
        cores = blas_cores()
        small = bool(cores) and all(core in SMALL_MATRIX_CORES for core in cores)
        record["loss"] = "loss-blocks64" if small else "loss-whole"
        record["why"] = (f"BLAS: {', '.join(map(str, cores)) or 'none found'}"
                         f"{' (small-matrix kernels)' if small else ''}")
    return record


def loss_block_rows(dtype, H, V):
    """Rows per block of the loss's products for hidden size H and V tokens (0: one block).

    Chosen at the first call for this (dtype, H, V) by the BLAS the kernels
    call (see the module docstring for the rule), then remembered for the
    process, as :func:`choose` does.

    Parameters
    ----------
    dtype : {numpy.float64, numpy.float32}
    H, V : int
        Hidden size and vocabulary size.

    Returns
    -------
    int

    Raises
    ------
    KernelSettingError
        A ValueError, if ``NORMRNN_KERNEL`` names no kernel this CPU runs.
    """
    fast = (np.dtype(dtype).char, int(H), int(V), os.environ.get(ENVIRONMENT_VARIABLE))
    if fast in _loss_chosen:
        return _loss_chosen[fast]
    setting = _narrowed(_setting(), ("loss",))
    key = (np.dtype(dtype).name, int(H), int(V), repr(setting))
    with _lock:
        if key not in _loss_choices:
            _loss_choices[key] = _measure_loss(dtype, int(H), int(V), setting)
        record = _loss_choices[key]
    _loss_chosen[fast] = LOSS_BLOCKS[record["loss"]]
    return _loss_chosen[fast]


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
        forced); ``"loss_choices"``: one dict per (dtype, H, V) run so far,
        with ``"dtype"``, ``"H"``, ``"V"``, ``"loss"`` (the blocks chosen, a
        name of :data:`LOSS_BLOCKS`), ``"forced"``, ``"why"`` (the BLAS
        cores the rule read, or "forced") and ``"times_us"`` (microseconds to
        score 2048 rows, per candidate, where timed: with ``fastest``).
        Plain Python values, ready for JSON.

    Raises
    ------
    KernelSettingError
        A ValueError, if ``NORMRNN_KERNEL`` names no kernel this CPU runs.
    """
    setting = _setting()
    with _lock:
        records = [dict(record, times_us=dict(record["times_us"]))
                   for _, record in sorted(_choices.items())]
        loss_records = [dict(record, times_us=dict(record["times_us"]))
                        for _, record in sorted(_loss_choices.items())]
    return {"setting": setting if isinstance(setting, str) else ",".join(setting.values()),
            "available": available(), "choices": records, "loss_choices": loss_records}
