"""gradcheck.scaling_power: the units check, on gradients whose power is known."""

import numpy as np
import pytest

from normrnn import gradcheck, reference


def test_a_homogeneous_function_s_gradient_has_one_power_less():
    x = np.random.default_rng(0).normal(size=7)
    # f(x) = ||x||^3 is homogeneous of degree 3, its gradient 3 ||x|| x of degree 2
    assert gradcheck.scaling_power(lambda x: 3 * np.linalg.norm(x) * x, x) == pytest.approx(2)
    assert gradcheck.scaling_power(lambda x: 3 * np.linalg.norm(x) * x, x, scale=0.1) \
        == pytest.approx(2)


def test_the_ih_gradient_is_linear_in_delta_and_the_gain_s_of_degree_minus_one_in_hh():
    rng = np.random.default_rng(1)
    ih, embedded, delta = rng.normal(size=(4, 4)), rng.normal(size=4), rng.normal(size=4)
    power = gradcheck.scaling_power(lambda d: reference.ih_backward(ih, embedded, d)[1], delta)
    assert power == pytest.approx(1)
    hh, gain, dS = rng.normal(size=(4, 4)), rng.normal(size=4), rng.normal(size=(4, 4))
    power = gradcheck.scaling_power(lambda h: reference.gain_backward(h, gain, dS)[0], hh)
    assert power == pytest.approx(-1)


def test_two_powers_mixed_give_nan():
    x = np.random.default_rng(2).normal(size=5)
    assert np.isnan(gradcheck.scaling_power(lambda x: x + x**2, x))


def test_a_zero_gradient_gives_nan():
    assert np.isnan(gradcheck.scaling_power(lambda x: 0 * x, np.ones(3)))


@pytest.mark.parametrize("scale", [0.0, -2.0, 1.0, np.inf])
def test_the_scale_must_be_positive_and_not_one(scale):
    with pytest.raises(ValueError, match="scale"):
        gradcheck.scaling_power(lambda x: x, np.ones(3), scale=scale)
