"""The grader's cases, input checks and numerical-answer check: answers that
used to pass on one fixed structure now fail, and say where."""

import math

import numpy as np
import pytest
from exercise_solutions import SOLUTIONS

from normrnn import reference
from normrnn.exercises import EXERCISES, grade
from normrnn.exercises.cases import BEYOND, DTYPES, make_cases
from normrnn.exercises.grading import DERIVED

S = SOLUTIONS


def df(x):
    return (2 * x + 1) / (x * x + x + 1) ** 2


# --- the cases ----------------------------------------------------------------------

#: The exercises with a hidden size (two proofs, about f alone, have none).
SIZED = [name for name in EXERCISES if name not in ("max_slope", "complex_step")]


@pytest.mark.parametrize("name", SIZED)
def test_every_exercise_has_a_small_and_a_large_case_with_v_not_h(name):
    cases = make_cases(name, seed=0)
    sizes = [c.sizes["H"] for c in cases]
    assert min(sizes) <= 4 and max(sizes) >= 7
    for c in cases:
        if "V" in c.sizes:
            assert c.sizes["V"] != c.sizes["H"]


def test_the_document_cases_cover_t_m_and_repeated_tokens():
    for seed in range(5):
        tags = {t for c in make_cases("loss_and_grads", seed=seed) for t in c.tags}
        assert {"T = 1", "m = 0", "m = 1", "m = T - 1", "repeated tokens"} <= tags
        assert any(c.sizes["N"] >= 9 for c in make_cases("loss_and_grads", seed=seed))
        tokens = [t for c in make_cases("loss_and_grads", seed=seed) for t in c.args64[4]]
        assert max(tokens) >= 7                         # a token >= H in the large cases


@pytest.mark.parametrize("seed", range(10))
def test_logits_targets_are_never_the_argmax(seed):
    for case in make_cases("logits", seed=seed):
        embedding, state, token = case.args64
        assert token != np.argmax(embedding @ state)


def test_cases_come_from_the_seed():
    a, b, c = (make_cases("loss_and_grads", seed=s) for s in (3, 3, 4))
    assert [x.tags for x in a] == [x.tags for x in b]
    assert all(np.array_equal(x.args64[0], y.args64[0]) for x, y in zip(a, b))
    assert [x.args64[4] for x in a] != [x.args64[4] for x in c]   # a held-back seed differs
    assert grade("hh", S["hh"], seed=11).to_dict() == grade("hh", S["hh"], seed=11).to_dict()


@pytest.mark.parametrize("name", EXERCISES)
@pytest.mark.parametrize("seed", [0, 5])
def test_honest_answers_pass_every_case_in_both_dtypes(name, seed):
    package = (BEYOND[name].solution if name in BEYOND else
               getattr(reference, "loss_and_grads" if name == "loss_and_grads"
                       else f"{name}_backward"))
    for fn in (S[name], package):
        result = grade(name, fn, seed=seed)
        assert result.passed, result.report()
        # every case in both dtypes; a proof whose answer is exact or a number in float64 only
        assert result.cases_run == result.cases_passed == sum(
            len(getattr(c, "dtypes", DTYPES)) for c in make_cases(name))
        assert result.flags == [] and result.failed_cases == [] and result.diagnosis == ""


# --- false passes of one fixed structure -----------------------------------------------

def argmax_onehot(embedding, state, token):
    z = embedding @ state
    p = np.exp(z - z.max())
    p /= p.sum()
    dz = p - np.eye(len(z), dtype=z.dtype)[np.argmax(z)]
    return S["logits"](embedding, state, token)[0], np.outer(dz, state), embedding.T @ dz


def row_modulo(embedding, token, d_embedded):
    out = np.zeros_like(embedding)
    x = embedding[token % embedding.shape[1]]
    out[token % embedding.shape[1]] = d_embedded * df(x)
    return out


def first_five_rows(hh, d_scaled_hh):
    out = np.zeros_like(hh)
    rows = min(5, len(hh))
    out[:rows] = S["row_normalise"](hh[:rows], d_scaled_hh[:rows])
    return out


