"""SGD, Adagrad and Adam against their textbook updates; state round trips; clipping."""

import numpy as np
import pytest

from normrnn.training import SGD, Adagrad, Adam, clip_grad_norm, make_optimizer


def params_and_grads(seed=0):
    rng = np.random.default_rng(seed)
    params = {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    grads = [{k: rng.normal(size=v.shape) for k, v in params.items()} for _ in range(3)]
    return params, grads


def test_sgd_step():
    params, grads = params_and_grads()
    want = {k: v - 0.1 * grads[0][k] for k, v in params.items()}
    SGD(params, 0.1).step(grads[0])
    for k in params:
        np.testing.assert_array_equal(params[k], want[k])


def test_adagrad_is_min_char_rnn():
    params, grads = params_and_grads()
    want = {k: v.copy() for k, v in params.items()}
    mem = {k: np.zeros_like(v) for k, v in params.items()}
    opt = Adagrad(params, 0.1)
    for g in grads:
        opt.step(g)
        for k in want:                                     # min-char-rnn's update
            mem[k] += g[k] * g[k]
            want[k] += -0.1 * g[k] / np.sqrt(mem[k] + 1e-8)
    for k in params:
        np.testing.assert_allclose(params[k], want[k], rtol=1e-14)


def test_adam_matches_the_paper():
    params, grads = params_and_grads()
    want = {k: v.copy() for k, v in params.items()}
    m = {k: 0.0 for k in params}
    v = {k: 0.0 for k in params}
    opt = Adam(params, 0.01)
    for t, g in enumerate(grads, start=1):
        opt.step(g)
        for k in want:
            m[k] = 0.9 * m[k] + 0.1 * g[k]
            v[k] = 0.999 * v[k] + 0.001 * g[k] ** 2
            m_hat, v_hat = m[k] / (1 - 0.9 ** t), v[k] / (1 - 0.999 ** t)
            want[k] -= 0.01 * m_hat / (np.sqrt(v_hat) + 1e-8)
    for k in params:
        np.testing.assert_allclose(params[k], want[k], rtol=1e-13)


@pytest.mark.parametrize("name", ["sgd", "adagrad", "adam"])
def test_optimizer_state_round_trip_continues_identically(name):
    params, grads = params_and_grads()
    a = make_optimizer(name, params)
    a.step(grads[0])
    saved = a.state_dict()
    params_b = {k: v.copy() for k, v in params.items()}
    b = make_optimizer(name, params_b)
    b.load_state_dict(saved)
    a.step(grads[1]), b.step(grads[1])
    for k in params:
        np.testing.assert_array_equal(params[k], params_b[k])


def test_optimizer_state_is_validated():
    params, _ = params_and_grads()
    opt = Adam(params, 0.01)
    state = opt.state_dict()
    state["m.w"] = np.zeros((2, 3))
    with pytest.raises(ValueError, match="m.w"):
        opt.load_state_dict(state)
    with pytest.raises(ValueError, match="keys"):
        opt.load_state_dict({"steps": np.array(0)})
    with pytest.raises(ValueError, match="unknown optimizer"):
        make_optimizer("rmsprop", params)
    with pytest.raises(ValueError, match="learning rate"):
        SGD(params, -1.0)


def test_clip_grad_norm_scales_all_gradients_together():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([4.0])}
    assert clip_grad_norm(grads, 1.0) == 5.0
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])
    np.testing.assert_allclose(grads["b"], [0.8])
    assert clip_grad_norm(grads, 10.0) == pytest.approx(1.0)     # below: untouched
    np.testing.assert_allclose(grads["b"], [0.8])
