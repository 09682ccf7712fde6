"""How long ``normrnn bench`` expects to take, said before it starts.

The estimate counts the measurements a configuration makes (rounds, the
implementations timed, batch sizes, peers) and gives each the longer of its
``min_seconds`` and one call, with the one-call times of a recorded run on an
idle two-core machine (:data:`CALL_SECONDS`) and the peers' start-up times
(:data:`SETUP_SECONDS`, dominated by ``torch.compile``).  It is an estimate:
a busy machine takes longer.
"""

from .peers import PEER_LABELS

__all__ = ["CALL_SECONDS", "SETUP_SECONDS", "expected_seconds"]

#: Seconds of one call at V=96, H=128, T=256 (one document, one thread), from the
#: recorded run of the docs' performance page; the gemm at n=1024 and n=512.
CALL_SECONDS = {"normrnn": 0.0015, "by_section": 0.0077, "numpy": 0.017, "torch": 0.016,
                "torch_per_token": 0.041, "gemm_1024": 0.08, "gemm_512": 0.01}

#: Seconds per document of a batch, and a fixed cost per call, for each implementation
#: timed on batches (B from 16 to 128): rough figures, for the estimate only.
BATCH_SECONDS = {"normrnn": (0.0006, 0.001), "torch_eager": (0.0012, 0.02),
                 "torch_compile": (0.0005, 0.004), "torch_autotune": (0.0005, 0.004),
                 "jax": (0.0007, 0.002), "bridge": (0.0015, 0.02)}

#: Seconds each peer's process takes to start, check its gradients and compile, per
#: group of one dtype and thread count, the processes starting together (a quiet
#: two-core AVX-512 Xeon, float64 on 2 threads).  torch.compile compiles once per B
#: (static shapes), about 80 s each at T=256; max-autotune is a guess: longer.
SETUP_SECONDS = {"normrnn": 1.0, "torch_eager": 15.0, "torch_compile": 230.0,
                 "torch_autotune": 500.0, "jax": 10.0, "bridge": 15.0}

#: Seconds of the memory part (a training run in a process of its own).
MEMORY_SECONDS = 6.0


def _timed(calls, config, rounds=None, min_seconds=None):
    """Seconds of one :func:`~normrnn.bench.time_interleaved` over calls of these lengths."""
    rounds = config["rounds"] if rounds is None else rounds
    min_seconds = config["min_seconds"] if min_seconds is None else min_seconds
    return sum((rounds + 2) * max(min_seconds, call) for call in calls)


def _size(config):
    """The cost of a call at ``config``'s H and T, against the recorded one's."""
    return (config["hidden_size"] / 128) ** 2 * config["length"] / 256


def _step(config, use_torch):
    names = ["normrnn", "by_section", "numpy"] + ["torch", "torch_per_token"] * use_torch
    calls = [CALL_SECONDS[n] * _size(config) for n in names]
    gemm = CALL_SECONDS["gemm_1024"] * (config["gemm_size"] / 1024) ** 3
    return 2 * _timed(calls + [gemm], config)


def _batches(config):
    batch = CALL_SECONDS["normrnn"] * _size(config) * config["documents"]
    threads = 2 * _timed([batch, batch / 2], config)
    gain = 2 * (_timed([CALL_SECONDS["normrnn"] * _size(config)] * 2, config)
                + _timed([batch / 2] * 2, config))
    return threads, gain


def _phases(config):
    per_document, fixed = BATCH_SECONDS["normrnn"]
    call = (fixed + per_document * config["phase_batch_size"]) * _size(config)
    return 2 * (config["rounds"] + 1) * max(config["min_seconds"], call)   # float64, float32


def _peers(config, timed):
    names = ("normrnn", *timed)
    seconds = max(SETUP_SECONDS[n] for n in names)     # the processes start together
    for name in names:                                 # and are timed in turn
        per_document, fixed = BATCH_SECONDS[name]
        calls = [(fixed + per_document * b) * _size(config) for b in config["peer_batch_sizes"]]
        seconds += _timed(calls, config, config["peer_rounds"] - 2, config["peer_min_seconds"])
    return 4 * seconds                     # float64 and float32, on 1 and 2 threads


def _scaling(config, use_torch):
    names = ["normrnn", "numpy"] + ["torch", "torch_per_token"] * use_torch
    seconds = 0.0
    for hidden in config["scaling_hidden"]:
        size = (hidden / 128) ** 2 * config["length"] / 256
        seconds += _timed([CALL_SECONDS[n] * size for n in names] + [CALL_SECONDS["normrnn"]
                          * size / 2], config, config["scaling_rounds"],
                          config["scaling_min_seconds"])
    for length in config["scaling_length"]:
        size = (config["hidden_size"] / 128) ** 2 * length / 256
        seconds += _timed([CALL_SECONDS[n] * size for n in names] + [CALL_SECONDS["normrnn"]
                          * size / 2], config, config["scaling_rounds"],
                          config["scaling_min_seconds"])
    return seconds + _timed([CALL_SECONDS["gemm_512"]], config, 3, 0.05)


def expected_seconds(config, *, use_torch=True, peers=(), scaling=False):
    """The seconds each part of a run of ``config`` is expected to take on an idle machine.

    Parameters
    ----------
    config : dict
        :data:`~normrnn.bench.report.FULL` or :data:`~normrnn.bench.report.QUICK`.
    use_torch : bool, optional
        Whether the PyTorch implementations are timed in the one-step part.
    peers : sequence of str, optional
        The peers timed on batches (keys of :data:`~normrnn.bench.peers.PEER_LABELS`).
    scaling : bool, optional
        Whether the sweep over H and T runs.

    Returns
    -------
    dict
        Part name (as in :data:`~normrnn.bench.report.PARTS`) -> seconds.
    """
    threads, gain = _batches(config)
    parts = {"step": _step(config, use_torch), "threads": threads, "gain": gain}
    if peers:
        parts["peers"] = _peers(config, [p for p in PEER_LABELS if p in peers and p != "normrnn"])
    parts["phases"] = _phases(config)
    parts["memory"] = MEMORY_SECONDS
    if scaling:
        parts["scaling"] = _scaling(config, use_torch)
    return parts
