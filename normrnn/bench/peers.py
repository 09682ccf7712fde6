"""The strong peers: B documents at once in PyTorch eager, ``torch.compile`` and JAX.

A practitioner trains on a batch of B documents through one vectorised
recurrence, written for the job at hand: here every document has the same
length T and title length m, and the vocabulary has V = 96 rows.  This part
of the benchmark times, for B documents of T tokens (loss and all gradients):

==================  ===========================================================
``normrnn``         :meth:`normrnn.NormRNN.batch_loss_and_grads` with
                    ``n_threads`` = the thread count
``torch_eager``     :func:`normrnn.bench.torch_peer.loss` and
                    ``loss.backward()``: the input product once per
                    vocabulary row, no masks
``torch_compile``   the same through ``torch.compile(dynamic=False,
                    fullgraph=True)``
``torch_autotune``  the same with ``mode="max-autotune-no-cudagraphs"``
                    (only when asked for: ``--peers torch-autotune``)
``jax``             :mod:`normrnn.bench.jax_peer`: ``jax.jit`` of
                    ``jax.value_and_grad`` over ``lax.scan``, the same
                    vocabulary table
``bridge``          :func:`normrnn.torch.padded_loss`, eager: the package's
                    general bridge (ragged padded batches, masks), what
                    :class:`normrnn.torch.TorchNormRNN` trains with; a row of
                    its own, not a peer the lead is measured against
==================  ===========================================================

Each runs **in a process of its own**, started with its thread setting (1 or
2 threads: ``torch.set_num_threads``, XLA's flags, ``OMP_NUM_THREADS``, and
the process's CPU affinity limited to that many cores; ``torch.compile``
with an empty cache of its own, so that its first call compiles).  It first
computes the loss and gradients of the smallest batch and checks them
against normrnn's: float64 to 1e-12 of the largest value (the same formula,
summed in other orders), float32 to 1e-5.  A peer that disagrees is not
timed.  That first call is also the **time to first gradient**: from the
process's start of work (the library imported, the model built, compiled)
to the first loss and gradients.  Then the processes of one dtype and thread
count are timed **interleaved**: round r asks each process in turn (in an
order rotated by r) to time every B once, and the median over rounds counts.
Each is reported at its best B, in tokens per second (wall).

:func:`worker` is what each process runs; :func:`peer_benchmark` starts and
drives them.
"""

import importlib.util
import json
import math
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PEER_LABELS = {
    "normrnn": "normrnn batch_loss_and_grads",
    "torch_eager": "PyTorch eager",
    "torch_compile": "torch.compile, static, fullgraph",
    "torch_autotune": "torch.compile, max-autotune",
    "jax": "JAX jit, lax.scan",
    "bridge": "normrnn.torch, general padded batches",
    # rows of records made before the strong peers: the general versions, not strong
    "bridge_compile": "normrnn.torch, torch.compile(dynamic=True)",
    "jax_masked": "JAX, padded and masked",
}
"""Readable names of the batched implementations, in table order."""

STRONG = ("torch_eager", "torch_compile", "torch_autotune", "jax")
"""The peers normrnn's lead is measured against (the bridge is not one)."""

PEERS = ("torch_eager", "torch_compile", "jax", "bridge")
"""What is timed besides ``normrnn`` unless ``--peers`` says otherwise."""

PEER_OPTIONS = {"torch": "torch_eager", "torch-compile": "torch_compile",
                "torch-autotune": "torch_autotune", "jax": "jax", "bridge": "bridge"}
"""Names of the peers for ``normrnn bench --peers``."""

BATCH_SIZES = (16, 64, 128)
"""The batch sizes B of the sweep."""

CHECK_TOLERANCE = {"float64": 1e-12, "float32": 1e-5}
"""Largest relative difference (of the loss, and of each gradient over its largest entry)
from normrnn's that a peer may show before it is timed."""

_NEEDS = {"normrnn": (), "torch_eager": ("torch",), "torch_compile": ("torch",),
          "torch_autotune": ("torch",), "bridge": ("torch",), "jax": ("jax", "jaxlib")}
