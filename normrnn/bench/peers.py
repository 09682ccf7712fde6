"""The strong peers: B documents at once in PyTorch eager, ``torch.compile`` and JAX.

A practitioner trains on a batch of B documents at once, through one
vectorised recurrence, and compiles it.  This part of the benchmark times,
for a batch of B documents of T tokens (loss and all gradients):

==================  ===========================================================
``normrnn``         :meth:`normrnn.NormRNN.batch_loss_and_grads` with
                    ``n_threads`` = the thread count
``torch_batched``   :func:`normrnn.torch.padded_loss` (the package's PyTorch
                    model) and ``loss.backward()``, eager
``torch_compile``   the same function through ``torch.compile(dynamic=True)``
``jax``             :mod:`normrnn.bench.jax_peer`: ``jax.jit(jax.value_and_grad)``
                    over ``lax.scan``
==================  ===========================================================

Each runs **in a process of its own**, started with its thread setting (1 or
2 threads: ``torch.set_num_threads``, XLA's flags, ``OMP_NUM_THREADS``, and
the process's CPU affinity limited to that many cores), which first checks
that its loss and gradients on a ragged batch (documents of several lengths
and title lengths, padded) agree with normrnn's: float64 to 1e-12 of the
largest value (the same formula, summed in other orders: round-off), float32
to 1e-5 (float32's epsilon is 6e-8, grown by the same reordering over T
steps).  A peer that disagrees is not timed.  Then the processes of one
dtype and thread count are timed **interleaved**: round r asks each process
in turn (in an order rotated by r) to time every B once, so a slow moment of
the machine hits all of them alike, and the median over rounds counts.  Each
is reported at its best B, in tokens per second (wall), with the CPU time it
used over the wall time (how many cores it kept busy: the thread setting at
work) and how busy other programs kept the machine meanwhile.

:func:`worker` is what each process runs; :func:`peer_benchmark` starts and
drives them.
"""

import importlib.util
import json
import math
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time

PEER_LABELS = {
    "normrnn": "normrnn batch_loss_and_grads",
    "torch_batched": "PyTorch eager, batched",
    "torch_compile": "torch.compile",
    "jax": "JAX jit, lax.scan",
}
"""Readable names of the batched implementations, in table order."""

PEERS = ("torch_batched", "torch_compile", "jax")
"""The peers normrnn is compared with (``normrnn`` itself is always timed)."""

PEER_OPTIONS = {"torch": "torch_batched", "torch-compile": "torch_compile", "jax": "jax"}
"""Names of the peers for ``normrnn bench --peers``."""

BATCH_SIZES = (1, 4, 16, 64, 128)
"""The batch sizes B of the sweep."""

CHECK_TOLERANCE = {"float64": 1e-12, "float32": 1e-5}
"""Largest relative difference (of the loss, and of each gradient over its largest entry)
from normrnn's that a peer may show before it is timed."""

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
    needs = {"normrnn": (), "torch_batched": ("torch",), "torch_compile": ("torch",),
             "jax": ("jax", "jaxlib")}[name]
    return all(importlib.util.find_spec(module) is not None for module in needs)


