"""Sampling's tight loop against the model's checked one-step methods.

:mod:`normrnn.training.sampling` checks the model and its arguments once, then
runs the recurrence on precomputed inputs.  The reference below is the path it
replaced: every token through :meth:`NormRNN.probabilities` and
:meth:`NormRNN.next_state` (the kernels, checked at every call).  Both draw the
same uniforms from the same generator, so for a given seed they must give the
same tokens; the states they carry differ only by the rounding of a
differently ordered sum.  In float64 that rounding (1e-16) never moves a draw
in practice; in float32 (1e-7) it can, when the uniform lands within float32
rounding of a boundary of the cumulative distribution (about once in 24,000
tokens at V=96, H=128): the paths then part, and only there.
"""

import numpy as np
import pytest

import normrnn
from normrnn.data.tokenizer import EOT
from normrnn.training.sampling import draw_tokens, prefix_state, sample_tokens


def reference_prefix_state(model, prefix):
    """The state after ``prefix``, from the kernels: states of prefix + one dummy token."""
    return model.states(np.append(np.asarray(prefix, dtype=np.int32), np.int32(0)))[-1]


def reference_tokens(model, prefix, *, max_tokens, temperature, seed, stop=EOT):
    """The sampling loop as it was: the model's checked methods at every token.

    Returns the tokens, and for each draw the target ``u * sum(p)`` and the
    cumulative distribution it was looked up in.
    """
    rng = np.random.default_rng(seed)
    state = reference_prefix_state(model, prefix)
    tokens, draws = [], []
    for _ in range(max_tokens):
        p = model.probabilities(state, temperature=temperature)
        cumulative, target = np.cumsum(p), rng.random() * p.sum()
        token = int(np.searchsorted(cumulative, target, side="right"))
        token = min(token, model.vocab_size - 1)
        draws.append((target, cumulative))
        if token == stop:
            break
        tokens.append(token)
        state = model.next_state(state, token)
    return tokens, draws


#: how close to a boundary of the cumulative distribution a float32 draw must
#: fall for the two paths to part: their states differ by a few float32
#: roundings (1e-7 relative), which moves p, and so the boundaries, by ~1e-6
FLOAT32_TIE = 1e-5


def assert_same_draws(model, prefix, **kwargs):
    """Our tokens are the reference's; in float32 they may part at a near-tie only."""
    ours = sample_tokens(model, prefix, **kwargs)
    want, draws = reference_tokens(model, prefix, **kwargs)
    if ours == want:
        return ours
    k = next((i for i, (a, b) in enumerate(zip(ours, want)) if a != b), min(len(ours), len(want)))
    assert model.dtype == np.float32, f"float64 sampling parted from the reference at {k}"
    target, cumulative = draws[k]
    boundary = min(ours[k] if k < len(ours) else kwargs.get("stop", EOT),
                   want[k] if k < len(want) else kwargs.get("stop", EOT))
    assert abs(target - cumulative[boundary]) < FLOAT32_TIE, (k, target, cumulative[boundary])
    return ours


def make(dtype, gain, V=23, H=17, seed=0):
    model = normrnn.NormRNN(V, H, seed=seed, dtype=dtype, gain=gain)
    rng = np.random.default_rng(seed + 1)
    model.bias[:] = rng.normal(0, 0.3, H)
    model.embedding *= 4            # a peaked distribution: the draws depend on the state
    if gain == "learned":
        model.gain[:] = rng.uniform(0.2, 1.5, H)     # a recurrence that remembers
    return model


#: rounding of the state (kernel's order of the sum against NumPy's): float64
#: and float32 epsilons times the few sums of H = 17 terms that compound
TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}


@pytest.mark.parametrize("gain", ["fixed", "learned"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_prefix_state_equals_the_kernels(dtype, gain):
    model = make(dtype, gain)
    for prefix in ([], [1], [5, 6, 7, 1], list(range(23)) * 3):
        ours = prefix_state(model, prefix)
        assert ours.dtype == model.dtype and ours.shape == (17,)
        np.testing.assert_allclose(ours, reference_prefix_state(model, prefix),
                                   rtol=0, atol=TOLERANCE[dtype])


@pytest.mark.parametrize("gain", ["fixed", "learned"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("temperature", [1e-300, 0.3, 0.8, 1, 3.0])
def test_same_seed_same_tokens_as_the_checked_path(dtype, gain, temperature):
    model = make(dtype, gain)
    for seed in range(4):
        prefix = [5 + seed, 9, 1]
        ours = assert_same_draws(model, prefix, max_tokens=300, temperature=temperature,
                                 seed=seed, stop=-1)      # no stop: long samples
        assert len(ours) == 300
        assert_same_draws(model, prefix, max_tokens=300, temperature=temperature, seed=seed)


def test_long_float64_samples_are_the_checked_paths_token_for_token():
    model = make(np.float64, "fixed", V=96, H=128)
    for seed in range(3):
        ours = sample_tokens(model, [5, 6, 1], max_tokens=3000, temperature=0.8, seed=seed,
                             stop=-1)
        assert ours == reference_tokens(model, [5, 6, 1], max_tokens=3000, temperature=0.8,
                                        seed=seed, stop=-1)[0]


def test_the_model_is_checked_once_before_the_first_token():
    model = make(np.float64, "fixed")
    model.hh[2] = 0.0
    with pytest.raises(ValueError, match="hh has a zero row"):
        draw_tokens(model, [1], max_tokens=5, seed=0)
    model = make(np.float64, "fixed")
    with pytest.raises(ValueError, match="prefix must lie in"):
        draw_tokens(model, [23], max_tokens=5, seed=0)


def test_a_draw_does_not_change_the_model():
    model = make(np.float64, "learned")
    before = {k: v.copy() for k, v in model.parameters().items()}
    sample_tokens(model, [1], max_tokens=50, seed=0, stop=-1)
    for name, p in model.parameters().items():
        np.testing.assert_array_equal(p, before[name])