_SETUP_TIMEOUT = 1800        # seconds: a first torch.compile of T = 256 steps takes minutes
_ROUND_TIMEOUT = 600


def installed(name):
    """Whether the library a peer needs can be imported (checked without importing it).

    Parameters
    ----------
    name : str
        A key of :data:`PEER_LABELS`.

    Returns
    -------
    bool
    """
    return all(importlib.util.find_spec(module) is not None for module in _NEEDS[name])


# --- the worker process --------------------------------------------------------------

def _normrnn_functions(model, threads):
    def prepare(docs):
        def run():
            return model.batch_loss_and_grads(docs, n_threads=threads)

        def result():
            loss, grads = run()
            return loss, [g for _, g in grads.items()]
        return run, result
    return prepare


def _torch_functions(model, threads, name):
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:                      # set before, in this process (the tests)
        pass
    from ..torch import pad_documents, padded_loss, to_torch
    from .torch_peer import compiled_loss, loss

    module = to_torch(model)
    params = [module.embedding, module.ih, module.hh, module.bias]
    function = {"torch_eager": loss, "torch_compile": compiled_loss(),
                "torch_autotune": compiled_loss("max-autotune-no-cudagraphs")}.get(name)

    def prepare(docs):
        if name == "bridge":
            arguments = (*params, None, *pad_documents(docs))
            call = padded_loss
        else:
            arguments = (*params, torch.as_tensor(token_matrix(docs), dtype=torch.int64),
                         docs[0][1])
            call = function

        def run():
            for p in params:
                p.grad = None
            loss_ = call(*arguments)
            loss_.backward()
            return loss_

        def result():
            value = run().item()
            return value, [p.grad.numpy() for p in params]
        return run, result
    return prepare


def token_matrix(docs):
    """The (B, T) token array of documents of one length and title length.

    Parameters
    ----------
    docs : list of (ndarray of int, int)

    Returns
    -------
    ndarray of int32, shape (B, T)
    """
    import numpy as np

    if len({len(t) for t, _ in docs}) != 1 or len({m for _, m in docs}) != 1:
        raise ValueError("docs: the peers take documents of one length and title length")
    return np.stack([t for t, _ in docs]).astype(np.int32)


def _jax_functions(model):
    import jax
    import numpy as np

    from .jax_peer import value_and_grad

    function = value_and_grad()
    params = tuple(jax.numpy.asarray(p) for p in
                   (model.embedding, model.ih, model.hh, model.bias))

    def prepare(docs):
        tokens, title_length = jax.numpy.asarray(token_matrix(docs)), docs[0][1]

        def run():
            return jax.block_until_ready(function(params, tokens, title_length))

        def result():
            loss, grads = run()
            return float(loss), [np.asarray(g) for g in grads]
        return run, result
    return prepare


def _functions(name, model, threads):
    if name == "normrnn":
        return _normrnn_functions(model, threads)
    if name in ("torch_eager", "torch_compile", "torch_autotune", "bridge"):
        return _torch_functions(model, threads, name)
    if name == "jax":
        return _jax_functions(model)
    raise ValueError(f"unknown peer {name!r}")


