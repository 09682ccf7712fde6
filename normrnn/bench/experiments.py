"""The step, thread and scaling benchmarks."""

import time

import numpy as np

from ..model import NormRNN
from .implementations import flops_per_token, gemm_function, sequential_functions, step_functions
from .timing import one_thread, time_interleaved


def document(vocab_size, length, seed=0):
    """A random document of ``length`` token ids in [0, ``vocab_size``).

    Parameters
    ----------
    vocab_size, length : int
        V and T.
    seed : int, optional
        Seed of the tokens.

    Returns
    -------
    ndarray of int32
    """
    return np.random.default_rng(seed).integers(0, vocab_size, length).astype(np.int32)


def model(vocab_size, hidden_size, dtype=np.float64, seed=0, gain="fixed"):
    """A model as initialised by :class:`~normrnn.NormRNN`, with a small nonzero bias.

    Parameters
    ----------
    vocab_size, hidden_size : int
        V and H.
    dtype : numpy.float64 or numpy.float32, optional
        Floating type of the parameters.
    seed : int, optional
        Seed of the parameters.
    gain : {"fixed", "learned"}, optional
        As in :class:`~normrnn.NormRNN`.

    Returns
    -------
    NormRNN
    """
    m = NormRNN(vocab_size, hidden_size, seed=seed, dtype=dtype, gain=gain)
    m.bias[:] = np.random.default_rng(seed + 1).normal(0, 0.1, hidden_size)
    return m


def relative_difference(result, expected):
    """Largest relative difference of a loss and its gradients from the expected ones.

    Parameters
    ----------
    result, expected : (float, list of ndarray)
        As returned by the functions of :func:`~normrnn.bench.step_functions`
        (gradients of any floating type: compared in float64).

    Returns
    -------
    float
        The largest, over the loss and each gradient, of max|a - b| / max|b|.
    """
    (loss, grads), (want_loss, want) = result, expected
    diffs = [abs(loss - want_loss) / max(abs(want_loss), 1e-300)]
    for g, w in zip(grads, want, strict=True):
        g, w = (np.asarray(a, dtype=np.float64) for a in (g, w))
        diffs.append(float(np.max(np.abs(g - w)) / max(float(np.max(np.abs(w))), 1e-300)))
    return max(diffs)


def _gemm_peak(size, dtype, rounds, min_seconds):
    timing = time_interleaved({"gemm": gemm_function(size, dtype)}, rounds=rounds,
                              min_seconds=min_seconds)["gemm"]
    return 2 * size ** 3 / timing["seconds"] / 1e9


def step_benchmark(*, vocab_size=96, hidden_size=128, length=256, title_length=16,
                   dtypes=(np.float64, np.float32), use_torch=True, rounds=7,
                   min_seconds=0.1, gemm_size=1024, seed=0):
    """Time one training step of every implementation, and the gemm peak, on one thread.

    The gemm (n^3, n = ``gemm_size``) runs in the same interleaved rounds.

    Parameters
    ----------
    vocab_size, hidden_size, length, title_length : int, optional
        V, H, T and m of the document.
    dtypes : sequence of dtype, optional
        Floating types to time, each in its own rounds.
    use_torch : bool, optional
        Include the PyTorch versions (when torch is installed).
    rounds, min_seconds : optional
        See :func:`~normrnn.bench.time_interleaved`.
    gemm_size : int, optional
        n of the n x n x n product that measures the peak.
    seed : int, optional
        Seed of the document and the model.

    Returns
    -------
    dict
        For each dtype name, ``{"peak_gflops", "gemm_size",
        "sequential_product_seconds" ({"matvec", "gemv"}: seconds per product
        y = M^T x in a dependent chain, see
        :func:`~normrnn.bench.sequential_functions`), "implementations": {name:
        {"tokens_per_s", "gflops", "peak_share", "speedup" (normrnn's
        tokens/s over this one's), "seconds", "best", "samples",
        "max_relative_difference" (of the loss and gradients, from normrnn's),
        "first_seconds" (its first call: the time to first gradient)}}}``.
    """
    tokens = document(vocab_size, length, seed)
    flops = flops_per_token(vocab_size, hidden_size)
    results = {}
    with one_thread(use_torch):
        for dtype in dtypes:
            functions = step_functions(model(vocab_size, hidden_size, dtype, seed), tokens,
                                       title_length, use_torch=use_torch)
            first, outputs = {}, {}
            for name, f in functions.items():        # the first call: time to first gradient
                start = time.perf_counter()
                outputs[name] = f()
                first[name] = time.perf_counter() - start
            differences = {name: relative_difference(out, outputs["normrnn"])
                           for name, out in outputs.items()}
            functions["gemm"] = gemm_function(gemm_size, dtype, seed=seed)
            sequential = sequential_functions(hidden_size, length, dtype, seed=seed)
            functions.update({f"sequential {k}": f for k, f in sequential.items()})
            timings = time_interleaved(functions, rounds=rounds, min_seconds=min_seconds)
            peak = 2 * gemm_size ** 3 / timings.pop("gemm")["seconds"] / 1e9
            per_product = {k: timings.pop(f"sequential {k}")["seconds"] / (2 * (length - 1))
                           for k in sequential}
            rows = {}
            for name, timing in timings.items():
                rate = length / timing["seconds"]
                rows[name] = dict(timing, tokens_per_s=rate, gflops=rate * flops / 1e9,
                                  peak_share=rate * flops / 1e9 / peak,
                                  speedup=timing["seconds"] / timings["normrnn"]["seconds"],
                                  max_relative_difference=differences[name],
                                  first_seconds=first[name])
            results[np.dtype(dtype).name] = {"peak_gflops": peak, "gemm_size": gemm_size,
                                             "sequential_product_seconds": per_product,
                                             "implementations": rows}
    return results


