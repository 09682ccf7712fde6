"""The diagnoses that need a repeated token or a second step, measured on many structures.

A learner's ``dE[x] = ...`` and the vectorised ``dE[idx] += rows`` are right
whenever no input token repeats; the logits one step off and "only the
target row" are wrong at any size.  Each is named here on documents of
several structures (m = 0, 1 and T - 1; T up to 10; small and large H; a
token >= H), the learner's code taken from the catalogue of wrong answers.
"""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from normrnn import gradcheck, reference
from normrnn.exercises.mistakes import candidates

WRONG = Path(__file__).parent / "wrong_answers"
TOLERANCE = gradcheck.TOLERANCES[np.dtype(np.float64)]

#: (V, H, tokens, m): each repeats a token >= H among the inputs x_0 .. x_{T-2}.
DOCUMENTS = {
    "m = 0, T = 9, H = 3": (7, 3, [5, 1, 5, 2, 6, 5, 0, 5, 5], 0),
    "m = 1, H = 8": (11, 8, [9, 9, 3, 9, 10, 2, 9], 1),
    "m = T - 1, H = 2": (6, 2, [4, 0, 4, 1, 4], 4),
    "m = 2, T = 10": (10, 4, [7, 2, 7, 7, 3, 8, 1, 7, 0, 7], 2),
}

#: A catalogue entry of ``loss_and_grads`` -> words of the diagnosis it must get.
LEARNERS = {
    "embedding_overwrite": "dE[x] = ... where dE[x] += ... is due",
    "vectorised_rows_drop_repeats": "drops repeated indices",
    "only_target_row": "only the target row of dE",
    "logits_dE_previous_state": "off by one step",
    "logits_read_previous_state": "read s_{t-1}",
    "logits_read_next_state": "read s_{t+1}",
}


def learner(exercise, entry):
    """The function of ``tests/wrong_answers/<exercise>/<entry>.py``."""
    path = WRONG / exercise / f"{entry}.py"
    spec = importlib.util.spec_from_file_location(f"wrong_answer_{exercise}_{entry}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, exercise if exercise == "loss_and_grads" else f"{exercise}_backward")


def model_case(V, H, tokens, m, seed=0):
    """What :func:`normrnn.exercises.mistakes.candidates` reads of a whole-document case."""
    params = gradcheck._pseudocode_parameters(np.random.default_rng(seed), V=V, H=H)
    loss, grads = reference.loss_and_grads(*params, tokens, m)
    return SimpleNamespace(name="loss_and_grads", args64=(*params, list(tokens), m),
                           reference={"loss": np.asarray(loss), **grads},
                           sizes={"H": H, "V": V, "N": len(tokens) - m})


def run(fn, case):
    """The learner's outputs on copies of ``case``'s inputs, by output name."""
    args = [a.copy() if isinstance(a, (np.ndarray, list)) else a for a in case.args64]
    result = fn(*args)
    if case.name == "loss_and_grads":
        return {"loss": np.asarray(result[0]), **result[1]}
    return dict(zip(case.reference, result))


def named(got, case):
    """The label of the first candidate matching every output (as the grader names one)."""
    for candidate in candidates(case):
        if all(gradcheck.relative_error(got[k], candidate.outputs.get(k, case.reference[k]))
               <= TOLERANCE for k in got):
            return candidate.label
    return ""


def wrong(got, case):
    return any(gradcheck.relative_error(got[k], case.reference[k]) > TOLERANCE for k in got)


@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("entry", LEARNERS)
def test_each_mistake_is_named_on_a_case_with_repeated_tokens(entry, document):
    case = model_case(*DOCUMENTS[document])
    got = run(learner("loss_and_grads", entry), case)
    assert wrong(got, case)
    assert LEARNERS[entry] in named(got, case), (entry, document, named(got, case))


@pytest.mark.parametrize("entry", ["embedding_overwrite", "vectorised_rows_drop_repeats"])
def test_the_embedding_rows_of_repeated_tokens_differ_from_the_others(entry):
    # the same document without a repeated input token: the vectorised += is right
    # there, so only a case that repeats a token can catch it; the overwrite also
    # wipes the logits' terms of the row, so it is wrong on any document
    case = model_case(10, 4, [7, 2, 5, 3, 8, 1, 6, 0, 9], 2)
    got = run(learner("loss_and_grads", entry), case)
    if entry == "vectorised_rows_drop_repeats":
        assert not wrong(got, case)
    else:
        assert LEARNERS[entry] in named(got, case)


def test_only_the_target_row_is_named_at_other_sizes():
    rng = np.random.default_rng(5)
    for V, H, token in ((11, 3, 9), (9, 8, 8), (4, 2, 0)):
        embedding, state = rng.normal(size=(V, H)), rng.uniform(-1 / 3, 1, size=H)
        case = SimpleNamespace(name="logits", args64=(embedding, state, token),
                               sizes={"H": H, "V": V}, reference=dict(zip(
                                   ("loss", "d_embedding", "d_state"),
                                   map(np.asarray, reference.logits_backward(
                                       embedding, state, token)))))
        for entry, words in (("only_target_row", "only the target row of dE"),
                             ("only_target_entry", "only the target entry of dz")):
            got = run(learner("logits", entry), case)
            assert wrong(got, case)
            label = named(got, case)
            assert words in label, (V, H, token, label)