def worker(spec, channel):
    """Run one implementation in this process: check it, then time it on request.

    Parameters
    ----------
    spec : dict
        ``peer``, ``dtype``, ``threads``, ``batch_sizes``, ``vocab_size``,
        ``hidden_size``, ``length``, ``title_length``, ``seed``, ``min_seconds``.
    channel : file
        Where the answers go, one JSON object a line: first ``{"ready": ...}``
        (or ``{"error": ...}``), then one per ``round`` read from stdin.

    Returns
    -------
    int
        The exit status.
    """
    import numpy as np

    from .experiments import document, model as make_model, relative_difference

    def send(message):
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    start = time.perf_counter()
    try:
        dtype = np.dtype(spec["dtype"])
        V, T, m = spec["vocab_size"], spec["length"], spec["title_length"]
        model = make_model(V, spec["hidden_size"], dtype, spec["seed"])
        prepare = _functions(spec["peer"], model, spec["threads"])
        docs = [(document(V, T, spec["seed"] + i), m) for i in range(max(spec["batch_sizes"]))]
        sizes = sorted(spec["batch_sizes"])
        first = docs[:sizes[0]]
        got = prepare(first)[1]()                      # import, build, compile, first call
        first_gradient = time.perf_counter() - start
        want_loss, want = model.batch_loss_and_grads(first)
        difference = relative_difference(got, (want_loss, [g for _, g in want.items()]))
        if not difference <= CHECK_TOLERANCE[dtype.name]:
            send({"error": f"disagrees with normrnn: relative difference {difference:.1e} "
                           f"(tolerance {CHECK_TOLERANCE[dtype.name]:.0e})",
                  "max_relative_difference": difference})
            return 1
        runs, calls = {}, {}
        for B in sizes:
            run = runs[B] = prepare(docs[:B])[0]
            run()                                           # compile, allocate
            once = time.perf_counter()
            run()
            once = time.perf_counter() - once
            calls[B] = max(1, math.ceil(spec["min_seconds"] / max(once, 1e-9)))
    except Exception as exc:                                 # reported, not raised
        send({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    from ..kernel_choice import kernel_choices

    # the step kernels this process chose for each B (normrnn's own row; every
    # process chose for the first B, checking against normrnn)
    send({"ready": True, "max_relative_difference": difference, "calls": calls,
          "first_batch": sizes[0], "first_gradient_seconds": first_gradient,
          "setup_seconds": time.perf_counter() - start,
          "kernels": kernel_choices()["choices"] if spec["peer"] == "normrnn" else None})
    for r, line in enumerate(sys.stdin):
        if line.strip() != "round":
            break
        seconds = {}
        cpu, wall = _cpu_seconds(), time.perf_counter()
        for B in sizes[r % len(sizes):] + sizes[:r % len(sizes)]:
            run, n = runs[B], calls[B]
            begin = time.perf_counter()
            for _ in range(n):
                run()
            seconds[B] = (time.perf_counter() - begin) / n
        send({"seconds": seconds, "cpu": _cpu_seconds() - cpu,
              "wall": time.perf_counter() - wall})
    return 0


def _cpu_seconds():
    t = os.times()
    return t.user + t.system




def _main(argv):
    spec = json.loads(argv[0])
    # the protocol keeps the real stdout; anything a library prints goes to stderr
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return worker(spec, channel)


# --- the coordinator -------------------------------------------------------------------

def _environment(threads, cache):
    env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache)     # a cold compile, every run
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = str(threads)
    flags = env.get("XLA_FLAGS", "")
    env["XLA_FLAGS"] = (f"{flags} --xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'}"
                        f" intra_op_parallelism_threads={threads}").strip()
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


def _cores(threads):
    """The first ``threads`` cores this process may run on, or None where unknown."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    return cores[:threads] if len(cores) >= threads else None


class _Worker:
    """One worker process and its pipes."""

    def __init__(self, spec):
        self.name = spec["peer"]
        self.log = tempfile.TemporaryFile(mode="w+")
        self.cache = tempfile.mkdtemp(prefix="normrnn-bench-")
        cores = _cores(spec["threads"])
        # the cores are set first, before any library starts its threads
        pin = f"import os; os.sched_setaffinity(0, {cores!r}); " if cores else ""
        self.process = subprocess.Popen(
            [sys.executable, "-c", f"{pin}import sys; from normrnn.bench.peers import _main; "
             "sys.exit(_main(sys.argv[1:]))", json.dumps(spec)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
            env=_environment(spec["threads"], self.cache))

    def receive(self, timeout):
        # one line answers each request, so nothing waits in the reader's buffer
        if not select.select([self.process.stdout], [], [], timeout)[0]:
            self.process.kill()
            raise RuntimeError(f"no answer within {timeout} s")
        line = self.process.stdout.readline()
        if not line:
            self.log.seek(0)
            tail = self.log.read().strip().splitlines()[-1:] or ["no message"]
            raise RuntimeError(f"the process ended: {tail[0][:200]}")
        return json.loads(line)

    def ask(self, command):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.receive(_ROUND_TIMEOUT)

    def close(self):
        try:
            if self.process.poll() is None:
                self.process.stdin.close()
                self.process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.cache, ignore_errors=True)


def _group(spec, names, rounds):
    """Check and time ``names`` (one process each) at one dtype and thread count."""
    from .timing import _busy_seconds

    rows, workers = {}, {}
    try:
        for name in names:
            workers[name] = _Worker(dict(spec, peer=name))
        ready = {}
        for name, w in list(workers.items()):
            try:
                answer = w.receive(_SETUP_TIMEOUT)
            except (RuntimeError, ValueError) as exc:
                answer = {"error": str(exc)}
            if "error" in answer:
                rows[name] = {"status": "failed", "error": answer["error"]}
                w.close()
                del workers[name]
            else:
                ready[name] = answer
        samples = {name: {B: [] for B in spec["batch_sizes"]} for name in workers}
        cpu = {name: 0.0 for name in workers}
        wall = {name: 0.0 for name in workers}
        busy_start, own_start, start = _busy_seconds(), _cpu_seconds(), time.perf_counter()
        for r in range(rounds):
            order = list(workers)
            for name in order[r % len(order):] + order[:r % len(order)]:
                try:
                    answer = workers[name].ask("round")
                except (RuntimeError, ValueError, OSError) as exc:
                    rows[name] = {"status": "failed", "error": f"while timed: {exc}"}
                    workers.pop(name).close()
                    continue
                for B, seconds in answer["seconds"].items():
                    samples[name][int(B)].append(seconds)
                cpu[name] += answer["cpu"]
                wall[name] += answer["wall"]
        elapsed = time.perf_counter() - start
        other = None
        busy = _busy_seconds()
        if busy is not None and busy_start is not None and elapsed > 0 and rounds:
            other = max(0.0, (busy - busy_start - (_cpu_seconds() - own_start)
                              - sum(cpu.values())) / elapsed)
    finally:
        for w in workers.values():
            w.close()
    tokens = spec["length"]
    for name in (n for n in names if n in workers):
        rates = {B: B * tokens / statistics.median(s) for B, s in samples[name].items() if s}
        best = max(rates, key=rates.get) if rates else None
        rows[name] = {"status": "ok", "tokens_per_s": rates, "best_batch": best,
                      "best_tokens_per_s": rates[best] if best else None,
                      "seconds": {B: statistics.median(s) for B, s in samples[name].items() if s},
                      # os.times() counts in ticks: a ratio over less than 0.5 s means little
                      "cores_used": cpu[name] / wall[name] if wall[name] >= 0.5 else None,
                      **{k: ready[name].get(k) for k in ("max_relative_difference",
                                                         "first_batch", "first_gradient_seconds",
                                                         "setup_seconds", "kernels")}}
    return rows, other


def peer_benchmark(*, vocab_size=96, hidden_size=128, length=256, title_length=16,
                   batch_sizes=BATCH_SIZES, threads=(1, 2), dtypes=("float64", "float32"),
                   peers=PEERS, left_out=None, rounds=5, min_seconds=0.2, seed=0,
                   progress=None):
    """normrnn and its peers on a batch of B documents, each at its best B.

    Parameters
    ----------
    vocab_size, hidden_size, length, title_length : int, optional
        V, H, T and m of every document.
    batch_sizes : sequence of int, optional
        The B of the sweep.
    threads : sequence of int, optional
        Thread counts, each a group of processes of its own.
    dtypes : sequence of str, optional
    peers : sequence of str, optional
        Keys of :data:`PEER_LABELS` besides ``normrnn``; one not installed
        gets a row saying so.
    left_out : dict, optional
        Peer -> why it is left out (a row with that reason, not timed).
    rounds, min_seconds : optional
        Interleaved rounds (median over them) and the length of one
        measurement, as in :func:`~normrnn.bench.time_interleaved`.
    seed : int, optional
        Seed of the model and the documents.
    progress : callable, optional
        Called with a short message before each group.

    Returns
    -------
    dict
        ``batch_sizes``, ``threads``, ``peers`` (the names, in order), and
        for each dtype, for each thread count: ``{"other_load": cores,
        "rows": {name: row}}``; a row is ``{"status": "ok", "tokens_per_s":
        {B: ...}, "best_batch", "best_tokens_per_s", "seconds": {B: ...},
        "cores_used", "max_relative_difference", "first_batch",
        "first_gradient_seconds" (from the process's start of work to its first
        loss and gradients, of ``first_batch`` documents: imports and compiling
        included), "setup_seconds"}``, or
        ``{"status": "not installed" | "left out" | "failed", "error"|"reason"}``.
    """
    say = progress or (lambda message: None)
    left_out = dict(left_out or {})
    names = ["normrnn", *peers, *(p for p in left_out if p not in peers)]
    results = {"batch_sizes": list(batch_sizes), "threads": list(threads), "peers": names}
    for dtype in dtypes:
        results[dtype] = {}
        for k in threads:
            say(f"peers, {dtype}, {k} thread{'s' * (k > 1)}")
            spec = {"dtype": dtype, "threads": k, "batch_sizes": list(batch_sizes),
                    "vocab_size": vocab_size, "hidden_size": hidden_size, "length": length,
                    "title_length": title_length, "seed": seed, "min_seconds": min_seconds}
            timed = [n for n in names if n not in left_out and installed(n)]
            rows, other = _group(spec, timed, rounds)
            for n in names:
                if n in left_out:
                    rows[n] = {"status": "left out", "reason": left_out[n]}
                elif n not in rows:
                    rows[n] = {"status": "not installed"}
            results[dtype][k] = {"other_load": other, "rows": {n: rows[n] for n in names}}
    return results


def peak_shares(peers, step, vocab_size, hidden_size, length, title_length):
    """normrnn's FLOP rate on one thread, at its best B, over the gemm peak.

    The FLOPs are those normrnn really does on the peers' documents
    (:func:`~normrnn.bench.implementations.flops_done_per_token`); the peak is
    the square BLAS gemm timed on one thread in the same run
    (:func:`~normrnn.bench.step_benchmark`).

    Parameters
    ----------
    peers : dict
        As returned by :func:`peer_benchmark`.
    step : dict or None
        As returned by :func:`~normrnn.bench.step_benchmark`.
    vocab_size, hidden_size, length, title_length : int
        V, H, T and m of the batches' documents.

    Returns
    -------
    list of dict
        ``{"dtype", "gflops", "peak_gflops", "value" (their ratio; None where
        either is missing)}`` for each dtype timed on one thread.
    """
    from .implementations import flops_done_per_token
    out = []
    flops = flops_done_per_token(vocab_size, hidden_size, length, title_length)
    for dtype in ("float64", "float32"):
        if dtype not in peers or 1 not in peers.get("threads", []):
            continue
        ours = peers[dtype].get(1, {}).get("rows", {}).get("normrnn", {}).get("best_tokens_per_s")
        peak = (step or {}).get(dtype, {}).get("peak_gflops")
        gflops = ours * flops / 1e9 if ours else None
        out.append({"dtype": dtype, "gflops": gflops, "peak_gflops": peak,
                    "value": gflops / peak if gflops and peak else None})
    return out


def leads(peers):
    """normrnn's best tokens/s over the best strong peer's, for each dtype and thread count.

    Only the peers of :data:`STRONG` count: the bridge is not one.

    Parameters
    ----------
    peers : dict
        As returned by :func:`peer_benchmark`: the ``peers`` entry of the
        results of :func:`~normrnn.bench.run_benchmark`, or of a recorded run.

    Returns
    -------
    list of dict
        ``{"dtype", "threads", "value" (None when no peer was timed), "over"
        (the best peer's name)}``.
    """
    out = []
    for dtype in ("float64", "float32"):
        for k in peers.get("threads", []):
            rows = peers.get(dtype, {}).get(k, {}).get("rows", {})
            ours = rows.get("normrnn", {}).get("best_tokens_per_s")
            timed = {n: r["best_tokens_per_s"] for n, r in rows.items()
                     if n in STRONG and r.get("status") == "ok"}
            if dtype not in peers:
                continue
            best = max(timed, key=timed.get) if timed else None
            out.append({"dtype": dtype, "threads": k, "over": best,
                        "value": ours / timed[best] if best and ours else None})
    return out
