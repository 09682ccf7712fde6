"""What the loss-only path and the sampling loop save: ``python benchmarks/forward_and_sampling.py``.

1. **Evaluation.**  Tokens per second of :func:`normrnn.training.evaluate`
   (the forward-only lockstep path, :meth:`normrnn.NormRNN.batch_loss`) and of
   :meth:`normrnn.NormRNN.loss` on one document, against
   :meth:`normrnn.NormRNN.loss_and_grads` on the same documents: what every
   evaluation cost when it ran the whole BPTT and dropped the gradients.
   Goal: at least 2.5x.
2. **Sampling.**  Generated tokens per second of
   :func:`normrnn.training.sample_tokens`, against the loop it replaced:
   per token, the model's checked :meth:`~normrnn.NormRNN.probabilities`,
   then the state of ``[token, 0]`` from :meth:`~normrnn.NormRNN.states`
   (a dummy token appended to get the next state).  Goal: at least 5x.

V = 96, H = 128, documents of T = 256 with m = 16, one thread, float64 and
float32; interleaved rounds, median.  Prints a table and the machine's load.
"""

import argparse
import os
import time

import numpy as np

import normrnn
from normrnn.parallel import blas_threads
from normrnn.training import evaluate
from normrnn.training.sampling import sample_tokens

V, H, T, M = 96, 128, 256, 16


def rate(function, units, rounds):
    """Median units per second of ``function()`` over ``rounds`` calls, after one warm-up."""
    function()
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return units / float(np.median(seconds))


def old_sampling_loop(model, state, n, rng):
    """The sampling loop before: checked calls per token, a dummy token for the state."""
    for _ in range(n):
        p = model.probabilities(state)
        token = min(int(np.searchsorted(np.cumsum(p), rng.random() * p.sum(), side="right")),
                    model.vocab_size - 1)
        state = model.states(np.array([token, 0], dtype=np.int32), initial_state=state)[1]
    return state


def measure(dtype, documents, rounds):
    model = normrnn.NormRNN(V, H, seed=0, dtype=dtype)
    rng = np.random.default_rng(0)
    docs = [(rng.integers(0, V, T).astype(np.int32), M) for _ in range(documents)]
    scored = documents * (T - M)
    one = docs[0]
    state = np.zeros(H, dtype=dtype)
    tasks = {
        "loss_and_grads, one document at a time":
            (lambda: [model.loss_and_grads(t, m) for t, m in docs], scored),
        "loss, one document at a time": (lambda: [model.loss(t, m) for t, m in docs], scored),
        "evaluate (lockstep, forward only)": (lambda: evaluate(model, docs), scored),
        "sampling, the old loop": (lambda: old_sampling_loop(model, state, 200, rng), 200),
        "sample_tokens": (lambda: sample_tokens(model, one[0][:M], max_tokens=2000, seed=0,
                                                stop=-1), 2000),
    }
    results = {name: [] for name in tasks}
    for _ in range(rounds):                       # interleaved: a slow moment hits all alike
        for name, (function, units) in tasks.items():
            results[name].append(rate(function, units, 1))
    return {name: float(np.median(r)) for name, r in results.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    print(f"V={V} H={H} T={T} m={M}, {args.documents} documents, one thread; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    with blas_threads(1):
        for dtype in (np.float64, np.float32):
            r = measure(dtype, args.documents, args.rounds)
            base = r["loss_and_grads, one document at a time"]
            print(f"\n{np.dtype(dtype).name}                                   tokens/s   ratio")
            for name in ("loss_and_grads, one document at a time", "loss, one document at a time",
                         "evaluate (lockstep, forward only)"):
                print(f"  {name:40s} {r[name]:10,.0f}  {r[name] / base:5.2f}x")
            old = r["sampling, the old loop"]
            for name in ("sampling, the old loop", "sample_tokens"):
                print(f"  {name:40s} {r[name]:10,.0f}  {r[name] / old:5.2f}x")
            print(f"  goals: evaluate / loss_and_grads {r['evaluate (lockstep, forward only)'] / base:.2f}x "
                  f"(>= 2.5x), sample_tokens / old loop {r['sample_tokens'] / old:.2f}x (>= 5x)")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
