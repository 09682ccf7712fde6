"""``Grads``: one kind of gradients for the model and the NumPy reference, read by name too."""

import subprocess
import sys

import numpy as np
import pytest
from helpers import make_model

from normrnn import Grads, reference
from normrnn.grads import LEARNED_GAIN_PARAMETER_NAMES, PARAMETER_NAMES

TOKENS, TITLE = [1, 4, 2, 6, 0, 3], 2


def _params(model):
    return model.embedding, model.ih, model.hh, model.bias


def test_the_reference_returns_the_models_kind_with_the_same_values():
    model = make_model()
    loss, grads = model.loss_and_grads(TOKENS, TITLE)
    ref_loss, ref_grads = reference.loss_and_grads(*_params(model), TOKENS, TITLE)
    assert type(ref_grads) is type(grads) is Grads
    assert ref_grads.gain is None and list(ref_grads) == list(PARAMETER_NAMES)
    assert ref_loss == pytest.approx(loss, rel=1e-12)
    for name, g in grads.items():
        np.testing.assert_allclose(ref_grads[name], g, rtol=1e-10, atol=1e-12)


def test_a_learned_gain_is_among_the_keys_only_when_there_is_one():
    model = make_model()
    gain = np.full(model.hidden_size, 0.3)
    _, grads = reference.loss_and_grads(*_params(model), TOKENS, TITLE, gain=gain)
    assert tuple(grads.keys()) == LEARNED_GAIN_PARAMETER_NAMES and "gain" in grads
    assert grads["gain"] is grads.gain and grads.gain.shape == gain.shape
    _, fixed = reference.loss_and_grads(*_params(model), TOKENS, TITLE)
    assert "gain" not in fixed and len(fixed) == 4
    with pytest.raises(KeyError):
        fixed["gain"]


def test_grads_read_as_a_mapping():
    model = make_model()
    _, grads = model.loss_and_grads(TOKENS, TITLE)
    as_dict = {**grads}
    assert list(as_dict) == list(PARAMETER_NAMES) and dict(grads).keys() == as_dict.keys()
    assert all(as_dict[name] is getattr(grads, name) for name in PARAMETER_NAMES)
    assert grads.as_dict().keys() == as_dict.keys()
    assert [v is as_dict[k] for k, v in zip(grads.keys(), grads.values(), strict=True)] == [True] * 4
    with pytest.raises(KeyError):
        grads["d_hh"]


def test_the_reference_imports_no_kernel():
    # the reference is plain NumPy: its Grads come without the compiled model
    code = ("import sys, normrnn.reference; "
            "print(sorted(m for m in sys.modules if m.startswith(('normrnn.model', "
            "'normrnn._kernels.bptt_gathered', 'normrnn._kernels.lockstep', 'normrnn.batching'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
