"""A bool is not a token id, even among integers: every entry point taking tokens refuses it."""

import numpy as np
import pytest

from normrnn.training import sampling

from helpers import make_model

MIXED = [[3, True, 4], (3, 4, False), [3, np.bool_(True), 4], [1.0, True]]


@pytest.mark.parametrize("tokens", MIXED)
@pytest.mark.parametrize("method", ["loss", "loss_and_grads"])
def test_a_bool_among_tokens_is_refused(method, tokens):
    with pytest.raises(TypeError, match="tokens must hold integers, found a bool"):
        getattr(make_model(), method)(tokens, 1)


@pytest.mark.parametrize("method", ["states", "final_state"])
def test_reading_methods_refuse_a_bool_token(method):
    with pytest.raises(TypeError, match="tokens must hold integers, found a bool at "
                                        "index 1"):
        getattr(make_model(), method)([3, True, 4])


@pytest.mark.parametrize("method", ["batch_loss", "batch_loss_and_grads"])
def test_batches_name_the_document_with_a_bool(method):
    with pytest.raises(TypeError, match=r"documents\[1\]: tokens must hold integers"):
        getattr(make_model(), method)([([1, 2], 0), ([3, True, 4], 1)])


@pytest.mark.parametrize("read", [sampling.prefix_state, sampling.draw_tokens,
                                  sampling.sample_tokens])
def test_a_sampling_prefix_with_a_bool_is_refused(read):
    with pytest.raises(TypeError, match="prefix must hold integers, found a bool"):
        read(make_model(), [1, True])


def test_a_torch_document_with_a_bool_is_refused():
    pytest.importorskip("torch", reason="PyTorch is optional: the bridge needs it")
    from normrnn import torch as torch_bridge
    module = torch_bridge.to_torch(make_model())
    with pytest.raises(TypeError, match="tokens must hold integers, found a bool"):
        module([3, True, 4], 1)
    with pytest.raises(TypeError, match=r"documents\[0\] tokens must hold integers"):
        torch_bridge.pad_documents([([3, True, 4], 1)])


def test_integer_arrays_and_lists_still_read_the_same():
    model = make_model()
    assert model.loss([3, 1, 4], 1) == model.loss(np.array([3, 1, 4]), 1)
