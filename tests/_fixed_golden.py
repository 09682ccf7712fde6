"""Loss and gradients of ``NormRNN(gain="fixed")``, recorded bit for bit.

``python tests/_fixed_golden.py`` writes ``tests/data/fixed_golden.json``.  It
was first run with the code of the commit before the gain section was added
(on a CPU whose vector unit rounds differently from the CI's, so the test
skipped there), and only uses the API that existed then.  It was run again
when the fast kernels' softmax got an exp of its own (``pointwise.h``), which
changes the last bits of every loss on purpose; that record was made on an
Intel Xeon, family 6, model 167 (AVX-512), with NumPy's OpenBLAS.  The
record holds exact values (floats in hex, gradients as SHA-256 of their
bytes), so a test can check that the default model still computes the same
bits.  Those bits depend on the CPU's vector unit (``matvec.h``'s clones)
and on the BLAS; a "probe" of both is recorded too, so that a machine that
rounds differently is recognised.
"""

import hashlib
import json
import pathlib
import sys

import numpy as np

PATH = pathlib.Path(__file__).parent / "data" / "fixed_golden.json"
DOCUMENTS = ([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4], 3), \
    ([0, 7, 7, 2, 10, 11, 12, 1], 0), ([5, 4, 3, 2, 1, 0, 6, 8, 10, 12, 11, 9] * 5, 7)


def _digest(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def probe():
    """Hashes of a matvec.h product and a BLAS product on fixed inputs."""
    from normrnn._kernels import matvec_probe
    out = {}
    for dtype in (np.float64, np.float32):
        rng = np.random.default_rng(0)
        m = rng.normal(size=(37, 45)).astype(dtype)
        x = rng.normal(size=37).astype(dtype)
        y = np.zeros(45, dtype=dtype)
        matvec_probe.matvec_t_add(m, x, y)
        out[f"matvec.{np.dtype(dtype).name}"] = _digest(y)
        out[f"gemm.{np.dtype(dtype).name}"] = _digest(m.T @ rng.normal(size=(37, 19)).astype(dtype))
    return out


def record():
    """Every document's loss and gradients, and the batch's, for both dtypes and two sizes."""
    import normrnn
    cases = {}
    for dtype in (np.float64, np.float32):
        for H in (8, 13):
            model = normrnn.NormRNN(13, H, seed=H, dtype=dtype)
            key = f"{np.dtype(dtype).name}.H{H}"
            for i, (tokens, m) in enumerate(DOCUMENTS):
                loss, grads = model.loss_and_grads(tokens, m)
                cases[f"{key}.doc{i}"] = {"loss": float(loss).hex(), **{
                    name: _digest(g) for name, g in grads.items()}}
            loss, grads = model.batch_loss_and_grads(list(DOCUMENTS), n_threads=2)
            cases[f"{key}.batch"] = {"loss": float(loss).hex(), **{
                name: _digest(g) for name, g in grads.items()}}
    return cases


if __name__ == "__main__":
    PATH.parent.mkdir(exist_ok=True)
    PATH.write_text(json.dumps({"probe": probe(), "cases": record()}, indent=1, sort_keys=True)
                    + "\n")
    print(f"wrote {PATH}", file=sys.stderr)
