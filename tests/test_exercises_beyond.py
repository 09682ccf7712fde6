"""The exercises beyond a single section: the whole document, the padded batch and the proofs.

Right answers pass; every known mistake, given as an answer, fails with its
own diagnosis; the cases vary in structure; a constant where a function is
asked fails; and the claims the proofs rest on hold on the graded cases.
"""

import numpy as np
import pytest
from exercise_solutions import SOLUTIONS

from normrnn import bounds, reference
from normrnn.exercises import batched, grade, proofs
from normrnn.exercises.proofs import _shared, complex_steps, spectral, unrolled
from normrnn.exercises.cases import BEYOND, EXERCISES, make_cases
from normrnn.section_registry import NAMES

PROOFS = ("max_slope", "spectral_bound", "unrolled_hh", "complex_step", "truncation_bias")


def test_one_table_after_the_sections_the_whole_document_the_batch_then_the_proofs():
    assert tuple(BEYOND) == ("loss_and_grads", "batched", *PROOFS)
    assert EXERCISES == (*NAMES, *BEYOND)


@pytest.mark.parametrize("name", list(BEYOND))
def test_the_package_answer_and_an_independent_one_pass(name):
    for fn in (BEYOND[name].solution, SOLUTIONS[name]):
        result = grade(name, fn, seed=3)
        assert result.passed, result.report()
        assert result.diagnosis == "" and result.message == ""


# --- the batch ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
def test_the_batches_vary_in_structure(seed):
    cases = make_cases("batched", seed=seed)
    tags = {t for c in cases for t in c.tags}
    assert {"a zero-length document", "m = 0", "m = T - 1", "padding", "repeated tokens",
            "T = 1", "B = 1"} <= tags
    assert len({c.sizes["B"] for c in cases}) >= 3
    assert min(c.sizes["H"] for c in cases) <= 4 and max(c.sizes["H"] for c in cases) >= 7
    for case in cases:
        *_, tokens, mask = case.args64
        assert tokens.dtype.kind == "i" and mask.dtype == bool and mask.sum() > 0
        # a token repeated at one position of two documents, where a per-step scatter drops
        assert all(isinstance(a, np.ndarray) for a in case.args(np.float32))
        assert case.args(np.float32)[0].dtype == np.float32
        assert case.args(np.float32)[4].dtype == tokens.dtype


def test_the_scatter_trap_changes_the_answer_on_the_graded_cases():
    for seed in range(4):
        changed = 0
        for case in make_cases("batched", seed=seed):
            right = case.reference["embedding"]
            for scatter in ("per_step", "batch_major", "time_major"):
                _, grads = batched._bptt(*case.args64, scatter=scatter)
                changed += not np.allclose(grads["embedding"], right, rtol=0, atol=1e-12)
        assert changed >= 3, seed


@pytest.mark.parametrize("index", range(len(batched._MISTAKES)))
def test_every_batched_mistake_fails_with_its_diagnosis(index):
    label, variants = batched._MISTAKES[index]
    for options in variants:
        def answer(embedding, ih, hh, bias, tokens, mask, given=options):
            options = dict(given)
            if options.get("score") == "all":
                options["score"] = np.ones_like(mask)
            options["denominator"] = {"BT": mask.size, "B": mask.shape[0]}.get(
                options.get("denominator"), options.get("denominator"))
            return batched._bptt(embedding, ih, hh, bias, tokens, mask, **options)
        result = grade("batched", answer)
        assert not result.passed
        assert label in result.diagnosis, (options, result.report())


def test_a_batched_answer_that_changes_its_mask_fails():
    def answer(embedding, ih, hh, bias, tokens, mask):
        result = batched.batched_loss_and_grads(embedding, ih, hh, bias, tokens, mask)
        mask[:] = True
        return result
    result = grade("batched", answer)
    assert not result.passed and "changed its input `mask`" in result.message


def test_the_right_scatter_and_the_package_per_document_agree():
    for case in make_cases("batched", seed=7):
        loss, grads = batched.batched_loss_and_grads(*case.args64)
        assert abs(loss - case.reference["loss"]) <= 1e-14 * abs(loss)
        for k, v in grads.items():
            assert np.abs(v - case.reference[k]).max() <= 1e-13 * max(np.abs(v).max(), 1e-300)


# --- the proofs ------------------------------------------------------------------------------