def check_documents(vocab_size, length, title_length, seed):
    """The ragged batch every peer is checked on: four documents of several shapes.

    Lengths T, about 2T/3, about T/3 and 1, with title lengths m, 0, m and
    0 (clipped to the length), so that the padding and the title masks are
    exercised.

    Returns
    -------
    list of (ndarray of int32, int)
    """
    from .experiments import document

    shapes = [(length, title_length), (max(1, 2 * length // 3), 0),
              (max(1, length // 3), title_length), (1, 0)]
    return [(document(vocab_size, T, seed + 100 + i), min(m, T))
            for i, (T, m) in enumerate(shapes)]


def relative_difference(result, expected):
    """Largest relative difference of a loss and its gradients: max|a - b| / max|b|.

    Parameters
    ----------
    result, expected : (float, list of ndarray)

    Returns
    -------
    float
    """
    import numpy as np

    (loss, grads), (want_loss, want) = result, expected
    diffs = [abs(loss - want_loss) / max(abs(want_loss), 1e-300)]
    for g, w in zip(grads, want, strict=True):
        diffs.append(float(np.max(np.abs(np.asarray(g, dtype=np.float64) - w))
                           / max(float(np.max(np.abs(w))), 1e-300)))
    return max(diffs)


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


def _torch_functions(model, threads, compiled):
    import torch

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    from ..torch import pad_documents, padded_loss, to_torch

    module = to_torch(model)
    params = [module.embedding, module.ih, module.hh, module.bias, module.gain]
    function = torch.compile(padded_loss, dynamic=True) if compiled else padded_loss

    def prepare(docs):
        tokens, lengths, titles = pad_documents(docs)

        def run():
            for p in module.parameters():
                p.grad = None
            loss = function(*params, tokens, lengths, titles)
            loss.backward()
            return loss

        def result():
            loss = run().item()
            return loss, [p.grad.numpy() for p in module.parameters()]
        return run, result
    return prepare


def _jax_functions(model):
    import jax
    import numpy as np

    from .jax_peer import value_and_grad

    function = value_and_grad()
    params = tuple(None if p is None else jax.numpy.asarray(p) for p in
                   (model.embedding, model.ih, model.hh, model.bias, model.gain))

    def prepare(docs):
        longest = max(len(t) for t, _ in docs)
        tokens = np.zeros((len(docs), longest), dtype=np.int32)
        for row, (t, _) in zip(tokens, docs):
            row[:len(t)] = t
        args = [jax.numpy.asarray(a) for a in
                (tokens, np.array([len(t) for t, _ in docs], np.int32),
                 np.array([m for _, m in docs], np.int32))]

        def run():
            return jax.block_until_ready(function(params, *args))

        def result():
            loss, grads = run()
            return float(loss), [np.asarray(g) for g in grads if g is not None]
        return run, result
    return prepare


def _cpu_seconds():
    t = os.times()
    return t.user + t.system


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

    from .experiments import document, model as make_model

    def send(message):
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    start = time.perf_counter()
    try:
        name, threads = spec["peer"], spec["threads"]
        dtype = np.dtype(spec["dtype"])
        V, T, m = spec["vocab_size"], spec["length"], spec["title_length"]
        model = make_model(V, spec["hidden_size"], dtype, spec["seed"])
        if name == "normrnn":
            prepare = _normrnn_functions(model, threads)
        elif name in ("torch_batched", "torch_compile"):
            prepare = _torch_functions(model, threads, compiled=name == "torch_compile")
        elif name == "jax":
            prepare = _jax_functions(model)
        else:
            raise ValueError(f"unknown peer {name!r}")
        checked = check_documents(V, T, m, spec["seed"])
        want_loss, want = model.batch_loss_and_grads(checked)
        difference = relative_difference(prepare(checked)[1](),
                                         (want_loss, [g for _, g in want.items()]))
        if not difference <= CHECK_TOLERANCE[dtype.name]:
            send({"error": f"disagrees with normrnn: relative difference {difference:.1e} "
                           f"(tolerance {CHECK_TOLERANCE[dtype.name]:.0e})",
                  "max_relative_difference": difference})
            return 1
        docs = [(document(V, T, spec["seed"] + i), m) for i in range(max(spec["batch_sizes"]))]
        runs, calls = {}, {}
        for B in spec["batch_sizes"]:
            run = runs[B] = prepare(docs[:B])[0]
            run()                                           # compile, allocate
            once = time.perf_counter()
            run()
            once = time.perf_counter() - once
            calls[B] = max(1, math.ceil(spec["min_seconds"] / max(once, 1e-9)))
    except Exception as exc:                                 # reported, not raised
        send({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    send({"ready": True, "max_relative_difference": difference, "calls": calls,
          "setup_seconds": time.perf_counter() - start})
    sizes = list(spec["batch_sizes"])
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


def _main(argv):
    spec = json.loads(argv[0])
    # the protocol keeps the real stdout; anything a library prints goes to stderr
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return worker(spec, channel)


# --- the coordinator -------------------------------------------------------------------

def _environment(threads):
    env = dict(os.environ)
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
        cores = _cores(spec["threads"])
        # the cores are set first, before any library starts its threads
        pin = f"import os; os.sched_setaffinity(0, {cores!r}); " if cores else ""
        self.process = subprocess.Popen(
            [sys.executable, "-c", f"{pin}import sys; from normrnn.bench.peers import _main; "
             "sys.exit(_main(sys.argv[1:]))", json.dumps(spec)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
            env=_environment(spec["threads"]))

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
                      "max_relative_difference": ready[name]["max_relative_difference"],
                      "setup_seconds": ready[name]["setup_seconds"]}
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
        "cores_used", "max_relative_difference", "setup_seconds"}``, or
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


def leads(peers):
    """normrnn's best tokens/s over the best peer's, for each dtype and thread count.

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
                     if n != "normrnn" and r.get("status") == "ok"}
            if dtype not in peers:
                continue
            best = max(timed, key=timed.get) if timed else None
            out.append({"dtype": dtype, "threads": k, "over": best,
                        "value": ours / timed[best] if best and ours else None})
    return out
