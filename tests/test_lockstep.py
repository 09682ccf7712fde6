"""Documents in lockstep (normrnn/_kernels/lockstep.pyx) against the per-document kernel.

The lockstep kernel computes the same sums as reading the documents one by
one (normrnn/_kernels/bptt_gathered.pyx), in another order: per step across the
batch, and the parameter products over all documents at once.  So the two
agree to the rounding of reordered sums, not bit for bit.  Tolerances:

* float64: 1e-13 relative (loss) and :func:`normrnn.gradcheck.relative_error`
  (largest difference over largest entry) for gradients and states.  The
  sums here have at most a few hundred terms, each rounding about 1.1e-16:
  measured differences are 2e-16 to 7e-16, so 1e-13 leaves room for longer
  sums without hiding a wrong term (which shows at 1e-3 or more).
* float32: 2e-5, the same reasoning with float32's 6e-8 rounding (measured
  1e-7 to 5e-7).

The finite-difference check is independent of both kernels: central
differences of the float64 loss, as normrnn.gradcheck does, at its 1e-7.
"""

import time

import numpy as np
import pytest

import normrnn
from normrnn import gradcheck
from normrnn._kernels import lockstep

from helpers import make_model

TOL = {np.float64: 1e-13, np.float32: 2e-5}


def _model(dtype, gain, V=11, H=27, seed=0):
    # H = 27: not a multiple of any vector width, so every tail of
    # rows_matmul.h runs
    model = make_model(V, H, seed=seed, dtype=dtype)
    if gain == "learned":
        model.gain = np.random.default_rng(seed + 5).normal(0, 0.3, H).astype(dtype)
    return model


def _ragged(rng, V, lengths, titles=None):
    docs = []
    for i, T in enumerate(lengths):
        m = int(rng.integers(0, T + 1)) if titles is None else titles[i]
        docs.append((rng.integers(0, V, T), m))
    return docs


def _one_by_one(model, docs, initial_states=None):
    """The per-document kernel's loss, summed gradients and last states."""
    loss, total, last = 0.0, normrnn.Grads.zeros_like(model), []
    for b, (tokens, m) in enumerate(docs):
        start = None if initial_states is None else initial_states[b]
        one, g, s = model.loss_and_grads(tokens, m, initial_state=start, return_last_state=True)
        loss += one
        last.append(s)
        for name, a in g.items():
            getattr(total, name)[...] += a
    return loss, total, np.array(last)


