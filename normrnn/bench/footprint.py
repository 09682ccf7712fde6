"""The memory footprint of training: what one document stores, and the peak of a training run."""

import functools
import json
import os
import subprocess
import sys
import tracemalloc

from .experiments import document, model

# Run in a separate process, so its resident size is that of training alone.
_TRAINING_RUN = """
import json, resource, sys
import numpy as np
import normrnn

V, H, T, m, n_docs, steps, threads = (int(a) for a in sys.argv[1:8])
rng = np.random.default_rng(0)
docs = [(rng.integers(0, V, T).astype(np.int32), m) for _ in range(n_docs)]
model = normrnn.NormRNN(V, H, seed=0)
model.batch_loss_and_grads(docs[:1], n_threads=1)      # load the BLAS, allocate its buffers


def kib(field):
    with open("/proc/self/status") as fh:
        return int(next(line for line in fh if line.startswith(field)).split()[1])


try:                                   # reset the high-water mark: the peak of training
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    before, reset = kib("VmRSS:"), True
except (OSError, StopIteration):
    before, reset = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, False
for _ in range(steps):
    loss, grads = model.batch_loss_and_grads(docs, n_threads=threads)
    for name, g in grads.items():
        getattr(model, name)[...] -= 1e-3 * g
after = kib("VmHWM:") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before": before, "after": after, "reset": reset}))
"""


def traced_peak(function):
    """Peak of the memory traced by :mod:`tracemalloc` (NumPy arrays included) during a call.

    Parameters
    ----------
    function : callable
        Called with no argument.

    Returns
    -------
    int
        Bytes above what was allocated before the call.
    """
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        function()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def training_run_rss(*, vocab_size, hidden_size, length, title_length, documents, threads,
                     steps):
    """Peak resident size of a separate Python process that trains with plain SGD.

    Parameters
    ----------
    vocab_size, hidden_size, length, title_length : int
        V, H, T and m of every document.
    documents : int
        Documents in the batch of every step.
    threads : int
        Threads of :meth:`~normrnn.NormRNN.batch_loss_and_grads`.
    steps : int
        SGD steps.

    Returns
    -------
    dict
        ``max_rss_bytes``: the peak while training (on Linux the high-water
        mark is reset before the first step; elsewhere it is the process's
        whole life), ``rss_growth_bytes``: that peak over the size before the
        first step; and the run's ``steps``, ``documents`` and ``threads``.
    """
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH")) if p))
    args = [vocab_size, hidden_size, length, title_length, documents, steps, threads]
    done = subprocess.run([sys.executable, "-c", _TRAINING_RUN, *map(str, args)],
                          capture_output=True, text=True, check=True, env=env)
    rss = json.loads(done.stdout.strip().splitlines()[-1])
    unit = 1 if sys.platform == "darwin" else 1024          # ru_maxrss and VmHWM in KiB
    return {"steps": steps, "documents": documents, "threads": threads,
            "peak_of_training_only": rss["reset"], "max_rss_bytes": rss["after"] * unit,
            "rss_growth_bytes": (rss["after"] - rss["before"]) * unit}


def memory_benchmark(*, vocab_size=96, hidden_size=128, length=256, title_length=16,
                     documents=16, threads=2, train_steps=5, seed=0):
    """Memory of training, float64: per document, per batch, and of a training run.

    * ``per_document``: the traced peak of one
      :meth:`~normrnn.NormRNN.loss_and_grads` call for T and 4 T tokens.  The
      difference per token is what the kernel stores per step, to compare
      with what it must keep: s_t, a_t, delta_t and E^T dz_t (H numbers
      each) and the logits (V), ``(4 H + V) x 8`` bytes.  (The inputs
      u = f(E[x]) are kept per distinct token, at most V of them: they stop
      growing once T >= V, as here.)  Anything allocated per token would show
      here.
    * ``batch``: the traced peak of one batch of ``documents`` documents on
      ``threads`` threads.
    * ``training_run``: see :func:`training_run_rss` (None if that process
      could not run, e.g. without ``/proc`` and :mod:`resource`).

    Parameters
    ----------
    vocab_size, hidden_size, length, title_length : int, optional
        V, H, T and m of every document.
    documents, threads, train_steps : int, optional
        Size of the batch, its threads, and the steps of the training run.
    seed : int, optional
        Seed of the documents and the model.

    Returns
    -------
    dict
    """
    def fresh():
        # a new model, and no scratch space kept from an earlier call: the
        # kernels reuse a per-thread workspace, which the peak must include
        import normrnn.model
        normrnn.model._local.__dict__.clear()
        return model(vocab_size, hidden_size, seed=seed)

    def document_peak(tokens):
        # the least of three: tracemalloc sees every thread, and another's
        # allocation during one call only ever adds to that call's peak
        peaks = []
        for _ in range(3):
            call = functools.partial(fresh().loss_and_grads, tokens, title_length)
            peaks.append(traced_peak(call))
        return min(peaks)

    short, long = document(vocab_size, length, seed), document(vocab_size, 4 * length, seed)
    fresh().loss_and_grads(short, title_length)      # what the first call makes once (caches
    peak_short = document_peak(short)                # of BLAS and thread settings) is not per token
    peak_long = document_peak(long)
    docs = [(document(vocab_size, length, seed + i), title_length) for i in range(documents)]
    m = fresh()
    peak_batch = traced_peak(lambda: m.batch_loss_and_grads(docs, n_threads=threads))
    try:
        run = training_run_rss(vocab_size=vocab_size, hidden_size=hidden_size, length=length,
                               title_length=title_length, documents=documents,
                               threads=threads, steps=train_steps)
    except (OSError, ValueError, subprocess.CalledProcessError):
        run = None
    return {
        "per_document": {"length": length, "peak_bytes": peak_short,
                         "long_length": 4 * length, "long_peak_bytes": peak_long,
                         "bytes_per_token": (peak_long - peak_short) / (3 * length),
                         "expected_bytes_per_token": (4 * hidden_size + vocab_size) * 8,
                         "parameter_bytes": sum(p.nbytes for p in m.parameters().values())},
        "batch": {"documents": documents, "threads": threads, "peak_bytes": peak_batch},
        "training_run": run,
    }
