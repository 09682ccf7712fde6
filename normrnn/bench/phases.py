"""Where the time of a batch goes: normrnn's batch pass timed phase by phase.

:func:`normrnn._kernels.lockstep.batch_loss_and_grads` can add the wall time
of each of its phases (:data:`~normrnn._kernels.lockstep.PHASES`) into an
array: the step products, the activation, the loss products, the softmax,
the parameter sums, ...  With the FLOPs of each kind of product
(:func:`~normrnn.bench.implementations.flops_done`), that gives each
product's own rate, and the share of the gemm peak normrnn could reach if
every product ran at the peak and the rest took the time it takes now:
the ceiling that the elementwise work and the copies put on the share.
"""

import numpy as np

from .._kernels import lockstep as _lockstep
from ..batching import run_batch
from .experiments import document, model as make_model
from .implementations import flops_done
from .timing import one_thread

PHASES = _lockstep.PHASES
"""The phases timed, in the order of the pass."""

PRODUCTS = ("step products", "loss products", "parameter sums")
"""The phases that are matrix products (:func:`~normrnn.bench.flops_done` counts their FLOPs)."""


def timed_pass(model, docs):
    """One call of ``model.batch_loss_and_grads(docs)`` on one thread, timed phase by phase.

    The same checks and the same pass (:func:`normrnn.batching.run_batch`,
    sorted, in groups) as :meth:`~normrnn.NormRNN.batch_loss_and_grads`
    with ``n_threads=1``, with the phases' clock on.

    Parameters
    ----------
    model : NormRNN
    docs : list of (tokens, title_length)

    Returns
    -------
    loss : float
    grads : Grads
    seconds : ndarray, shape (len(PHASES),)
        Wall seconds of each phase, summed over the batch's groups.
    """
    model.check_parameters()
    checked = [model._batch_document(i, doc) for i, doc in enumerate(docs)]
    seconds = np.zeros(len(PHASES))
    loss, grads, _ = run_batch(model, checked, None, 1, True, "batch_loss_and_grads",
                               phase_seconds=seconds)
    return loss, grads, seconds


def seconds_at_peak(part, peak_gflops):
    """The seconds the products of one call would take at the gemm peak.

    Parameters
    ----------
    part : dict
        One dtype's entry of :func:`phase_benchmark`.
    peak_gflops : float

    Returns
    -------
    float
    """
    return sum(part["flops"].values()) / (peak_gflops * 1e9)


def rest_seconds(part):
    """The measured seconds of the phases that are not matrix products (elementwise, copies).

    Parameters
    ----------
    part : dict
        One dtype's entry of :func:`phase_benchmark`.

    Returns
    -------
    float
    """
    return sum(s for name, s in part["phases"].items() if name not in PRODUCTS)


def phase_benchmark(*, vocab_size=96, hidden_size=128, length=256, title_length=16,
                    batch_size=128, dtypes=(np.float64, np.float32), rounds=7,
                    min_seconds=0.1, seed=0):
    """Seconds of each phase of a batch of B documents, on one thread.

    Each round times calls until ``min_seconds`` have passed; the round whose
    calls took the median time is kept, with its phases, so that they add
    up to its total.

    Parameters
    ----------
    vocab_size, hidden_size, length, title_length : int, optional
        V, H, T and m of every document.
    batch_size : int, optional
        B, the documents of one call.
    dtypes : sequence of dtype, optional
    rounds : int, optional
    min_seconds : float, optional
        Length of one round (0: one call).
    seed : int, optional

    Returns
    -------
    dict
        For each dtype name: ``{"batch_size", "seconds" (of one call),
        "phases": {phase: seconds of one call}, "flops": {product phase:
        FLOPs of one call}}``.
    """
    docs = [(document(vocab_size, length, seed + i), title_length) for i in range(batch_size)]
    per_document = flops_done(vocab_size, hidden_size, length, title_length)
    results = {}
    for dtype in dtypes:
        model = make_model(vocab_size, hidden_size, dtype, seed)
        samples = []
        with one_thread(False):
            timed_pass(model, docs)                    # kernel choice, workspace
            for _ in range(max(rounds, 1)):
                total, calls = np.zeros(len(PHASES)), 0
                while calls == 0 or total.sum() < min_seconds:
                    total += timed_pass(model, docs)[2]
                    calls += 1
                samples.append(total / calls)
        samples.sort(key=np.sum)
        kept = samples[len(samples) // 2]
        results[np.dtype(dtype).name] = {
            "batch_size": batch_size, "seconds": float(kept.sum()),
            "phases": {name: float(s) for name, s in zip(PHASES, kept)},
            "flops": {name: batch_size * per_document[name] for name in PRODUCTS}}
    return results


def peak_ceiling(part, peak_gflops):
    """The share of the gemm peak if every product ran at the peak and the rest as measured.

    Parameters
    ----------
    part : dict
        One dtype's entry of :func:`phase_benchmark`.
    peak_gflops : float
        The square gemm's rate on one thread.

    Returns
    -------
    float
        The products' FLOPs over the peak, divided by that time plus the
        measured time of every phase that is not a product.
    """
    at_peak = seconds_at_peak(part, peak_gflops)
    return at_peak / (at_peak + rest_seconds(part))


def products_rate_needed(part, peak_gflops, share):
    """The rate every product would need, as a fraction of the peak, for the call to reach ``share``.

    The call's share of the peak is F / (peak (F / (e peak) + R)), with F
    the products' FLOPs, e the fraction of the peak they run at and R the
    measured time of the rest; solved for e.  Above 1, the share is out of
    reach unless the rest gets faster: no product runs above the peak.

    Parameters
    ----------
    part : dict
        One dtype's entry of :func:`phase_benchmark`.
    peak_gflops : float
        The square gemm's rate on one thread.
    share : float
        The share of the peak wanted, in (0, 1].

    Returns
    -------
    float
        e; ``inf`` when the rest alone takes longer than the whole call may.

    Examples
    --------
    3 GFLOP of products at a peak of 1 GFLOP/s and 1 s of the rest: 60% of
    the peak needs the products at 3 / (3 / 0.6 - 1) = 75% of it.

    >>> part = {"flops": {"step products": 3e9}, "phases": {"step products": 4.0, "softmax": 1.0}}
    >>> products_rate_needed(part, 1.0, 0.6)
    0.75
    """
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1]; got {share!r}")
    at_peak = seconds_at_peak(part, peak_gflops)
    budget = at_peak / share - rest_seconds(part)     # seconds left for the products
    return at_peak / budget if budget > 0 else float("inf")
