"""normrnn.torch on a padded batch: the summed loss and gradients of batch_loss_and_grads.

Tolerances.  float64: the loss to 1e-12 relative and every gradient to 1e-11
of its largest entry.  Both sides compute the same float64 formula; they
differ only in the order of their sums (PyTorch sums B documents' outer
products in one gemm, normrnn document by document, and its input products
once per distinct token), so the differences are round-off: a few ulps of
the largest terms, grown by at most the ~T steps of backpropagation (measured:
about 1e-15 here).  float32 against normrnn's float32: 1e-5 of the largest
entry (float32's epsilon is 6e-8; the same reordering over T steps).
"""

import numpy as np
import pytest

import normrnn

torch = pytest.importorskip("torch")

from normrnn.torch import pad_documents, padded_loss, to_torch  # noqa: E402

TOLERANCE = {np.float64: (1e-12, 1e-11), np.float32: (1e-5, 1e-5)}   # (loss, gradients)


def make_model(dtype=np.float64, gain="fixed", V=11, H=6, seed=0):
    model = normrnn.NormRNN(V, H, seed=seed, dtype=dtype, gain=gain)
    rng = np.random.default_rng(seed + 1)
    model.bias[:] = rng.normal(0, 0.3, H)
    if gain == "learned":
        model.gain[:] = rng.uniform(0.5, 2.0, H) / H
    return model


def documents(lengths_and_titles, V=11, seed=2):
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, V, T).astype(np.int32), m) for T, m in lengths_and_titles]


def torch_result(module, tokens, lengths, titles, initial_state=None):
    module.zero_grad()
    loss = module(tokens, titles, initial_state, lengths=lengths)
    loss.backward()
    return loss.item(), {name: p.grad.numpy().copy() for name, p in module.named_parameters()}


def assert_equal_to(model, result, expected):
    loss_rtol, grad_rtol = TOLERANCE[model.dtype.type]
    loss, grads = result
    want_loss, want = expected
    assert loss == pytest.approx(want_loss, rel=loss_rtol, abs=loss_rtol)
    assert set(grads) == set(model.parameter_names)
    for name, g in want.items():
        scale = max(float(np.max(np.abs(g))), 1e-300)
        assert np.max(np.abs(grads[name] - g)) <= grad_rtol * scale, name


RAGGED = [(30, 4), (1, 0), (17, 17), (9, 0), (2, 1), (25, 3)]   # T=1, m=T, m=0 included


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("gain", ["fixed", "learned"])
def test_ragged_batch_equals_batch_loss_and_grads(dtype, gain):
    model = make_model(dtype, gain)
    docs = documents(RAGGED)
    expected = model.batch_loss_and_grads(docs)
    result = torch_result(to_torch(model), *pad_documents(docs))
    assert_equal_to(model, result, (expected[0], expected[1].as_dict()))


@pytest.mark.parametrize("gain", ["fixed", "learned"])
def test_float32_batch_is_near_float64(gain):
    # and against the float64 truth, float32 is off by float32 rounding only
    model = make_model(np.float32, gain)
    exact = make_model(np.float64, gain)
    docs = documents(RAGGED)
    loss, grads = torch_result(to_torch(model), *pad_documents(docs))
    want_loss, want = exact.batch_loss_and_grads(docs)
    assert loss == pytest.approx(want_loss, rel=1e-5)
    for name, g in want.items():
        assert np.max(np.abs(grads[name] - g)) <= 1e-4 * np.max(np.abs(g)), name


@pytest.mark.parametrize("shape", [[(1, 0)], [(1, 1)], [(5, 0)], [(1, 0), (1, 1), (2, 0)]])
def test_shortest_documents_and_untitled(shape):
    model = make_model()
    docs = documents(shape)
    expected = model.batch_loss_and_grads(docs)
    result = torch_result(to_torch(model), *pad_documents(docs))
    assert_equal_to(model, result, (expected[0], expected[1].as_dict()))


def test_nothing_scored_gives_zero_loss_and_zero_gradients():
    model = make_model()
    docs = documents([(4, 4), (1, 1)])
    loss, grads = torch_result(to_torch(model), *pad_documents(docs))
    assert loss == 0.0
    assert all(not g.any() for g in grads.values())