def no_position_0(embedding, ih, hh, bias, tokens, m):
    """The whole document, scoring from max(m, 1): wrong only when m = 0."""
    return S["loss_and_grads"](embedding, ih, hh, bias, tokens, max(m, 1))


def float64_buffers(embedding, ih, hh, bias, tokens, m):
    return S["loss_and_grads"](embedding.astype(np.float64), ih.astype(np.float64),
                               hh.astype(np.float64), bias.astype(np.float64), tokens, m)


@pytest.mark.parametrize("seed", range(10))
def test_the_one_hot_at_the_argmax_fails_at_every_seed(seed):
    result = grade("logits", argmax_onehot, seed=seed, dtype=np.float64)
    assert not result.passed and result.cases_passed == 0


def test_the_embedding_row_token_mod_h_fails_for_a_token_above_h():
    result = grade("embedding_activation", row_modulo)
    assert not result.passed and result.cases_passed == 0
    assert all(">= H" in case for case in result.failed_cases)


def test_a_row_normalisation_of_the_first_five_rows_fails_for_h_7_and_more():
    result = grade("row_normalise", first_five_rows)
    assert not result.passed
    assert result.cases_passed == 2 and result.cases_run == 4          # the small case passes
    H = make_cases("row_normalise")[0].sizes["H"]
    assert result.fails_when == f"fails for H = {H}"
    assert f"fails for H = {H}" in result.summary()


def test_a_bptt_without_position_0_fails_when_m_is_0():
    result = grade("loss_and_grads", no_position_0)
    assert not result.passed
    assert all("m = 0" in case for case in result.failed_cases)
    assert result.fails_when == "fails when m = 0"
    assert "title positions are scored" not in result.diagnosis


def test_a_bptt_with_float64_buffers_fails_for_float32():
    result = grade("loss_and_grads", float64_buffers)
    assert not result.passed
    assert result.cases_passed == result.cases_run // 2
    assert result.fails_when == "fails for float32"
    assert "has dtype float64, expected float32" in result.message


def test_uninitialised_rows_fail_whatever_the_memory_held():
    def garbage_rows(embedding, token, d_embedded):
        out = np.empty_like(embedding)
        out[token] = d_embedded * df(embedding[token])
        return out

    def garbage_entry(d_state, middle):
        out = np.empty_like(middle)
        out[1:] = (d_state * df(middle))[1:]
        return out
    for name, fn in (("embedding_activation", garbage_rows), ("activation", garbage_entry)):
        for _ in range(3):
            result = grade(name, fn)
            assert not result.passed and result.cases_passed == 0
            assert "never written" in result.message or "NaN" in result.message


# --- inputs untouched, outputs fresh ----------------------------------------------------

MUTATIONS = {
    "return delta": ("bias", lambda delta: delta,
                     "returned its input `delta` instead of a new array"),
    "a view of delta": ("bias", lambda delta: delta[:],
                        "its output `d_bias` shares memory with its input `delta`"),
    "d_state *= f'(a)": ("activation", lambda d_state, middle: (
        d_state.__imul__(df(middle))), "changed its input `d_state`"),
    "zeroes middle": ("activation", lambda d_state, middle: (
        S["activation"](d_state, middle), middle.fill(0))[0], "changed its input `middle`"),
    "writes into embedding": ("embedding_activation", lambda embedding, token, d: (
        S["embedding_activation"](embedding, token, d),
        embedding.__setitem__(token, 0.0))[0], "changed its input `embedding`"),
    "normalises hh in place": ("row_normalise", lambda hh, dS: (
        S["row_normalise"](hh, dS), hh.__itruediv__(np.linalg.norm(hh, axis=1,
                                                                   keepdims=True)))[0],
        "changed its input `hh`"),
    "changes the tokens": ("loss_and_grads", lambda E, W, Wh, b, tokens, m: (
        S["loss_and_grads"](E, W, Wh, b, tokens, m), tokens.reverse())[0],
        "changed its input `tokens`"),
}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_changed_or_returned_input_fails_with_its_own_diagnosis(mutation):
    name, fn, words = MUTATIONS[mutation]
    result = grade(name, fn)
    assert not result.passed
    assert words in result.message, result.message
    assert words in result.report()


