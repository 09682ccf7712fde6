"""normrnn.bounds: the no-exploding bound, with a fixed and a learned gain, and truncation."""

import numpy as np
import pytest

import normrnn
from normrnn import bounds, gradcheck, reference


def test_the_activation_slope_never_exceeds_one_and_reaches_it_at_0_and_minus_1():
    x = np.linspace(-50, 50, 200_001)
    assert np.abs(reference.activation_grad(x)).max() <= bounds.ACTIVATION_GRAD_MAX
    assert reference.activation_grad(np.array([0.0, -1.0])).tolist() == [1.0, -1.0]


@pytest.mark.parametrize("H", [2, 4, 16, 64])
def test_fixed_gain_spectral_norm_is_at_most_one_over_sqrt_h(H):
    for seed in range(10):
        S = reference.row_normalise(normrnn.NormRNN(5, H, seed=seed).hh)
        assert np.linalg.norm(S, 2) <= bounds.scaled_hh_norm_bound(H) * (1 + 1e-12)


@pytest.mark.parametrize("gain", [None, "learned"])
def test_the_bound_is_reached_by_a_rank_one_s(gain):
    H = 8
    rng = np.random.default_rng(0)
    hh = rng.uniform(0.5, 2.0, size=(H, 1)) * rng.normal(size=H)    # parallel rows
    gamma = None if gain is None else rng.normal(size=H)
    S = reference.row_normalise(hh) if gamma is None else reference.gain_forward(hh, gamma)
    assert np.linalg.norm(S, 2) == pytest.approx(bounds.scaled_hh_norm_bound(H, gamma), rel=1e-12)


def test_a_learned_gain_breaks_the_fixed_bound_but_not_its_own():
    H = 16
    gamma = np.full(H, 0.5)
    S = reference.gain_forward(normrnn.NormRNN(5, H, seed=0).hh, gamma)
    norm = np.linalg.norm(S, 2)
    assert norm > 3 * bounds.scaled_hh_norm_bound(H)          # 1/sqrt(16) = 0.25
    assert norm <= bounds.scaled_hh_norm_bound(H, gamma)      # ||gamma|| = 2
    assert bounds.scaled_hh_norm_bound(H, gamma) == pytest.approx(2.0)
    assert bounds.truncation_bound(H, 3, 1.0, gamma) == np.inf


def _model(H, gain, seed=1):
    model = normrnn.NormRNN(20, H, seed=seed, gain=gain)
    if model.gain is not None:      # a trained-looking gain, every entry its own
        model.gain[:] = np.random.default_rng(seed).uniform(-0.3, 0.3, size=H)
    params = (model.embedding, model.ih, model.hh, model.bias)
    return params, model.gain


def _state_gradient(params, tokens, title_length, gain, t):
    """dL/ds_t by finite differences of the loss from position t on."""
    states = reference.forward(*params, tokens, gain=gain)
    state = states[t].copy()
    return gradcheck.numerical_gradient(
        lambda: reference.loss(*params, tokens[t:], max(title_length - t, 0),
                               initial_state=state, gain=gain), state)


@pytest.mark.parametrize("gain", ["fixed", "learned"])
def test_the_dropped_part_is_the_full_gradient_minus_the_window_s(gain):
    params, gamma = _model(4, gain)
    tokens, m = list(np.random.default_rng(2).integers(0, 20, size=12)), 2
    for steps in (1, 2):
        dropped, _ = bounds.dropped_gradient_norms(*params, tokens, m, steps, gain=gamma)
        for t in (1, 5):
            full = _state_gradient(params, tokens, m, gamma, t)
            window = _state_gradient(params, tokens[:t + steps], m, gamma, t)
            assert dropped[t] == pytest.approx(np.linalg.norm(full - window),
                                               abs=1e-7 * np.linalg.norm(full))


@pytest.mark.parametrize("gain", ["fixed", "learned"])
@pytest.mark.parametrize("H", [4, 16])
def test_truncation_drops_no_more_than_the_bound(H, gain):
    params, gamma = _model(H, gain)
    tokens = np.random.default_rng(3).integers(0, 20, size=30)
    for steps in range(1, 7):
        dropped, direct = bounds.dropped_gradient_norms(*params, tokens, 3, steps, gain=gamma)
        bound = bounds.truncation_bound(H, steps, direct.max(), gamma)
        assert 0 < dropped.max() <= bound, (steps, dropped.max(), bound)


def test_the_fixed_gain_truncation_bound_is_the_closed_form():
    H, d = 16, 3
    assert bounds.truncation_bound(H, d, 2.0) == pytest.approx(
        H ** (-d / 2) / (1 - H ** -0.5) * 2.0, rel=1e-14)


@pytest.mark.parametrize("name, call", [
    ("hidden_size", lambda: bounds.scaled_hh_norm_bound(0)),
    ("gain", lambda: bounds.scaled_hh_norm_bound(4, np.ones(3))),
    ("steps", lambda: bounds.truncation_bound(4, -1, 1.0)),
    ("steps", lambda: bounds.dropped_gradient_norms(*_model(4, "fixed")[0], [1, 2, 3], 0, 0)),
])
def test_bad_arguments_are_named(name, call):
    with pytest.raises(ValueError, match=name):
        call()