def test_padding_values_change_nothing():
    model = make_model()
    docs = documents(RAGGED)
    module = to_torch(model)
    base = torch_result(module, *pad_documents(docs))
    # other padding ids, out of range ones included: bitwise the same
    for padding in (3, 10, -7, 2 ** 40):
        other = torch_result(module, *pad_documents(docs, padding=padding))
        assert other[0] == base[0]
        for name in base[1]:
            np.testing.assert_array_equal(other[1][name], base[1][name])
    # more padding columns: the same up to round-off (gemm shapes change)
    tokens, lengths, titles = pad_documents(docs)
    wider = torch.cat([tokens, torch.full((len(docs), 7), 5)], 1)
    assert_equal_to(model, torch_result(module, wider, lengths, titles), base)


def test_order_of_documents_does_not_matter():
    model = make_model()
    docs = documents(RAGGED)
    module = to_torch(model)
    a = torch_result(module, *pad_documents(docs))
    b = torch_result(module, *pad_documents(docs[::-1]))
    assert_equal_to(model, b, a)


def test_initial_states_per_document():
    model = make_model()
    docs = documents([(12, 2), (7, 0), (3, 1)])
    rng = np.random.default_rng(5)
    states = rng.uniform(-0.3, 0.9, (3, model.hidden_size))
    want_loss, want = 0.0, None
    for (tokens, m), s in zip(docs, states):
        loss, grads = model.loss_and_grads(tokens, m, initial_state=s)
        want_loss += loss
        want = grads.as_dict() if want is None else {k: want[k] + g for k, g in grads.items()}
    result = torch_result(to_torch(model), *pad_documents(docs), torch.from_numpy(states))
    assert_equal_to(model, result, (want_loss, want))


def test_one_document_and_a_batch_of_one_agree():
    model = make_model()
    (tokens, m), = documents([(20, 3)])
    module = to_torch(model)
    one = module(tokens, m)
    batch = module(torch.as_tensor(tokens)[None], [m])
    assert one.item() == batch.item()
    # the states: the same float64 recurrence, products summed in other orders
    np.testing.assert_allclose(module.states(tokens).detach().numpy(), model.states(tokens),
                               rtol=1e-13, atol=1e-15)


def test_functional_form_is_the_module():
    model = make_model(gain="learned")
    module = to_torch(model)
    tokens, lengths, titles = pad_documents(documents(RAGGED))
    assert padded_loss(module.embedding, module.ih, module.hh, module.bias, module.gain,
                       tokens, lengths, titles).item() == module(tokens, titles,
                                                                 lengths=lengths).item()


@pytest.mark.parametrize("call, error, match", [
    (lambda m, t, n, s: m(t.double(), s, lengths=n), TypeError, "integer ids"),
    (lambda m, t, n, s: m(t, s, lengths=n[:-1]), ValueError, "lengths must have shape"),
    (lambda m, t, n, s: m(t, s, lengths=n * 0), ValueError, r"lengths must be in \[1,"),
    (lambda m, t, n, s: m(t, s, lengths=n + 100), ValueError, r"lengths must be in \[1,"),
    (lambda m, t, n, s: m(t, s + 100, lengths=n), ValueError, "title_lengths must be in"),
    (lambda m, t, n, s: m(t, s - 100, lengths=n), ValueError, "title_lengths must be in"),
    (lambda m, t, n, s: m(t, s.double(), lengths=n), TypeError, "title_lengths must hold"),
    (lambda m, t, n, s: m(t + 11, s, lengths=n), ValueError, r"ids in \[0, 11\)"),
    (lambda m, t, n, s: m(t, s, torch.zeros(2, 6), lengths=n), ValueError, "initial_state"),
    (lambda m, t, n, s: m(t[0], 1, lengths=n), TypeError, "lengths is for a padded batch"),
])
def test_bad_batches_are_refused_with_the_argument_named(call, error, match):
    module = to_torch(make_model())
    tokens, lengths, titles = pad_documents(documents(RAGGED))
    with pytest.raises(error, match=match):
        call(module, tokens, lengths, titles)


def test_pad_documents_checks_its_input():
    with pytest.raises(ValueError, match="at least one"):
        pad_documents([])
    with pytest.raises(TypeError, match=r"documents\[0\] must be a \(tokens, title_length\)"):
        pad_documents([[1, 2, 3]])
    with pytest.raises(ValueError, match=r"documents\[1\]: tokens must be a non-empty"):
        pad_documents([([1], 0), ([], 0)])
    with pytest.raises(ValueError, match="title_length"):
        pad_documents([([1, 2], 3)])
