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



# --- a learner's loss_and_grads beside autograd ---------------------------------------

DISTINCT = list(range(8))          # the inputs x_0 .. x_6 are distinct: every step is seen


def learner(mistake=None):
    """A whole-document BPTT written from the sections, with one planted mistake (or none)."""
    def loss_and_grads(embedding, ih, hh, bias, tokens, title_length):
        T, S = len(tokens), reference.row_normalise(hh)
        states, middles, embeddeds = [np.zeros(hh.shape[1])], [], []
        for t in range(T - 1):
            embeddeds.append(reference.embedding_activation_forward(embedding, tokens[t]))
            middles.append(S @ states[t] + ih @ embeddeds[t] + bias)
            states.append(reference.activation(middles[t]))
        d_embedding, d_ih = np.zeros_like(embedding), np.zeros_like(ih)
        d_scaled_hh, d_bias = np.zeros_like(hh), np.zeros_like(bias)
        total, grad = 0.0, np.zeros_like(bias)
        last = 1 if mistake == "the walk back stops at t = 2" else 0
        for t in range(T - 1, last, -1):
            if t >= title_length:
                read = states[t - 1] if mistake == "the logits read s_{t-1}" else states[t]
                _, dE, d_state = reference.logits_backward(embedding, read, tokens[t])
                step_loss = reference.logits_backward(embedding, states[t], tokens[t])[0]
                total, d_embedding, grad = total + step_loss, d_embedding + dE, grad + d_state
            delta = reference.activation_backward(grad, middles[t - 1])
            d_bias += delta
            dW, du = reference.ih_backward(ih, embeddeds[t - 1], delta)
            d_ih += dW
            d_input = reference.embedding_activation_backward(embedding, tokens[t - 1], du)
            if mistake == "d E overwritten":
                d_embedding[tokens[t - 1]] = d_input[tokens[t - 1]]
            else:
                d_embedding += d_input
            dS, grad = reference.hh_backward(S, states[t - 1], delta)
            d_scaled_hh += dS
            if mistake == "no recurrent term":
                grad = np.zeros_like(grad)
        if title_length == 0 and mistake != "no loss at position 0":
            step_loss, dE, _ = reference.logits_backward(embedding, states[0], tokens[0])
            total, d_embedding = total + step_loss, d_embedding + dE
        return total, {"embedding": d_embedding, "ih": d_ih, "bias": d_bias,
                       "hh": reference.row_normalise_backward(hh, d_scaled_hh)}
    return loss_and_grads


def _learner_model():
    m = normrnn.NormRNN(9, 5, seed=0)
    m.bias[:] = np.random.default_rng(1).normal(0, 0.3, 5)
    return m


@pytest.mark.parametrize("function", [learner(), reference.loss_and_grads])
@pytest.mark.parametrize("title_length", [0, 2])
def test_a_right_learner_function_agrees_everywhere(function, title_length):
    needs("torch")
    comparison = compare_with_autograd(_learner_model(), DISTINCT, title_length,
                                       loss_and_grads=function)
    assert comparison.all_close, comparison.table()
    assert max(r.max_difference for r in comparison.rows) < 1e-13
    report = comparison.report()
    assert report.startswith("agrees with autograd")
    assert "steps t = 0, 1, 2, 3, 4, 5, 6: the gradient reaching each step's input agrees" \
        in report
    kinds = {}
    for row in comparison.rows:
        kinds[row.tensor] = kinds.get(row.tensor, 0) + 1
    assert kinds == {"position_loss": 8, "position_grads": 8, "logits_share": 1,
                     "step_input": 7, "loss": 1, "embedding": 1, "ih": 1, "hh": 1, "bias": 1}


def test_a_missing_recurrent_term_is_located_at_the_second_step_back():
    needs("torch")
    comparison = compare_with_autograd(_learner_model(), DISTINCT, 2,
                                       loss_and_grads=learner("no recurrent term"))
    assert not comparison.all_close
    wrong_steps = {r.index for r in comparison.rows if r.tensor == "step_input" and not r.close}
    assert wrong_steps == {0, 1, 2, 3, 4, 5}           # t = 6 reads the logits only
    lines = comparison.report().splitlines()
    assert lines[0].startswith("positions: agrees for t < 2; from t = 2 its gradient differs: "
                               "embedding, ih, bias differ; hh agrees")
    assert "recurrent term" in lines[0]
    assert lines[1] == ("steps: agrees for t >= 6; from t = 5 the carried state gradient "
                        "differs (the recurrent term S^T delta?)")
    assert lines[2] == "whole document: embedding, ih, hh, bias differ; loss agrees"


def test_a_walk_back_that_stops_one_step_early_is_located_at_step_0():
    needs("torch")
    comparison = compare_with_autograd(_learner_model(), DISTINCT, 2,
                                       loss_and_grads=learner("the walk back stops at t = 2"))
    wrong_steps = {r.index for r in comparison.rows if r.tensor == "step_input" and not r.close}
    assert wrong_steps == {0}
    lines = comparison.report().splitlines()
    assert lines[0].startswith("positions: agrees for t < 1; from t = 1 the loss at t and its "
                               "gradient differ")
    assert lines[1].startswith("steps: agrees for t >= 1; from t = 0 the gradient reaching the "
                               "input differs (does the walk back stop one step early?")


