"""Bad input gets a clear TypeError or ValueError naming the argument."""

import numpy as np
import pytest

import normrnn
from normrnn import sections

from helpers import make_model

TOKENS = [1, 2, 3, 4]


@pytest.mark.parametrize("tokens, error, match", [
    ([], ValueError, "tokens must hold at least 1"),
    ([0, 7], ValueError, r"tokens must lie in \[0, 7\), found 7"),
    ([-1, 2], ValueError, "found -1"),
    ([1.5, 2], TypeError, "tokens must hold integers"),
    ([np.nan, 2], TypeError, "tokens must hold integers"),
    ("abc", TypeError, "tokens must be a sequence"),
    ([[1, 2]], ValueError, "tokens must be one-dimensional"),
    ([True, False], TypeError, "tokens must hold integers"),
    ([2**40], ValueError, "tokens must lie in"),
    ([object()], TypeError, "tokens must hold integers"),
])
def test_bad_tokens(tokens, error, match):
    with pytest.raises(error, match=match):
        make_model().loss_and_grads(tokens, 0)


def test_integral_floats_and_numpy_ints_are_tokens():
    model = make_model()
    want = model.loss(TOKENS, 1)
    assert model.loss(np.array(TOKENS, np.uint8), 1) == want
    assert model.loss([1.0, 2.0, 3.0, 4.0], 1) == want
    assert model.loss(tuple(TOKENS), np.int64(1)) == want


@pytest.mark.parametrize("m, error", [(-1, ValueError), (5, ValueError), (1.0, TypeError),
                                      (True, TypeError), ("1", TypeError), (None, TypeError)])
def test_bad_title_length(m, error):
    with pytest.raises(error, match="title_length"):
        make_model().loss(TOKENS, m)


@pytest.mark.parametrize("name", normrnn.PARAMETER_NAMES)
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_parameters(name, value):
    model = make_model()
    getattr(model, name).flat[3] = value
    with pytest.raises(ValueError, match=f"{name} must be finite"):
        model.loss_and_grads(TOKENS, 1)


@pytest.mark.parametrize("name", normrnn.PARAMETER_NAMES)
def test_wrong_dtype_shape_layout(name):
    model = make_model()
    p = getattr(model, name)
    for bad, error, match in [
        (p.astype(np.float32), TypeError, "dtype"),
        (p.astype(np.int64), TypeError, "dtype"),
        (p[..., :-1].copy() if p.ndim == 2 else p[:-1].copy(), ValueError, "shape"),
        (np.asfortranarray(p) if p.ndim == 2 and name != "embedding" else None, ValueError, "C-contiguous"),
        (p.tolist(), TypeError, "numpy.ndarray"),
    ]:
        if bad is None:
            continue
        setattr(model, name, bad)
        with pytest.raises(error, match=match):
            model.loss_and_grads(TOKENS, 1)
        setattr(model, name, p)


def test_non_contiguous_embedding():
    model = make_model()
    model.embedding = np.asfortranarray(model.embedding)
    with pytest.raises(ValueError, match="embedding must be C-contiguous"):
        model.loss(TOKENS, 0)


def test_zero_row_of_hh_is_refused():
    model = make_model()
    model.hh[2] = 0
    with pytest.raises(ValueError, match=r"hh has a zero row \(2\)"):
        model.loss(TOKENS, 0)
    with pytest.raises(ValueError, match="zero row"):
        sections.row_normalise(model.hh)
    with pytest.raises(ValueError, match="zero row"):
        sections.row_normalise_backward(model.hh, np.ones_like(model.hh))


def test_float32_row_whose_norm_underflows_is_refused():
    model = make_model(dtype=np.float32)
    model.hh[1] = 1e-30            # nonzero, but its square underflows in float32
    with pytest.raises(ValueError, match="zero row"):
        model.loss(TOKENS, 0)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="vocab_size"):
        normrnn.NormRNN(0, 4)
    with pytest.raises(TypeError, match="hidden_size"):
        normrnn.NormRNN(5, 4.0)
    with pytest.raises(TypeError, match="dtype"):
        normrnn.NormRNN(5, 4, dtype=np.float16)
    with pytest.raises(TypeError, match="dtype"):
        normrnn.NormRNN(5, 4, dtype="int32")


def test_bad_initial_state():
    model = make_model()
    with pytest.raises(ValueError, match="initial_state must have shape"):
        model.loss(TOKENS, 0, initial_state=np.zeros(4))
    with pytest.raises(TypeError, match="initial_state must have dtype"):
        model.loss(TOKENS, 0, initial_state=np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="initial_state must be finite"):
        model.loss(TOKENS, 0, initial_state=np.full(5, np.nan))


def test_bad_batch_arguments():
    model = make_model()
    with pytest.raises(ValueError, match="documents"):
        model.batch_loss_and_grads([])
    with pytest.raises(ValueError, match="n_threads"):
        model.batch_loss_and_grads([(TOKENS, 0)], n_threads=0)
    with pytest.raises(ValueError, match="tokens must lie"):
        model.batch_loss_and_grads([(TOKENS, 0), ([99], 0)])


def test_bad_probabilities_arguments():
    model = make_model()
    with pytest.raises(ValueError, match="temperature"):
        model.probabilities(np.zeros(5), temperature=0)
    with pytest.raises(ValueError, match="state must have shape"):
        model.probabilities(np.zeros(3))


def test_parameters_are_not_modified_by_a_gradient_call():
    model = make_model()
    before = {k: v.copy() for k, v in model.parameters().items()}
    model.loss_and_grads(TOKENS, 1)
    for name, p in model.parameters().items():
        np.testing.assert_array_equal(p, before[name])


# --- the section front door ----------------------------------------------------

def test_sections_check_their_arguments():
    rng = np.random.default_rng(0)
    E, w, v = rng.normal(size=(7, 5)), rng.normal(size=(5, 5)), rng.normal(size=5)
    with pytest.raises(TypeError, match="state must have dtype float64"):
        sections.logits_backward(E, v.astype(np.float32), 1)
    with pytest.raises(ValueError, match=r"token must lie in \[0, 7\)"):
        sections.logits_backward(E, v, 7)
    with pytest.raises(ValueError, match="embedded must have shape"):
        sections.ih_backward(w, v[:4], v)
    with pytest.raises(ValueError, match="delta must be finite"):
        sections.hh_backward(w, v, np.array([np.nan, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match="scaled_hh must be C-contiguous"):
        sections.hh_forward(w.T, v)
    with pytest.raises(TypeError, match="x.dtype must be float32 or float64"):
        sections.activation(np.arange(3))
    with pytest.raises(TypeError, match="numpy.ndarray"):
        sections.activation([0.5, 1.0])
    with pytest.raises(ValueError, match="d_scaled_hh must have shape"):
        sections.row_normalise_backward(w, w[:3].copy())
    with pytest.raises(TypeError, match="token must be an integer"):
        sections.embedding_activation_forward(E, 1.0)
    with pytest.raises(ValueError, match="must not be empty"):
        sections.logits_forward(np.zeros((0, 5)), v)


def test_read_only_inputs_are_fine():
    rng = np.random.default_rng(0)
    E, v = rng.normal(size=(7, 5)), rng.normal(size=5)
    E.flags.writeable = False
    v.flags.writeable = False
    loss, d_embedding, d_state = sections.logits_backward(E, v, 2)
    assert np.isfinite(loss)
    model = make_model()
    for p in model.parameters().values():
        p.flags.writeable = False
    assert np.isfinite(model.loss_and_grads(TOKENS, 1)[0])
