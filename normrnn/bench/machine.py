"""What the benchmark's numbers depend on: the CPU, its vector level, BLAS, and the kernels run."""

import os
import platform

from threadpoolctl import threadpool_info

from .implementations import torch_available

#: The CPU flags of each x86-64 level that normrnn's kernels are built for, best first
#: (the test of ``matvec.h``: v4 AVX-512 F, VL, BW, DQ and CD; v3 AVX2, FMA and BMI).
LEVELS = (("x86-64-v4", "AVX-512", ("avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512cd",
                                     "avx2", "fma", "bmi2")),
          ("x86-64-v3", "AVX2", ("avx2", "fma", "bmi1", "bmi2")))

#: The environment variables that can hold a library below the best kernels
#: the CPU runs: each library's own switch (to keep below AVX-512, as on an
#: AVX2 CPU, or to name OpenBLAS's core and cache).
LIMITING = ("NORMRNN_MAX_LEVEL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
            "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "XLA_FLAGS")

#: The environment variables that choose kernels or threads, normrnn's and its peers'.
ENVIRONMENT = ("NORMRNN_KERNEL", *LIMITING, "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


def cpu_info(path="/proc/cpuinfo"):
    """The first CPU's model name, family, model number and flags, as the OS lists them.

    Parameters
    ----------
    path : str, optional
        Linux's ``/proc/cpuinfo``; elsewhere only the name is known.

    Returns
    -------
    dict
        ``name``, ``family`` and ``model`` (str, None where unknown) and
        ``flags`` (a set of str, empty where unknown).
    """
    fields = {}
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    break                                   # the first processor only
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return {"name": fields.get("model name") or platform.processor() or platform.machine(),
            "family": fields.get("cpu family"), "model": fields.get("model"),
            "flags": set(fields.get("flags", "").split())}


def vector_level(flags):
    """The x86-64 level the kernels run at on a CPU with these flags, and its extensions.

    Parameters
    ----------
    flags : set of str
        As in :func:`cpu_info`.

    Returns
    -------
    level : str
        ``"x86-64-v4 (AVX-512)"``, ``"x86-64-v3 (AVX2)"`` or ``"baseline"``.
    extensions : list of str
        The CPU's AVX-512 extensions (``avx512f``, ``avx512vl``, ...), sorted.
    """
    extensions = sorted(f for f in flags if f.startswith("avx512"))
    for name, vectors, needs in LEVELS:
        if all(f in flags for f in needs):
            return f"{name} ({vectors})", extensions
    return "baseline", extensions


def kernels_run(level):
    """Which of normrnn's kernels run on this machine, as far as Python can tell.

    The C kernels of ``matvec.h`` (one document's S s and S^T delta) and
    ``rows_matmul.h`` (a batch's step) are built once per x86-64 level on
    Linux with GCC, and the best level the CPU runs is chosen at first use.

    Parameters
    ----------
    level : str
        As returned by :func:`vector_level`.

    Returns
    -------
    dict
        ``"clones"``: a sentence saying which clones run; ``"choices"``: what
        :func:`normrnn.kernel_choices` reports (call it again after a run to
        see what the run chose).
    """
    import normrnn
    from normrnn.kernel_choice import LEVEL_VARIABLE, available, level_limit

    runs = available()                                   # the level the kernels really run at
    if not runs["cpu_level"]:                            # a build without levels
        return {"clones": "matvec.h and rows_matmul.h: built for this machine's -march",
                "choices": normrnn.kernel_choices()}
    running = runs["vector_level"].split()[0]
    clones = f"matvec.h and rows_matmul.h: the {running} clones, chosen at first use"
    if running != level.split()[0]:
        limit = level_limit()
        clones += (f" ({LEVEL_VARIABLE}={limit!r}; the CPU runs {level})" if limit
                   else f" (below the CPU's {level})")
    return {"clones": clones, "choices": normrnn.kernel_choices()}


def machine_info():
    """What the numbers depend on: CPU, vector level, kernels, BLAS libraries.

    Returns
    -------
    dict
        ``cpu`` (model name), ``cpu_family``, ``cpu_model``, ``vector_level``,
        ``avx512_extensions``, ``kernels`` (:func:`kernels_run`), ``cores``,
        ``python``, ``numpy``, ``torch`` (version or None); ``blas``: one
        entry per BLAS library loaded, with the ``architecture`` (core type)
        whose kernels it runs; ``environment``: the variables of
        :data:`ENVIRONMENT` that are set; ``load``: the 1-minute load
        average (other work on the machine makes timings noisy).
    """
    import numpy as np

    cpu = cpu_info()
    level, extensions = vector_level(cpu["flags"])
    blas = [{"library": os.path.basename(info.get("filepath", "")),
             "api": info.get("internal_api"), "version": info.get("version"),
             "architecture": info.get("architecture"), "threads": info.get("num_threads")}
            for info in threadpool_info() if info.get("user_api") == "blas"]
    torch_version = None
    if torch_available():
        import torch

        torch_version = torch.__version__
    environment = {k: os.environ[k] for k in ENVIRONMENT if k in os.environ}
    return {"cpu": cpu["name"], "cpu_family": cpu["family"], "cpu_model": cpu["model"],
            "vector_level": level, "avx512_extensions": extensions,
            "kernels": kernels_run(level), "cores": os.cpu_count(),
            "python": platform.python_version(), "numpy": np.__version__,
            "torch": torch_version, "blas": blas, "environment": environment,
            "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}
