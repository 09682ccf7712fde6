"""The model written independently of the kernels, in PyTorch; autograd must agree with them.

The PyTorch model is the benchmark's per-token baseline,
:func:`normrnn.bench.torch_loss_per_token`: the loop of the docs' *Model* page.

Runs when torch is installed (CI installs it); skipped otherwise.  Both sides
are float64 and compute the same formula, so they agree to rounding: 1e-10
relative leaves room for reordered sums over T steps.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers import make_model  # noqa: E402

from normrnn import gradcheck  # noqa: E402
from normrnn.bench import torch_loss_per_token  # noqa: E402


@pytest.mark.parametrize("tokens, m", [([1, 3, 3, 0, 6, 2, 1, 3, 5], 3), ([4, 1], 0),
                                       ([2, 2, 2, 5, 5], 1), ([6], 0)])
def test_autograd_agrees(tokens, m):
    model = make_model()
    model.hh *= np.logspace(-2, 2, 5)[:, None]
    loss, grads = model.loss_and_grads(tokens, m)
    params = {k: torch.tensor(v, requires_grad=True) for k, v in model.parameters().items()}
    t_loss = torch_loss_per_token(*params.values(), tokens, m)
    t_loss.backward()
    assert loss == pytest.approx(t_loss.item(), rel=1e-12, abs=1e-12)
    for name, g in grads.items():
        want = params[name].grad
        want = np.zeros_like(g) if want is None else want.numpy()
        assert gradcheck.relative_error(g, want) < 1e-10, name


def test_autograd_agrees_with_the_lockstep_batch():
    # a ragged batch with its own initial states, through batch_loss_and_grads:
    # torch sums the documents' losses, one document at a time
    model = make_model()
    model.hh *= np.logspace(-2, 2, 5)[:, None]
    docs = [([1, 3, 3, 0, 6, 2, 1, 3, 5], 3), ([4, 1], 0), ([6], 0), ([2, 2, 2, 5, 5], 5),
            ([0, 4, 4, 1], 1)]
    starts = np.random.default_rng(0).normal(0, 0.5, (len(docs), 5))
    loss, grads = model.batch_loss_and_grads(docs, n_threads=2, initial_states=starts)
    params = {name: torch.tensor(p, requires_grad=True)
              for name, p in model.parameters().items()}
    want = sum(torch_loss_per_token(*params.values(), tokens, m, start)
               for (tokens, m), start in zip(docs, starts, strict=True))
    want.backward()
    assert loss == pytest.approx(want.item(), rel=1e-10)
    for name, g in grads.items():
        assert gradcheck.relative_error(g, params[name].grad.numpy()) < 1e-10, name


def test_torch_without_keepdim_is_erratum_4():
    hh = torch.randn(5, 5, dtype=torch.float64)
    wrong = hh / (torch.norm(hh, dim=1) * 5)
    right = hh / (torch.norm(hh, dim=1, keepdim=True) * 5)
    assert gradcheck.relative_error(wrong.numpy(), right.numpy()) > 0.1
