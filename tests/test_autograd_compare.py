"""normrnn's per-step gradients against autograd's, intermediate by intermediate."""

import sys

import numpy as np
import pytest

import normrnn
from normrnn import notes, reference
from normrnn.autograd_check import (available_backend, compare_with_autograd, norms_gradient,
                                    normrnn_intermediates)

TOKENS = [1, 4, 4, 0, 6, 2, 5]


def needs(backend):
    return pytest.importorskip(backend, reason=f"{backend} is optional: the autograd "
                               "comparison needs it or the other framework")


BACKENDS = ["torch", "jax"]


def model(dtype=np.float64, seed=0):
    m = normrnn.NormRNN(7, 5, seed=seed, dtype=dtype)
    m.bias[:] = np.random.default_rng(seed + 1).normal(0, 0.3, 5)
    return m


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("title_length", [0, 2, 6])
@pytest.mark.parametrize("seed", [0, 1])
def test_every_intermediate_agrees_with_autograd(title_length, seed, backend):
    needs(backend)
    comparison = compare_with_autograd(model(seed=seed), TOKENS, title_length, backend=backend)
    assert comparison.all_close, comparison.table()
    assert max(r.max_difference for r in comparison.rows) < 1e-14
    counts = {}
    for row in comparison.rows:
        counts[row.tensor] = counts.get(row.tensor, 0) + 1
    T = len(TOKENS)
    assert counts == {"g": T, "delta": T - 1, "dz": T - title_length,
                      "d_embedding_logits": T - title_length, "d_embedding_input": T - 1,
                      "d_ih": T - 1, "d_scaled_hh": T - 1, "d_bias": T - 1, "d_norms": 1}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_float32_model_is_compared_in_float64(backend):
    needs(backend)
    assert compare_with_autograd(model(np.float32), TOKENS, 2, backend=backend).all_close


def test_the_per_step_shares_sum_to_the_reference_gradients():
    ours = normrnn_intermediates(*model().parameters().values(), TOKENS, 2)
    _, grads = reference.loss_and_grads(*model().parameters().values(), TOKENS, 2)
    d_ih = sum(v for (name, _), v in ours.items() if name == "d_ih")
    np.testing.assert_allclose(d_ih, grads["ih"], rtol=1e-13)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_wrong_section_is_caught_where_it_reaches(monkeypatch, backend):
    needs(backend)
    monkeypatch.setattr(reference, "hh_backward", notes.hh_backward)     # erratum 2
    comparison = compare_with_autograd(model(), TOKENS, 2, backend=backend)
    wrong = {(r.tensor, r.index) for r in comparison.rows if not r.close}
    T = len(TOKENS)
    # the last position's g and the last step's delta come from the logits alone
    assert ("g", T - 1) not in wrong and ("delta", T - 2) not in wrong
    # one step back, the state's gradient went through the wrong hh backward
    assert ("g", T - 2) in wrong and ("delta", T - 3) in wrong


def test_without_either_framework_the_error_says_how_to_install_one(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "jax", None)
    with pytest.raises(ImportError, match="pip install jax"):
        compare_with_autograd(model(), TOKENS, 2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_without_the_framework_asked_for_the_error_says_how_to_install_it(monkeypatch,
                                                                          backend):
    monkeypatch.setitem(sys.modules, backend, None)
    with pytest.raises(ImportError, match=f"pip install {backend}"):
        compare_with_autograd(model(), TOKENS, 2, backend=backend)


def test_without_torch_jax_is_the_witness(monkeypatch):
    needs("jax")
    monkeypatch.setitem(sys.modules, "torch", None)
    assert available_backend() == "jax"
    assert compare_with_autograd(model(), TOKENS, 2).all_close


def test_an_unknown_backend_is_named():
    with pytest.raises(ValueError, match="backend"):
        compare_with_autograd(model(), TOKENS, 2, backend="tensorflow")


@pytest.mark.parametrize("keepdims", [True, False])
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_norms_gradient_sums_over_the_broadcast_axis(backend, keepdims):
    needs(backend)
    rng = np.random.default_rng(2)
    hh, dS = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    n = np.linalg.norm(hh, axis=1)
    axis = 1 if keepdims else 0                  # keepdims: n_i reaches row i
    want = -(dS * hh).sum(axis=axis) / (5 * n**2)
    np.testing.assert_allclose(norms_gradient(hh, dS, keepdims=keepdims, backend=backend),
                               want, rtol=1e-13)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_table_has_a_row_per_tensor_and_index(backend):
    needs(backend)
    comparison = compare_with_autograd(model(), TOKENS, 2, backend=backend)
    lines = comparison.table().splitlines()
    assert len(lines) == 2 + len(comparison.rows)
    assert lines[0].split() == ["tensor", "t", "exact", "approx.", "max", "difference"]