BATCHES = {
    # lengths, title lengths (None: random in [0, T])
    "ragged": ([1, 2, 2, 7, 30, 5, 30, 1, 17, 9, 3], None),
    "one document": ([23], None),
    "one token": ([1], [0]),
    "titles m=0 and m=T": ([12, 12, 4, 1, 2], [0, 12, 4, 1, 0]),
    "all scored from 0": ([6, 9, 2, 2, 13], [0, 0, 0, 0, 0]),
    "nothing scored": ([5, 3], [5, 3]),
    "many equal": ([8] * 9, None),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("gain", ["fixed", "learned"])
@pytest.mark.parametrize("states", [False, True])
@pytest.mark.parametrize("case", sorted(BATCHES))
def test_lockstep_equals_the_per_document_kernel(dtype, gain, states, case):
    model = _model(dtype, gain)
    lengths, titles = BATCHES[case]
    rng = np.random.default_rng(len(case))
    docs = _ragged(rng, model.vocab_size, lengths, titles)
    initial = (rng.normal(0, 0.5, (len(docs), model.hidden_size)).astype(dtype)
               if states else None)
    want_loss, want, want_last = _one_by_one(model, docs, initial)
    tol = TOL[dtype]
    for n_threads in (1, 2):
        loss, grads, last = model.batch_loss_and_grads(
            docs, n_threads=n_threads, initial_states=initial, return_last_states=True)
        assert loss == pytest.approx(want_loss, rel=tol, abs=tol)
        for name, g in grads.items():
            assert gradcheck.relative_error(g, getattr(want, name)) < tol, name
        assert gradcheck.relative_error(last, want_last) < tol
        # forward only: the same loss and last states
        only, only_last = model.batch_loss(docs, n_threads=n_threads, initial_states=initial,
                                           return_last_states=True)
        assert only == pytest.approx(want_loss, rel=tol, abs=tol)
        assert gradcheck.relative_error(only_last, want_last) < tol


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blas_and_register_kernel_steps_agree(dtype):
    # every step through BLAS gemm, then through rows_matmul.h only
    model = _model(dtype, "fixed")
    docs = _ragged(np.random.default_rng(1), model.vocab_size, [14, 3, 9, 9, 1, 6, 2])
    before = lockstep.gemm_rows(dtype)
    try:
        lockstep.gemm_rows(dtype, 1)
        blas = model.batch_loss_and_grads(docs)
        lockstep.gemm_rows(dtype, 1 << 30)
        kernel = model.batch_loss_and_grads(docs)
    finally:
        lockstep.gemm_rows(dtype, before)
    assert lockstep.gemm_rows(dtype) == before
    assert blas[0] == pytest.approx(kernel[0], rel=TOL[dtype])
    for name, g in blas[1].items():
        assert gradcheck.relative_error(g, getattr(kernel[1], name)) < TOL[dtype]


def test_a_document_gets_the_same_bits_alone_or_in_a_group():
    # rows_matmul.h sums each row in matvec.h's order: the same document five
    # times (a group of four and one alone) gives five identical last states
    model = _model(np.float64, "fixed")
    tokens = np.random.default_rng(2).integers(0, model.vocab_size, 40)
    _, last = model.batch_loss([(tokens, 3)] * 5, return_last_states=True)
    assert (last == last[0]).all()
    assert gradcheck.relative_error(last[0], model.states(tokens)[-1]) < 1e-15


def test_batch_gradients_match_finite_differences_with_initial_states():
    model = _model(np.float64, "learned", V=7, H=5)
    rng = np.random.default_rng(3)
    docs = _ragged(rng, 7, [6, 1, 4, 2], [1, 0, 4, 0])
    initial = rng.normal(0, 0.5, (4, 5))
    _, grads = model.batch_loss_and_grads(docs, initial_states=initial)
    for name, g in grads.items():
        p = getattr(model, name)
        numeric = gradcheck.numerical_gradient(
            lambda: model.batch_loss(docs, initial_states=initial), p,
            gradcheck.step_sizes(name, p))
        assert gradcheck.relative_error(g, numeric) < 1e-7, name


def test_two_threads_are_reproducible_bit_for_bit():
    model = _model(np.float64, "fixed")
    docs = _ragged(np.random.default_rng(4), model.vocab_size, [20, 3, 17, 9, 1, 11, 4, 8])
    first = model.batch_loss_and_grads(docs, n_threads=2, return_last_states=True)
    again = model.batch_loss_and_grads(docs, n_threads=2, return_last_states=True)
    assert first[0] == again[0]
    for name, g in first[1].items():
        np.testing.assert_array_equal(getattr(again[1], name), g)
    np.testing.assert_array_equal(first[2], again[2])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_final_state_and_next_state_read_every_token(dtype):
    model = _model(dtype, "learned")
    tokens = [3, 1, 4, 1, 5, 9, 2, 6]
    start = np.random.default_rng(5).normal(0, 0.5, model.hidden_size).astype(dtype)
    # states() of the tokens and one more: its last row has read all of them
    want = model.states(tokens + [0], initial_state=start)[-1]
    assert gradcheck.relative_error(model.final_state(tokens, initial_state=start),
                                    want) < TOL[dtype]
    state = start
    for token in tokens:
        state = model.next_state(state, token)
    assert gradcheck.relative_error(state, want) < TOL[dtype]
    assert state.dtype == dtype and state.shape == (model.hidden_size,)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batch_loss_read_last_reads_every_token_and_scores_the_same(dtype):
    # read_last: each document steps once more, over its last token, so its
    # last state is s_{T_b}; what is scored (positions m_b .. T_b - 1) is not
    # changed by that extra step, so the loss is the same.
    model = _model(dtype, "learned")
    rng = np.random.default_rng(9)
    lengths = [9, 6, 6, 2, 1]
    docs = _ragged(rng, model.vocab_size, lengths)
    tokens = np.concatenate([t for t, _ in docs]).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    titles = np.array([m for _, m in docs], dtype=np.int32)
    starts = rng.normal(0, 0.5, (len(docs), model.hidden_size)).astype(dtype)
    workspace = lockstep.LockstepWorkspace(model.vocab_size, model.hidden_size, dtype)
    args = (model.embedding, model.ih, model.hh, model.bias, model.gain, tokens, offsets,
            titles, starts)
    read, unread = np.empty_like(starts), np.empty_like(starts)
    loss_read = lockstep.batch_loss(*args, read, workspace, read_last=True)
    loss = lockstep.batch_loss(*args, unread, workspace)
    assert abs(loss_read - loss) <= TOL[dtype] * abs(loss)
    for b, (doc, _) in enumerate(docs):
        want = model.final_state(doc, initial_state=starts[b])
        assert gradcheck.relative_error(read[b], want) < TOL[dtype]
        assert gradcheck.relative_error(
            unread[b], model.states(doc, initial_state=starts[b])[-1]) < TOL[dtype]


def test_loss_is_the_forward_only_kernel_and_agrees():
    model = _model(np.float64, "fixed")
    tokens = np.random.default_rng(6).integers(0, model.vocab_size, 300)
    start = np.full(model.hidden_size, 0.1)
    loss, last = model.loss(tokens, 7, initial_state=start, return_last_state=True)
    want, _, want_last = model.loss_and_grads(tokens, 7, initial_state=start,
                                              return_last_state=True)
    assert loss == pytest.approx(want, rel=1e-13)
    assert gradcheck.relative_error(last, want_last) < 1e-13


def test_batch_arguments_are_checked():
    model = _model(np.float64, "fixed")
    docs = [([1, 2, 3], 0), ([4], 1)]
    with pytest.raises(ValueError, match="initial_states"):
        model.batch_loss_and_grads(docs, initial_states=np.zeros((3, model.hidden_size)))
    with pytest.raises(TypeError, match="initial_states"):
        model.batch_loss(docs, initial_states=np.zeros((2, model.hidden_size), np.float32))
    with pytest.raises(ValueError, match="initial_states"):
        bad = np.zeros((2, model.hidden_size))
        bad[1, 0] = np.nan
        model.batch_loss(docs, initial_states=bad)
    with pytest.raises(ValueError, match=r"documents\[1\]"):
        model.batch_loss([([1], 0), ([99], 0)])
    with pytest.raises(ValueError, match="at least one"):
        model.batch_loss([])


def test_the_result_does_not_depend_on_what_the_workspace_read_before():
    # the workspaces grow and are reused: a batch read after a bigger one must
    # give the same bits as in a fresh thread
    model = _model(np.float64, "fixed")
    docs = _ragged(np.random.default_rng(7), model.vocab_size, [70, 40, 3])
    fresh_loss = model.batch_loss(docs)
    fresh = model.batch_loss_and_grads(docs)
    big = _ragged(np.random.default_rng(8), model.vocab_size, [300] * 20)
    model.batch_loss(big)
    model.batch_loss_and_grads(big)
    assert model.batch_loss(docs) == fresh_loss
    again = model.batch_loss_and_grads(docs)
    assert again[0] == fresh[0]
    for name, g in fresh[1].items():
        np.testing.assert_array_equal(getattr(again[1], name), g)


def _raw_batch(model, docs):
    """The lockstep kernel's arguments for ``docs`` (longest first), as NormRNN passes them."""
    docs = sorted(docs, key=lambda d: -len(d[0]))
    offsets = np.cumsum([0] + [len(t) for t, _ in docs]).astype(np.int32)
    tokens = np.concatenate([t for t, _ in docs]).astype(np.int32)
    titles = np.array([m for _, m in docs], dtype=np.int32)
    starts = np.zeros((len(docs), model.hidden_size), dtype=model.dtype)
    return tokens, offsets, titles, starts


def _raw_call(model, args, workspace, **kwargs):
    grads = normrnn.Grads.zeros_like(model)
    last = np.empty_like(args[3])
    loss = lockstep.batch_loss_and_grads(
        model.embedding, model.ih, model.hh, model.bias, model.gain, *args, grads.embedding,
        grads.ih, grads.hh, grads.bias, grads.gain, last, workspace, **kwargs)
    return loss, grads, last


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_timing_the_phases_changes_no_bit_and_the_phases_add_up_to_the_call(dtype):
    model = _model(dtype, "fixed")
    args = _raw_batch(model, _ragged(np.random.default_rng(3), model.vocab_size,
                                     [40, 33, 33, 5, 1], titles=[3, 0, 33, 2, 0]))
    workspace = lockstep.LockstepWorkspace(model.vocab_size, model.hidden_size, dtype)
    plain = _raw_call(model, args, workspace)
    seconds = np.zeros(len(lockstep.PHASES))
    start = time.perf_counter()
    timed = _raw_call(model, args, workspace, phase_seconds=seconds)
    wall = time.perf_counter() - start
    assert timed[0] == plain[0]
    for name, g in plain[1].items():
        np.testing.assert_array_equal(getattr(timed[1], name), g, err_msg=name)
    np.testing.assert_array_equal(timed[2], plain[2])
    # every phase ran and took time; the clock reads sit inside the call, so
    # the phases add up to no more than its wall time
    assert np.all(seconds > 0), dict(zip(lockstep.PHASES, seconds))
    assert seconds.sum() <= wall
    # the seconds are added into the array: a second call adds its own
    first = seconds.copy()
    _raw_call(model, args, workspace, phase_seconds=seconds)
    assert np.all(seconds > first)


def test_phase_seconds_must_hold_one_value_per_phase():
    model = _model(np.float64, "fixed")
    args = _raw_batch(model, [(np.arange(5) % model.vocab_size, 1)])
    workspace = lockstep.LockstepWorkspace(model.vocab_size, model.hidden_size, np.float64)
    with pytest.raises(ValueError, match="phase_seconds must hold 7 values"):
        _raw_call(model, args, workspace, phase_seconds=np.zeros(3))
