"""The whole model: forward + BPTT against finite differences, the reference and itself."""

import numpy as np
import pytest

import normrnn
from normrnn import gradcheck, reference
from normrnn._kernels import bptt_by_section

from helpers import make_model, sum_of_documents

TOKENS = [1, 3, 3, 0, 6, 2, 1, 3, 5, 4, 4]

# name -> (tokens, title_length, model options)
CASES = {
    "title and text": (TOKENS, 3, {}),
    "no title (m = 0)": (TOKENS, 0, {}),
    "one scored token (m = T-1)": (TOKENS, len(TOKENS) - 1, {}),
    "nothing scored (m = T)": (TOKENS, len(TOKENS), {}),
    "T = 1": ([4], 0, {}),
    "T = 2": ([4, 1], 0, {}),
    "T = 2, m = 1": ([4, 1], 1, {}),
    "repeated tokens": ([2, 2, 2, 2, 2, 5, 5, 5], 1, {}),
    "hh rows of very different norms": (TOKENS, 2, {"row_scales": np.logspace(-3, 3, 5)}),
    "odd sizes V=13, H=3": ([12, 0, 7, 7, 1, 11], 2, {"V": 13, "H": 3}),
}


def _model(options, dtype=np.float64):
    model = make_model(options.get("V", 7), options.get("H", 5), dtype=dtype)
    if "row_scales" in options:
        model.hh *= options["row_scales"][:, None].astype(dtype)
    return model


def _params(model):
    return [model.embedding, model.ih, model.hh, model.bias]


@pytest.mark.parametrize("case", CASES)
def test_gradients_match_finite_differences(case):
    # float64 central differences, eps = 1e-6: 1e-7 relative (gradcheck.TOLERANCES)
    tokens, m, options = CASES[case]
    errors = gradcheck.check_model(_model(options), tokens, m)
    assert set(errors) == set(normrnn.PARAMETER_NAMES)
    for name, error in errors.items():
        assert error <= 1e-7, (case, name, error)