def _same(a, b):
    return a[0] == b[0] and all(np.array_equal(x, y) for (_, x), (_, y)
                                in zip(a[1].items(), b[1].items()))


def thread_benchmark(*, vocab_size=96, hidden_size=128, length=256, title_length=16,
                     documents=16, threads=(1, 2), dtypes=(np.float64, np.float32),
                     rounds=7, min_seconds=0.1, seed=0):
    """Tokens/s of :meth:`~normrnn.NormRNN.batch_loss_and_grads` on 1 and more threads.

    Also checks that a batch is reproducible: two runs on the most threads
    give bitwise-equal results.

    Parameters
    ----------
    vocab_size, hidden_size, length, title_length : int, optional
        V, H, T and m of every document.
    documents : int, optional
        Documents in the batch, ``length`` tokens each.
    threads : sequence of int, optional
        Thread counts to compare.
    dtypes : sequence of dtype, optional
        Floating types, each timed in its own rounds.
    rounds, min_seconds : optional
        See :func:`~normrnn.bench.time_interleaved`.
    seed : int, optional
        Seed of the documents and the model.

    Returns
    -------
    dict
        For each dtype name, ``{"documents", "tokens_per_s": {threads: ...},
        "speedup": {threads: over the fewest}, "reproducible": bool,
        "thread_difference": relative difference of the results on the
        fewest and the most threads (rounding of the reordered sum)}``.
    """
    docs = [(document(vocab_size, length, seed + i), title_length) for i in range(documents)]
    fewest, most = min(threads), max(threads)
    results = {}
    for dtype in dtypes:
        m = model(vocab_size, hidden_size, dtype, seed)
        functions = {k: (lambda k=k, m=m: m.batch_loss_and_grads(docs, n_threads=k))
                     for k in threads}
        timings = time_interleaved(functions, rounds=rounds, min_seconds=min_seconds)
        rate = {k: documents * length / timings[k]["seconds"] for k in threads}
        first, second = functions[most](), functions[most]()
        as_lists = [(r[0], [g for _, g in r[1].items()]) for r in (first, functions[fewest]())]
        results[np.dtype(dtype).name] = {
            "documents": documents, "tokens_per_s": rate,
            "speedup": {k: rate[k] / rate[fewest] for k in threads},
            "reproducible": _same(first, second),
            "thread_difference": relative_difference(*as_lists),
        }
    return results