def _oracle(name, index):
    """An answer that returns mistake ``index`` of the case it is called on."""
    cases = make_cases(name)

    def answer(*args):
        for case in cases:
            if len(args) == len(case.args64) and all(
                    np.array_equal(a, b) if isinstance(b, np.ndarray) else a == b
                    for a, b in zip(args, case.args64)):
                mistake = case.mistakes(case)[index]
                values = {**case.reference, **mistake.outputs}
                out = tuple(np.array(values[k]) if np.ndim(values[k]) else float(values[k])
                            for k in BEYOND[name].outputs)
                return out if len(out) > 1 else out[0]
        raise AssertionError("called on a case the oracle does not know")
    return answer


def _count(name):
    return len(make_cases(name)[0].mistakes(make_cases(name)[0]))


@pytest.mark.parametrize("name, index", [(n, i) for n in PROOFS for i in range(_count(n))])
def test_every_proof_mistake_fails_with_its_diagnosis(name, index):
    case = make_cases(name)[0]
    label = case.mistakes(case)[index].label
    result = grade(name, _oracle(name, index), dtype=np.float64)
    assert not result.passed
    assert label in result.diagnosis + result.message, result.report()


def _constant(name):
    """The right answer of the first case, returned whatever the inputs."""
    case = make_cases(name)[0]
    values = tuple(case.reference[k] for k in BEYOND[name].outputs)
    values = tuple(float(v) if np.ndim(v) == 0 else np.array(v) for v in values)
    return lambda *args: values if len(values) > 1 else values[0]


@pytest.mark.parametrize("name", ["spectral_bound", "unrolled_hh", "complex_step",
                                  "truncation_bias"])
def test_a_constant_where_a_function_is_asked_fails(name):
    result = grade(name, _constant(name), dtype=np.float64)
    assert not result.passed and result.cases_passed < result.cases_run


def test_max_slope_is_the_bounds_constant_and_reached_where_stated():
    maximum, where = proofs.max_slope()
    assert maximum == bounds.ACTIVATION_GRAD_MAX
    assert np.allclose(np.abs(reference.activation_grad(where)), maximum, rtol=0, atol=0)
    x = np.linspace(-50, 50, 200001)
    assert np.abs(reference.activation_grad(x)).max() <= maximum


def test_the_reaching_s_is_row_normalised_and_meets_the_bound():
    for H in spectral._SPECTRAL_H:
        bound, scaled_hh = proofs.spectral_bound(H)
        assert bound == bounds.scaled_hh_norm_bound(H)
        np.testing.assert_allclose(reference.row_normalise(scaled_hh), scaled_hh, rtol=1e-15)
        assert abs(np.linalg.norm(scaled_hh, 2) - bound) <= 1e-15


def test_the_unrolled_terms_sum_to_the_packages_bptt():
    for case in make_cases("unrolled_hh", seed=2):
        terms = proofs.unrolled_hh(*case.args64)
        np.testing.assert_allclose(unrolled._sum_through_package(case, terms),
                                   case.finite_differences["terms"], rtol=1e-12, atol=1e-15)


def test_the_complex_step_reaches_where_differences_cannot():
    for seed in range(10):
        for case in make_cases("complex_step", seed=seed):
            x = case.args64[0]
            assert complex_steps._entrywise(proofs.complex_step(x), case.reference["slope"]) \
                <= _shared.COMPLEX_STEP / 10
        x = np.concatenate([c.args64[0] for c in make_cases("complex_step", seed=seed)])
        for h in (1e-4, 1e-5, 1e-6, 1e-7):
            central = (reference.activation(x + h) - reference.activation(x - h)) / (2 * h)
            assert complex_steps._entrywise(central, _shared._f_prime(x)) > 1e3 * _shared.COMPLEX_STEP


@pytest.mark.parametrize("seed", range(5))
def test_the_dropped_gradient_is_within_the_bound(seed):
    for case in make_cases("truncation_bias", seed=seed):
        dropped, bound = case.reference["dropped"], float(case.reference["bound"])
        assert dropped.max(initial=0.0) <= bound
        np.testing.assert_allclose(dropped, case.finite_differences["dropped"], rtol=1e-12,
                                   atol=1e-300)
        assert abs(bound - float(case.finite_differences["bound"])) <= 1e-14 * bound


def test_proof_verdicts_come_from_the_grading_process(tmp_path):
    from normrnn.exercises.isolated import grade_file
    (tmp_path / "spectral_bound.py").write_text(
        "import numpy as np\nfrom normrnn.exercises.proofs import spectral\n"
        "spectral._spectral_errors = lambda case, got, want: {'bound': (0.0, 0.0), "
        "'scaled_hh': (0.0, 0.0)}\n\n\ndef spectral_bound(H):\n"
        "    return 1.0, np.eye(H)\n")
    result = grade_file(tmp_path, "spectral_bound")
    assert not result.passed and "imports normrnn.exercises" in result.flags