def test_a_missing_position_0_loss_is_located_at_position_0():
    needs("torch")
    comparison = compare_with_autograd(_learner_model(), DISTINCT, 0,
                                       loss_and_grads=learner("no loss at position 0"))
    wrong = {(r.tensor, r.index) for r in comparison.rows if not r.close}
    assert wrong == {("position_loss", 0), ("loss", None)}
    lines = comparison.report().splitlines()
    assert lines[0] == ("positions: from t = 0 the loss at t differs (the loss at position 0: "
                        "is it scored when title_length = 0?)")
    assert lines[-1] == "whole document: loss differs; embedding, ih, hh, bias agree"


def test_repeated_inputs_leave_out_their_steps_only():
    needs("torch")
    comparison = compare_with_autograd(_learner_model(), TOKENS, 2, loss_and_grads=learner())
    steps = [r.index for r in comparison.rows if r.tensor == "step_input"]
    assert steps == [0, 3, 4, 5]                      # token 4 is read at steps 1 and 2
    assert comparison.all_close


def test_without_torch_jax_is_the_learners_witness(monkeypatch):
    pytest.importorskip("jax", reason="JAX is optional")
    monkeypatch.setitem(sys.modules, "torch", None)
    tokens = DISTINCT[:5]                 # JAX runs op by op here: a short document
    right = compare_with_autograd(_learner_model(), tokens, 2, loss_and_grads=learner())
    assert right.all_close, right.table()
    assert max(r.max_difference for r in right.rows) < 1e-13
    wrong = compare_with_autograd(_learner_model(), tokens, 2,
                                  loss_and_grads=learner("no recurrent term"))
    assert ("steps: agrees for t >= 3; from t = 2 the carried state gradient differs"
            in wrong.report())


def test_without_torch_or_jax_the_error_says_how_to_install_one(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "jax", None)
    with pytest.raises(ImportError, match="PyTorch or JAX.*pip install"):
        compare_with_autograd(_learner_model(), DISTINCT, 2, loss_and_grads=learner())


def test_a_learner_function_of_the_wrong_form_is_named():
    needs("torch")
    with pytest.raises(TypeError, match="loss_and_grads must be a function"):
        compare_with_autograd(_learner_model(), DISTINCT, 2, loss_and_grads="bptt.py")
    with pytest.raises(ValueError, match="title_length"):
        compare_with_autograd(_learner_model(), DISTINCT, 8, loss_and_grads=learner())
    with pytest.raises(ValueError, match=r"grads\['hh'\] has shape \(5,\)"):
        compare_with_autograd(_learner_model(), DISTINCT, 2, loss_and_grads=lambda *a: (
            0.0, {"embedding": np.zeros((9, 5)), "ih": np.zeros((5, 5)),
                  "hh": np.zeros(5), "bias": np.zeros(5)}))
    with pytest.raises(ValueError, match=r"return \(loss, grads\)"):
        compare_with_autograd(_learner_model(), DISTINCT, 2, loss_and_grads=lambda *a: 0.0)


def test_a_document_of_one_token_has_positions_but_no_steps():
    needs("torch")
    comparison = compare_with_autograd(_learner_model(), [3], 0, loss_and_grads=learner())
    assert comparison.all_close
    assert [r.tensor for r in comparison.rows if r.index is not None] == [
        "position_loss", "position_grads"]
    assert "steps: none (a document of one token has no step)" in comparison.report()


def test_logits_that_read_the_state_before_are_named_and_steps_are_not_guessed():
    needs("torch")
    comparison = compare_with_autograd(_learner_model(), DISTINCT, 2,
                                       loss_and_grads=learner("the logits read s_{t-1}"))
    lines = comparison.report().splitlines()
    assert lines[1] == ("the logits' share of d embedding differs (rows [7, 8], read by no "
                        "step): the logits section?")
    assert lines[2] == ("steps: each step's row of d embedding holds the logits' share too, "
                        "which differs: no step can be told apart until the logits agree")


def test_an_overwritten_d_embedding_is_told_from_a_wrong_delta():
    needs("torch")
    comparison = compare_with_autograd(_learner_model(), DISTINCT, 2,
                                       loss_and_grads=learner("d E overwritten"))
    lines = comparison.report().splitlines()
    assert "its gradient differs: embedding differs; ih, hh, bias agree (only d embedding" \
        in lines[0]
    assert lines[1] == ("steps: from t = 6 the row of the step's input differs, but ih and "
                        "bias agree, so delta_t does: the embedding activation, or a d E "
                        "overwritten (=) instead of summed (+=)?")
    assert lines[2] == "whole document: embedding differs; loss, ih, hh, bias agree"
