"""The grader: correct answers pass, each known mistake is graded and named,
bad code becomes a failing grade with a clear message."""

import json

import numpy as np
import pytest
from exercise_solutions import SOLUTIONS

from normrnn import notes
from normrnn.exercises import EXERCISES, Grade, grade
from normrnn.exercises import mistakes as mistakes_module
from normrnn.exercises.cases import make_case
from normrnn.exercises.pytest_api import assert_gradient

S = SOLUTIONS


@pytest.mark.parametrize("name", EXERCISES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_independent_correct_solutions_pass(name, dtype):
    result = grade(name, SOLUTIONS[name], dtype=dtype)
    assert result.passed, result.report()
    assert result.diagnosis == "" and result.message == ""
    assert result.error <= result.tolerance
    for errors in result.errors.values():
        assert errors.finite_differences <= result.tolerance
        assert errors.reference <= result.tolerance


@pytest.mark.parametrize("seed", [1, 7])
def test_other_seeds_pass_too(seed):
    for name in EXERCISES:
        assert grade(name, SOLUTIONS[name], seed=seed).passed


def _with(name, **changes):
    """The correct solution of ``name`` with some outputs changed by functions."""
    def fn(*args):
        result = SOLUTIONS[name](*args)
        if name == "loss_and_grads":
            loss, grads = result
            values = {"loss": loss, **grads}
            values = {k: changes[k](v, *args) if k in changes else v for k, v in values.items()}
            return values.pop("loss"), values
        single = not isinstance(result, tuple)
        values = (result,) if single else result
        from normrnn.exercises import OUTPUTS
        values = tuple(changes[k](v, *args) if k in changes else v
                       for k, v in zip(OUTPUTS[name], values))
        return values[0] if single else values
    return fn


def _erratum(number):
    return lambda *args: notes.pseudocode_loss_and_grads(*args, errata=(number,))


def _model_mistake(mistake):
    def fn(*args):
        values = mistakes_module._mistaken_bptt(*args, mistake)
        return float(values.pop("loss")), values
    return fn


#: One seeded mistake per candidate: (exercise, function, words the diagnosis must hold).
SEEDED = {
    # generic candidates
    "sign flipped": ("bias", _with("bias", d_bias=lambda v, *a: -v), "d_bias: sign flipped"),
    "scaled by 2": ("activation", _with("activation", delta=lambda v, *a: 2 * v),
                    "delta: scaled by 2"),
    "scaled by 1/2": ("ih", _with("ih", d_ih=lambda v, *a: v / 2), "d_ih: scaled by 1/2"),
    "scaled by H": ("row_normalise", _with("row_normalise", d_hh=lambda v, W, dS: len(W) * v),
                    "d_hh: scaled by H = "),
    "scaled by 1/H": ("hh", _with("hh", d_state=lambda v, Sm, s, d: v / len(d)),
                      "d_state: scaled by 1/H = 1/"),
    "scaled by V": ("logits", _with("logits", d_state=lambda v, E, s, x: len(E) * v),
                    "d_state: scaled by V = "),
    "transposed matrix": ("hh", _with("hh", d_scaled_hh=lambda v, *a: v.T),
                          "d_scaled_hh: transposed"),
    # particular candidates, sections
    "one-hot not subtracted": ("logits", lambda E, s, x: (
        S["logits"](E, s, x)[0], np.outer(np.exp(E @ s) / np.exp(E @ s).sum(), s),
        E.T @ (np.exp(E @ s) / np.exp(E @ s).sum())), "the one-hot is not subtracted"),
    "softmax left out": ("logits", lambda E, s, x: (
        S["logits"](E, s, x)[0], np.outer(E @ s - np.eye(len(E))[x], s),
        E.T @ (E @ s - np.eye(len(E))[x])), "the softmax is left out"),
    "loss sign": ("logits", _with("logits", loss=lambda v, *a: -v), "log p[x] where -log p[x]"),
    "f for f'": ("activation", lambda g, a: g * (1 - 1 / (a * a + a + 1)), "f(a) where f'(a)"),
    "square missing": ("activation", lambda g, a: g * (2 * a + 1) / (a * a + a + 1),
                       "without the square"),
    "g left out": ("activation", lambda g, a: (2 * a + 1) / (a * a + a + 1) ** 2,
                   "incoming gradient g is left out"),
    "erratum 1": ("ih", lambda W, u, d: (np.outer(d, u), d * W.sum(axis=1)), "erratum 1"),
    "ih d_embedded transposed": ("ih", lambda W, u, d: (np.outer(d, u), W @ d),
                                 "W_ih delta where W_ih^T delta is due"),
    "erratum 8 backward": ("ih", lambda W, u, d: (np.outer(u, d), W @ d), "erratum 8"),
    "f' left out": ("embedding_activation", lambda E, x, du: np.where(
        np.arange(len(E))[:, None] == x, du, 0.0), "f'(E[x]) is left out"),
    "every row": ("embedding_activation", lambda E, x, du: du * (2 * E + 1) / (
        E * E + E + 1) ** 2, "every row of dE is filled"),
    "erratum 2": ("hh", lambda Sm, s, d: (np.outer(d, s), d * Sm.sum(axis=1)), "erratum 2"),
    "erratum 5 backward": ("hh", lambda Sm, s, d: (np.outer(s, d), Sm @ d), "erratum 5"),
    "erratum 3": ("row_normalise", notes.row_normalise_backward, "erratum 3"),
    "missing projection": ("row_normalise", lambda W, dS: dS / (
        W.shape[1] * np.linalg.norm(W, axis=1, keepdims=True)), "the projection is missing"),
    "row norm missing": ("row_normalise", _with(
        "row_normalise", d_hh=lambda v, W, dS: v * np.linalg.norm(W, axis=1, keepdims=True)),
        "not divided by the row's norm"),
    "g over f'": ("activation", lambda g, a: g * (a * a + a + 1) ** 2 / (2 * a + 1),
                  "g / f'(a)"),
    "f for f' in the embedding": ("embedding_activation", lambda E, x, du: np.where(
        np.arange(len(E))[:, None] == x, du * (1 - 1 / (E * E + E + 1)), 0.0),
        "f(E[x]) where f'(E[x]) is due"),
    "dS itself": ("row_normalise", lambda W, dS: dS.copy(),
                  "the row-normalisation backward is left out: dS itself"),
    "hh d_state transposed": ("hh", lambda Sm, s, d: (np.outer(d, s), Sm @ d),
                              "S delta where S^T delta is due"),
    "gain: 1/H for gamma": ("gain", lambda W, g, dS: (
        S["row_normalise"](W, dS), S["gain"](W, g, dS)[1]), "the notes' 1/H where gamma_i"),
    "gain: not divided by the norm": ("gain", _with(
        "gain", d_gain=lambda v, W, g, dS: (dS * W).sum(axis=1)), "d_gain not divided"),
    "gain: projection missing": ("gain", _with(
        "gain", d_hh=lambda v, W, g, dS: g[:, None] * dS / np.linalg.norm(W, axis=1,
                                                                             keepdims=True)),
        "the projection is missing from d_hh"),
    # the whole document
    **{case: ("loss_and_grads", _model_mistake(mistake), words) for case, mistake, words in [
        ("state from the wrong step", "next_state", "the state from the wrong step"),
        ("title positions scored", "title_scored", "the title positions are scored"),
        ("truncated to one step", "truncated", "truncated to one step"),
        ("overwrite", "overwrite", "overwrites instead of accumulating"),
        ("model missing projection", "no_projection", "the projection is missing"),
        ("no row normalisation", "no_row_normalise", "row-normalisation backward is left out"),
        ("dE overwritten", "embedding_overwrite", "dE[x] = ... where dE[x] += ... is due"),
        ("vectorised += drops repeats", "dropped_repeats", "drops repeated indices"),
        ("vectorised += drops repeats, forwards", "dropped_repeats_forward", "np.add.at"),
        ("model only the target row", "target_row_only", "only the target row of dE"),
        ("logits read s_{t-1}", "logits_previous_state", "off by one step"),
        ("logits read states[t - 1]", "logits_previous_state_wrap", "read s_{t-1}"),
        ("logits read s_{t+1}", "logits_next_state", "read s_{t+1}"),
        ("dE gathers s_{t-1}", "logits_previous_state_in_de", "dE gathers dz_t (x) s_{t-1}"),
    ]},
    "only the target row": ("logits", _with("logits", d_embedding=lambda v, E, s, x: np.where(
        np.arange(len(E))[:, None] == x, v, 0.0)), "d_embedding: only the target row of dE"),
    "only the target entry of dz": ("logits", lambda E, s, x: (
        S["logits"](E, s, x)[0], np.where(np.arange(len(E))[:, None] == x, S["logits"](
            E, s, x)[1], 0.0), S["logits"](E, s, x)[1][x] @ s / (s @ s) * E[x]),
        "only the target entry of dz"),
    "a mean": ("loss_and_grads", _with("loss_and_grads", **{
        k: (lambda v, *a: v / (len(a[4]) - a[5])) for k in ("loss", "embedding", "ih", "hh",
                                                             "bias")}),
        "one over the number of scored positions"),
    **{f"pseudocode erratum {n}": ("loss_and_grads", _erratum(n), f"erratum {n} of the notes")
       for n in notes.PSEUDOCODE_ERRATA},
}


@pytest.mark.parametrize("mistake", SEEDED)
def test_each_seeded_mistake_fails_and_is_diagnosed(mistake):
    name, fn, words = SEEDED[mistake]
    result = grade(name, fn)
    assert not result.passed, result.report()
    assert result.message == ""
    assert words in result.diagnosis, (mistake, result.diagnosis)
    assert "diagnosis: " + result.diagnosis in result.report()


def test_every_particular_mistake_is_seeded_by_hand():
    words = [w for _, _, w in SEEDED.values()]
    for name in EXERCISES:
        for candidate in mistakes_module._PARTICULAR.get(name, lambda c: [])(make_case(name)):
            assert any(w in candidate.label for w in words), (name, candidate.label)


@pytest.mark.parametrize("name, output", [("hh", "d_state"), ("logits", "d_embedding"),
                                          ("loss_and_grads", "ih")])
def test_every_scale_factor_is_diagnosed(name, output):
    sizes = make_case(name).sizes
    for label, factor in mistakes_module._scales(sizes).items():
        result = grade(name, _with(name, **{output: lambda v, *a, f=factor: f * v}))
        assert result.diagnosis == f"{output}: scaled by {label}", (label, result.diagnosis)


def test_every_model_mistake_and_pseudocode_erratum_is_seeded():
    seeded = " ".join(words for _, _, words in SEEDED.values())
    for label in mistakes_module._MODEL_MISTAKES.values():
        assert any(words in label for _, _, words in SEEDED.values()), label
    for number in notes.PSEUDOCODE_ERRATA:
        assert f"erratum {number} of the notes" in seeded


def test_a_mistake_in_one_output_names_that_output_only():
    result = grade("ih", _with("ih", d_embedded=lambda v, *a: -v))
    assert result.errors["d_ih"].finite_differences <= result.tolerance
    assert result.errors["d_embedded"].finite_differences > 0.5
    assert result.diagnosis == "d_embedded: sign flipped"


def test_two_mistakes_are_named_output_by_output():
    result = grade("hh", lambda Sm, s, d: (2 * np.outer(d, s), -(Sm.T @ d)))
    assert result.diagnosis == "d_scaled_hh: scaled by 2; d_state: sign flipped"


def test_an_unknown_mistake_gets_no_diagnosis():
    result = grade("hh", _with("hh", d_state=lambda v, *a: v + 0.1))
    assert not result.passed and result.diagnosis == "" and result.message == ""
    assert "no known mistake matches" in result.report()


def test_a_nearly_right_answer_is_not_diagnosed_as_a_mistake():
    # off by 1e-3 relative: fails, and matches no candidate (the diagnosis is measured)
    result = grade("bias", lambda d: d * (1 + 1e-3))
    assert not result.passed and result.diagnosis == ""


# --- bad code ---------------------------------------------------------------------

def _raise(exc):
    def fn(*args):
        raise exc
    return fn


def _forever(*args):
    while True:
        pass


_H = make_case("hh").sizes["H"]                        # the first case's sizes
_LV, _LH = make_case("logits").sizes["V"], make_case("logits").sizes["H"]

BAD = {
    "exception": ("hh", _raise(ZeroDivisionError("division by zero")),
                  "hh_backward raised ZeroDivisionError: division by zero"),
    "not started": ("hh", _raise(NotImplementedError), "not started"),
    "wrong shape": ("hh", lambda Sm, s, d: (np.outer(d, s), (Sm.T @ d)[:, None]),
                    f"d_state has shape ({_H}, 1), expected ({_H},)"),
    "transposed shape": ("logits", lambda E, s, x: (
        S["logits"](E, s, x)[0], S["logits"](E, s, x)[1].T, S["logits"](E, s, x)[2]),
        f"d_embedding has shape ({_LH}, {_LV}), expected ({_LV}, {_LH}): it is the right answer "
        "transposed"),
    "wrong dtype": ("bias", lambda d: d.astype(np.float32),
                    "d_bias has dtype float32, expected float64"),
    "NaN": ("activation", lambda g, a: g * np.nan, "delta contains NaN or inf"),
    "wrong type": ("bias", lambda d: list(d), "d_bias must be a numpy.ndarray, got a list"),
    "None": ("activation", lambda g, a: None, "delta must be a numpy.ndarray, got None"),
    "too few values": ("ih", lambda W, u, d: np.outer(d, u),
                       "ih_backward must return 2 values (d_ih, d_embedded), got a ndarray"),
    "too many values": ("hh", lambda Sm, s, d: (np.outer(d, s), Sm.T @ d, d),
                        "must return 2 values (d_scaled_hh, d_state), got a tuple of 3 values"),
    "tuple for one": ("bias", lambda d: (d,), "must return one array (d_bias), got a tuple"),
    "grads not a dict": ("loss_and_grads", lambda *a: (1.0, [1, 2]), "grads must be a dict"),
    "grads missing": ("loss_and_grads", lambda *a: (1.0, {"ih": 0}), "grads has no embedding, hh, bias"),
    "loss not a number": ("logits", lambda E, s, x: ("1.0",) + S["logits"](E, s, x)[1:],
                          "loss must be a float, got a str"),
    "exit": ("bias", _raise(SystemExit(3)), "tried to exit the program (SystemExit 3)"),
    "recursion": ("bias", lambda d: (lambda f: f(f))(lambda f: f(f)), "recursed too deeply"),
    "memory": ("bias", _raise(MemoryError()), "ran out of memory"),
    "endless loop": ("bias", _forever, "ran for more than 0.5 s and was stopped"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_code_is_a_failing_grade_with_a_clear_message(case):
    name, fn, words = BAD[case]
    result = grade(name, fn, timeout=0.5)
    assert isinstance(result, Grade) and not result.passed
    assert words in result.message, result.message
    assert words in result.report()
    assert "Traceback" not in result.report()


def test_an_exception_names_the_learners_line():
    def hh_backward(scaled_hh, state, delta):
        return scaled_hh[99], state
    message = grade("hh", hh_backward).message
    assert "IndexError" in message and "line" in message and "scaled_hh[99]" in message


def test_xor_for_a_power_is_named_as_erratum_7():
    result = grade("activation", lambda g, a: g * (2 * a + 1) / ((a^2 + a + 1) ^ 2))  # noqa: E225
    assert "TypeError" in result.message
    assert "erratum 7" in result.diagnosis and "**" in result.diagnosis


def test_a_function_that_writes_into_its_inputs_fails_and_cannot_spoil_the_grade():
    def vandal(scaled_hh, state, delta):
        out = S["hh"](scaled_hh, state, delta)
        scaled_hh[:] = 0
        delta[:] = np.nan
        return out
    result = grade("hh", vandal)
    assert not result.passed and result.cases_passed == 0
    assert "changed its input `scaled_hh`" in result.message
    assert "changed its input `delta`" in result.message


def test_grade_round_trips_through_json():
    result = grade("hh", SEEDED["erratum 2"][1])
    again = Grade.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result and again.report() == result.report()


def test_grade_refuses_bad_arguments():
    with pytest.raises(ValueError, match="name must be one of"):
        grade("softmax", S["hh"])
    with pytest.raises(TypeError, match="fn must be callable"):
        grade("hh", 3)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        grade("hh", S["hh"], dtype=np.int32)


# --- normrnn.exercises.pytest_api--------------------------------------------------------

def test_assert_gradient_passes_quietly_and_fails_with_the_report():
    assert_gradient("hh", S["hh"])
    with pytest.raises(AssertionError) as info:
        assert_gradient("hh", SEEDED["erratum 2"][1])
    message = str(info.value)
    assert "d_state" in message and "FAIL" in message
    assert "diagnosis: d_state: erratum 2 of the notes" in message


def test_assert_gradient_passes_keywords_on():
    assert_gradient("loss_and_grads", S["loss_and_grads"], seed=3, dtype=np.float32)


def test_plot_grade_draws_every_kind_of_grade():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from normrnn.exercises.plot import plot_grade
    for fn, title in ((S["hh"], "hh: passed"), (SEEDED["erratum 2"][1], "diagnosis: d_state"),
                      (_raise(NotImplementedError), "hh: not started")):
        ax = plot_grade(grade("hh", fn))
        assert title in ax.get_title()
        plt.close(ax.figure)