@pytest.mark.parametrize("case", CASES)
def test_fast_bptt_equals_reference_and_section_by_section(case):
    # three implementations of one formula: the fast one reorders sums (gemm),
    # so they agree to rounding, 1e-12 relative, not bitwise
    tokens, m, options = CASES[case]
    model = _model(options)
    loss, grads = model.loss_and_grads(tokens, m)
    ref_loss, ref_grads = reference.loss_and_grads(*_params(model), tokens, m)

    by_section = normrnn.Grads.zeros_like(model)
    states = np.empty((len(tokens), model.hidden_size))
    sec_loss = bptt_by_section.document_loss_and_grads_by_section(
        *_params(model), np.array(tokens, np.int32), m, np.zeros(model.hidden_size),
        by_section.embedding, by_section.ih, by_section.hh, by_section.bias, states)

    assert loss == pytest.approx(ref_loss, rel=1e-13, abs=1e-13)
    assert sec_loss == pytest.approx(ref_loss, rel=1e-13, abs=1e-13)
    for name, g in grads.items():
        assert gradcheck.relative_error(g, ref_grads[name]) <= 1e-12, name
        assert gradcheck.relative_error(getattr(by_section, name), ref_grads[name]) <= 1e-12, name
    np.testing.assert_allclose(states, model.states(tokens), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("V, H, T", [(13, 70, 40), (40, 17, 12), (96, 128, 300)])
def test_fast_bptt_equals_reference_at_vector_sizes(V, H, T):
    # sizes where the sequential product runs in vector panels (H >= 8) with
    # and without a tail, and documents with more positions than token ids
    # (T > V: repeated tokens share one input row) and fewer (T < V); the
    # fast path's reordered sums give 1e-12 relative, as above
    rng = np.random.default_rng(T)
    tokens = rng.integers(0, V, T)
    model = make_model(V, H)
    loss, grads = model.loss_and_grads(tokens, 3)
    ref_loss, ref_grads = reference.loss_and_grads(*_params(model), tokens.tolist(), 3)
    assert loss == pytest.approx(ref_loss, rel=1e-13)
    for name, g in grads.items():
        assert gradcheck.relative_error(g, ref_grads[name]) <= 1e-12, name
    np.testing.assert_allclose(model.states(tokens), reference.forward(*_params(model), tokens.tolist()),
                               rtol=1e-12, atol=1e-15)


def test_workspace_reuse_across_documents():
    # one workspace serves documents of other lengths and other token sets:
    # nothing of an earlier document (its token rows, its length) leaks
    model = make_model(11, 9)
    documents = [([3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3], 2), ([0, 1], 0),
                 ([10, 2, 9, 2, 4, 7, 5, 1, 8, 6, 0, 3, 3, 10], 1), ([5], 0)]
    for tokens, m in documents + documents[::-1]:
        loss, grads = model.loss_and_grads(tokens, m)
        ref_loss, ref_grads = reference.loss_and_grads(*_params(model), tokens, m)
        assert loss == pytest.approx(ref_loss, rel=1e-13, abs=1e-13)
        for name, g in grads.items():
            assert gradcheck.relative_error(g, ref_grads[name]) <= 1e-12, (tokens, name)


def test_loss_values():
    model = make_model()
    # T = 1 or m = T-1 with T = 1: position 0 sees s_0 = 0, uniform logits: log V
    assert model.loss([3], 0) == pytest.approx(np.log(7), rel=1e-15)
    assert model.loss(TOKENS, len(TOKENS)) == 0.0
    assert model.loss(TOKENS, 0) == pytest.approx(reference.loss(*_params(model), TOKENS, 0), rel=1e-13)


@pytest.mark.parametrize("case", ["title and text", "repeated tokens", "hh rows of very different norms"])
def test_float32_agrees_with_float64(case):
    # float32 rounding accumulated over T steps and sums of H or V terms: 1e-4
    tokens, m, options = CASES[case]
    model64 = _model(options)
    model32 = _model(options, np.float32)
    loss64, grads64 = model64.loss_and_grads(tokens, m)
    loss32, grads32 = model32.loss_and_grads(tokens, m)
    # the float32 model's parameters are the float64 ones rounded: compare with
    # float64 run on exactly those values
    exact = model32.copy()
    for name, p in exact.parameters().items():
        setattr(exact, name, p.astype(np.float64))
    loss_exact, grads_exact = exact.loss_and_grads(tokens, m)
    assert loss32 == pytest.approx(loss_exact, rel=1e-5)
    for name, g in grads32.items():
        assert g.dtype == np.float32
        assert gradcheck.relative_error(g, getattr(grads_exact, name)) < 1e-4, name
    assert loss64 == pytest.approx(loss_exact, rel=1e-5)


def test_float32_gradients_match_finite_differences():
    errors = gradcheck.check_model(make_model(dtype=np.float32), TOKENS, 3)
    for name, error in errors.items():
        assert error <= gradcheck.TOLERANCES[np.dtype(np.float32)], (name, error)


def test_initial_state_and_truncated_bptt():
    # truncated BPTT: the loss of the chunks equals the full loss, and the
    # carried state equals the full run's state
    model = make_model()
    full_loss = model.loss(TOKENS, 2)
    full_states = model.states(TOKENS)
    loss_a, _, carried = model.loss_and_grads(TOKENS[:6], 2, return_last_state=True)
    np.testing.assert_allclose(carried, full_states[5], rtol=1e-14)
    loss_b = model.loss(TOKENS[5:], 1, initial_state=carried)
    assert loss_a + loss_b == pytest.approx(full_loss, rel=1e-13)

    # and with a nonzero s_0 the gradients still match finite differences
    s0 = np.random.default_rng(7).normal(size=5)
    _, grads = model.loss_and_grads(TOKENS, 0, initial_state=s0)
    for name, g in grads.items():
        p = getattr(model, name)
        fd = gradcheck.numerical_gradient(lambda: model.loss(TOKENS, 0, initial_state=s0), p,
                                          gradcheck.step_sizes(name, p))
        assert gradcheck.relative_error(g, fd) <= 1e-7, name
    ref_loss, ref_grads = reference.loss_and_grads(*_params(model), TOKENS, 0, initial_state=s0)
    for name, g in grads.items():
        assert gradcheck.relative_error(g, ref_grads[name]) <= 1e-12


def test_gradient_accumulates_over_repeated_tokens():
    # each occurrence of token 2 adds into the same embedding row
    model = make_model()
    _, once = model.loss_and_grads([2, 5], 1)
    _, twice = model.loss_and_grads([2, 5, 2, 5], 1)
    assert np.abs(twice.embedding[2]).max() > np.abs(once.embedding[2]).max() > 0


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_batch_equals_sum_of_documents(n_threads):
    model = make_model()
    docs = [(TOKENS, 3), ([4, 1], 0), ([2, 2, 2, 5], 1), (TOKENS[::-1], 0), ([6], 0)]
    loss, grads = model.batch_loss_and_grads(docs, n_threads=n_threads)
    want_loss, want = sum_of_documents(model, docs)
    assert loss == pytest.approx(want_loss, rel=1e-14)
    for name, g in grads.items():
        assert gradcheck.relative_error(g, getattr(want, name)) < 1e-14
    again = model.batch_loss_and_grads(docs, n_threads=n_threads)
    assert again[0] == loss     # reproducible: bitwise, run to run
    for name, g in grads.items():
        np.testing.assert_array_equal(getattr(again[1], name), g)


def test_model_api():
    model = normrnn.NormRNN(10, 4, seed=3, dtype=np.float32)
    assert (model.vocab_size, model.hidden_size, model.dtype) == (10, 4, np.float32)
    for name, p in model.parameters().items():
        assert p.flags.c_contiguous and p.flags.writeable and p.dtype == np.float32
    assert model.parameters()["hh"] is model.hh
    assert "NormRNN(vocab_size=10" in repr(model)
    same = normrnn.NormRNN(10, 4, seed=3, dtype=np.float32)
    np.testing.assert_array_equal(same.embedding, model.embedding)
    copy = model.copy()
    copy.ih[0, 0] += 1
    assert copy.ih[0, 0] != model.ih[0, 0]
    p = model.probabilities(np.zeros(4, np.float32))
    np.testing.assert_allclose(p, 0.1)
    s1 = model.next_state(np.zeros(4, np.float32), 3)
    # next_state is the NumPy step (normrnn.step), states() the kernels: f = 1 - q
    # rounds at the scale of 1, so the two agree to a float32 epsilon or two
    np.testing.assert_allclose(s1, model.states([3, 0])[1], rtol=0,
                               atol=2 * np.finfo(np.float32).eps)