def scaling_benchmark(*, vocab_size=96, hidden_sizes=(32, 64, 128, 256, 512),
                      lengths=(64, 256, 1024, 4096), length=256, hidden_size=128,
                      title_length=16, use_torch=True, rounds=3, min_seconds=0.05,
                      names=("normrnn", "normrnn_float32", "by_section", "numpy", "torch"),
                      seed=0):
    """Tokens/s over H (at T = ``length``) and over T (at H = ``hidden_size``), one thread.

    Parameters
    ----------
    vocab_size : int, optional
        V.
    hidden_sizes, lengths : sequence of int, optional
        The two sweeps.
    length, hidden_size : int, optional
        The T of the sweep over H and the H of the sweep over T.
    title_length : int, optional
        m of every document.
    use_torch : bool, optional
        Include PyTorch (batched) when installed and named in ``names``.
    rounds, min_seconds : optional
        See :func:`~normrnn.bench.time_interleaved`.
    names : sequence of str, optional
        Implementations: keys of :data:`~normrnn.bench.LABELS`, and
        ``normrnn_float32``.
    seed : int, optional
        Seed of the documents and models.

    Returns
    -------
    dict
        ``"peak_gflops"`` (a 512^3 dgemm), and for ``"hidden_size"`` and
        ``"length"``: ``{"values", "fixed" (the other size), "tokens_per_s":
        {name: [one per value, None if not timed]}, "peak_share": [of
        normrnn's float64 FLOP rate]}``.
    """
    results = {}
    with one_thread(use_torch):
        peak = _gemm_peak(512, np.float64, rounds=3, min_seconds=0.05)
        for axis, values in (("hidden_size", hidden_sizes), ("length", lengths)):
            rates = {name: [] for name in names}
            shares = []
            for value in values:
                H = value if axis == "hidden_size" else hidden_size
                T = value if axis == "length" else length
                tokens = document(vocab_size, T, seed)
                functions = step_functions(model(vocab_size, H, np.float64, seed), tokens,
                                           title_length, use_torch=use_torch)
                if "normrnn_float32" in names:
                    functions["normrnn_float32"] = step_functions(
                        model(vocab_size, H, np.float32, seed), tokens, title_length,
                        use_torch=False)["normrnn"]
                functions = {k: f for k, f in functions.items() if k in names}
                timings = time_interleaved(functions, rounds=rounds, min_seconds=min_seconds)
                for name in names:
                    rates[name].append(T / timings[name]["seconds"] if name in timings else None)
                shares.append(rates["normrnn"][-1] * flops_per_token(vocab_size, H) / 1e9 / peak)
            results[axis] = {"values": list(values),
                             "fixed": length if axis == "hidden_size" else hidden_size,
                             "tokens_per_s": rates, "peak_share": shares}
    results["peak_gflops"] = peak
    return results


def gain_benchmark(*, vocab_size=96, hidden_size=128, length=256, title_length=16,
                   documents=16, threads=2, dtypes=(np.float64, np.float32), rounds=7,
                   min_seconds=0.1, seed=0):
    """Tokens/s with the gain fixed and learned, one document on one thread and a batch.

    The learned gain changes S once per document and its backward once per
    document (:doc:`/sections/gain`); both settings are timed in the same
    interleaved rounds, so their ratio is as fair as this machine allows.

    Parameters
    ----------
    vocab_size, hidden_size, length, title_length : int, optional
        V, H, T and m of every document.
    documents, threads : int, optional
        The batch of :meth:`~normrnn.NormRNN.batch_loss_and_grads` and its threads.
    dtypes : sequence of dtype, optional
    rounds, min_seconds : optional
        See :func:`~normrnn.bench.time_interleaved`.
    seed : int, optional

    Returns
    -------
    dict
        For each dtype name, ``{"step": {"fixed", "learned", "ratio"}, "batch": {...}}``:
        tokens/s, and learned's tokens/s over fixed's.
    """
    docs = [(document(vocab_size, length, seed + i), title_length) for i in range(documents)]
    results = {}
    for dtype in dtypes:
        models = {g: model(vocab_size, hidden_size, dtype, seed, gain=g)
                  for g in ("fixed", "learned")}
        functions = {}
        for g, m in models.items():
            functions[("step", g)] = lambda m=m: m.loss_and_grads(docs[0][0], title_length)
            functions[("batch", g)] = lambda m=m: m.batch_loss_and_grads(docs, n_threads=threads)
        with one_thread(False):
            timings = time_interleaved({k: f for k, f in functions.items() if k[0] == "step"},
                                       rounds=rounds, min_seconds=min_seconds)
        timings.update(time_interleaved({k: f for k, f in functions.items() if k[0] == "batch"},
                                        rounds=rounds, min_seconds=min_seconds))
        row = {}
        for part, tokens in (("step", length), ("batch", documents * length)):
            rate = {g: tokens / timings[(part, g)]["seconds"] for g in models}
            row[part] = dict(rate, ratio=rate["learned"] / rate["fixed"])
        results[np.dtype(dtype).name] = row
    return results