# --- numerical answers ------------------------------------------------------------------

def central(fun, x, h=1e-6):
    grad = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        old = x[k]
        x[k] = old + h
        plus = fun()
        x[k] = old - h
        minus = fun()
        x[k] = old
        grad[k] = (plus - minus) / (2 * h)
    return grad


def numerical_activation(d_state, middle):
    x = middle.astype(np.float64)
    return central(lambda: float(d_state @ (1 - 1 / (x * x + x + 1))), x).astype(middle.dtype)


def numerical_row_normalise(hh, d_scaled_hh):
    x = hh.astype(np.float64)
    H = x.shape[1]
    return central(lambda: float((d_scaled_hh * x / (H * np.linalg.norm(
        x, axis=1, keepdims=True))).sum()), x, 1e-7).astype(hh.dtype)


def numerical_bptt(embedding, ih, hh, bias, tokens, m):
    params = [p.astype(np.float64) for p in (embedding, ih, hh, bias)]

    def loss():
        return S["loss_and_grads"](*params, tokens, m)[0]
    grads = {k: central(loss, p).astype(embedding.dtype)
             for k, p in zip(("embedding", "ih", "hh", "bias"), params)}
    return loss(), grads


@pytest.mark.parametrize("name, fn", [("activation", numerical_activation),
                                      ("row_normalise", numerical_row_normalise),
                                      ("loss_and_grads", numerical_bptt)])
def test_a_numerical_derivative_is_named_and_does_not_pass(name, fn):
    result = grade(name, fn, dtype=np.float64)
    assert all(max(e) <= result.tolerance for e in result.errors.values())  # within tolerance
    assert not result.passed                                       # ... and still not passed
    assert result.cases_passed <= (name == "loss_and_grads")       # T = 1: every gradient is 0
    assert result.flags == ["numerical derivative"]
    assert "this looks like a numerical derivative, not a derivation" in result.diagnosis
    error = float(result.diagnosis.split("agrees only to ")[1].split(":")[0])
    assert DERIVED < error <= 1e-7


def test_the_derivation_threshold_sits_between_derivations_and_differences():
    worst = 0.0
    for name in EXERCISES:
        for seed in range(3):
            result = grade(name, S[name], seed=seed, dtype=np.float64)
            assert result.passed
            worst = max(worst, max(e.reference for e in result.errors.values()))
    assert worst < DERIVED / 100
    assert DTYPES == (np.dtype(np.float64), np.dtype(np.float32))


# --- arguments and odd return values ------------------------------------------------------

@pytest.mark.parametrize("timeout, error", [(0, ValueError), (-1, ValueError),
                                            (math.nan, ValueError), (math.inf, ValueError),
                                            ("1", TypeError), (True, TypeError)])
def test_grade_refuses_a_bad_timeout(timeout, error):
    with pytest.raises(error, match="timeout"):
        grade("bias", S["bias"], timeout=timeout)


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (1.5, TypeError), ("0", TypeError)])
def test_grade_refuses_a_bad_seed(seed, error):
    with pytest.raises(error, match="seed"):
        grade("bias", S["bias"], seed=seed)


def test_a_dict_whose_getitem_raises_is_a_failing_grade():
    class Grads(dict):
        def __getitem__(self, key):
            return 1 / 0

    def answer(*args):
        loss, grads = S["loss_and_grads"](*args)
        return loss, Grads(grads)
    result = grade("loss_and_grads", answer)
    assert not result.passed and "ZeroDivisionError" in result.message
    assert "Traceback" not in result.report()


def test_a_patched_relative_error_does_not_reach_grade(monkeypatch):
    import normrnn.gradcheck
    monkeypatch.setattr(normrnn.gradcheck, "relative_error", lambda *a, **k: 0.0)
    result = grade("bias", lambda delta: 3 * delta)
    assert not result.passed and result.cases_passed == 0


def test_a_numerical_derivative_in_float64_passes_its_float32_cases():
    result = grade("activation", numerical_activation)
    assert not result.passed and result.fails_when == "fails for float64"
    assert result.cases_passed == result.cases_run // 2
    assert "this looks like a numerical derivative" in result.diagnosis
