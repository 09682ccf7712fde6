"""normrnn.torch: the same model as a torch.nn.Module, weights both ways."""

import sys

import numpy as np
import pytest

import normrnn

torch = pytest.importorskip("torch")

from normrnn.torch import from_torch, to_torch  # noqa: E402
from normrnn.training import SGD  # noqa: E402


def model_and_document(dtype=np.float64, V=11, H=6, T=30, seed=0):
    model = normrnn.NormRNN(V, H, seed=seed, dtype=dtype)
    model.bias[:] = np.random.default_rng(seed + 1).normal(0, 0.3, H)
    tokens = np.random.default_rng(seed + 2).integers(0, V, T).astype(np.int32)
    return model, tokens


def torch_loss_and_grads(module, tokens, m, initial_state=None):
    module.zero_grad()
    loss = module(tokens, m, initial_state)
    loss.backward()
    return loss.item(), {n: getattr(module, n).grad.numpy() for n in normrnn.PARAMETER_NAMES}


@pytest.mark.parametrize("m", [0, 1, 7])
def test_equal_loss_and_gradients_float64(m):
    model, tokens = model_and_document()
    loss, grads = model.loss_and_grads(tokens, m)
    t_loss, t_grads = torch_loss_and_grads(to_torch(model), tokens, m)
    assert t_loss == pytest.approx(loss, rel=1e-12)
    for name, g in grads.items():     # two float64 implementations, different sum orders
        np.testing.assert_allclose(t_grads[name], g, rtol=1e-9, atol=1e-12)


def test_equal_loss_and_gradients_with_a_carried_state():
    model, tokens = model_and_document()
    state = model.states(tokens)[-1]
    loss, grads = model.loss_and_grads(tokens, 3, initial_state=state)
    t_loss, t_grads = torch_loss_and_grads(to_torch(model), tokens, 3, state)
    assert t_loss == pytest.approx(loss, rel=1e-12)
    for name, g in grads.items():
        np.testing.assert_allclose(t_grads[name], g, rtol=1e-9, atol=1e-12)


def test_float32_agrees_to_float32_precision():
    model, tokens = model_and_document(np.float32)
    module = to_torch(model)
    assert module.hh.dtype == torch.float32
    loss, grads = model.loss_and_grads(tokens, 2)
    t_loss, t_grads = torch_loss_and_grads(module, tokens, 2)
    assert t_loss == pytest.approx(loss, rel=1e-5)
    for name, g in grads.items():
        np.testing.assert_allclose(t_grads[name], g, rtol=1e-3, atol=1e-5)


def test_weights_round_trip_exactly_and_are_copies():
    model, _ = model_and_document()
    module = to_torch(model)
    back = from_torch(module)
    for name, p in model.parameters().items():
        np.testing.assert_array_equal(back.parameters()[name], p)
    model.ih[0, 0] += 1.0
    assert module.ih[0, 0].item() != model.ih[0, 0]


def test_continue_in_torch_and_come_back():
    """One SGD step in PyTorch equals one SGD step here."""
    model, tokens = model_and_document()
    module = to_torch(model)
    torch_loss_and_grads(module, tokens, 4)
    torch.optim.SGD(module.parameters(), lr=0.1).step()
    _, grads = model.loss_and_grads(tokens, 4)
    SGD(model.parameters(), 0.1).step(grads)
    back = from_torch(module)
    for name, p in model.parameters().items():
        np.testing.assert_allclose(back.parameters()[name], p, rtol=1e-12, atol=1e-14)
    assert back.loss(tokens, 4) == pytest.approx(module(tokens, 4).item(), rel=1e-12)


def test_from_torch_checks_the_weights():
    model, _ = model_and_document()
    module = to_torch(model)
    with torch.no_grad():
        module.hh[2] = 0.0
    with pytest.raises(ValueError, match="zero row"):
        from_torch(module)


def test_clear_import_error_without_torch(monkeypatch):
    import normrnn.torch as bridge
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match="pip install torch"):
        bridge._torch()
