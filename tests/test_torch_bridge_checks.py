"""TorchNormRNN refuses what NormRNN refuses, with its messages, and keeps initial_state out of autograd."""

import numpy as np
import pytest

import normrnn

torch = pytest.importorskip("torch")
from normrnn.torch import TorchNormRNN, to_torch  # noqa: E402

from helpers import make_model  # noqa: E402

TOKENS = [1, 2, 3, 4, 0, 6]


def message(error_type, call):
    with pytest.raises(error_type) as info:
        call()
    return str(info.value)


@pytest.mark.parametrize("sizes", [(5, -1), (0, 5), (5, 0), (-3, 4)])
def test_sizes_are_refused_as_normrnn_refuses_them(sizes):
    assert (message(ValueError, lambda: TorchNormRNN(*sizes))
            == message(ValueError, lambda: normrnn.NormRNN(*sizes)))


@pytest.mark.parametrize("sizes", [(5.0, 4), (5, True), ("5", 4)])
def test_non_integer_sizes_are_refused_as_normrnn_refuses_them(sizes):
    assert (message(TypeError, lambda: TorchNormRNN(*sizes))
            == message(TypeError, lambda: normrnn.NormRNN(*sizes)))


def test_a_half_precision_module_is_refused():
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        TorchNormRNN(5, 4, dtype=torch.float16)


def test_a_zero_hh_row_is_refused_with_normrnns_message():
    model = make_model()
    module = to_torch(model)
    model.hh[2] = 0.0
    with torch.no_grad():
        module.hh[2] = 0.0
    want = message(ValueError, lambda: model.loss(TOKENS, 1))
    assert message(ValueError, lambda: module(TOKENS, 1)) == want
    assert "hh has a zero row (2)" in want
    assert message(ValueError, lambda: module.states(TOKENS)) == want


def test_a_padded_batch_with_a_zero_hh_row_is_refused():
    module = to_torch(make_model())
    with torch.no_grad():
        module.hh[0] = 0.0
    with pytest.raises(ValueError, match=r"hh has a zero row \(0\)"):
        module(torch.tensor([[1, 2, 3], [4, 5, 0]]), [0, 1], lengths=[3, 2])


def test_a_nan_parameter_is_refused():
    module = to_torch(make_model())
    with torch.no_grad():
        module.ih[1, 1] = float("nan")
    with pytest.raises(ValueError, match=r"ih must be finite \(found NaN or inf\)"):
        module(TOKENS, 1)


@pytest.mark.parametrize("batch", [False, True])
def test_no_gradient_flows_into_an_initial_state_that_requires_grad(batch):
    model = make_model()
    module = to_torch(model)
    state = torch.full((5,), 0.25, dtype=torch.float64, requires_grad=True)
    if batch:
        tokens, lengths = torch.tensor([TOKENS, TOKENS[:4] + [0, 0]]), [6, 4]
        starts = torch.stack([state, state])
        loss = module(tokens, [1, 0], starts, lengths=lengths)
    else:
        loss = module(TOKENS, 1, state)
    loss.backward()
    assert state.grad is None
    assert module.hh.grad is not None              # the parameters still get theirs
    if not batch:
        want = model.loss(TOKENS, 1, initial_state=np.full(5, 0.25))
        assert loss.item() == pytest.approx(want, rel=1e-12)
