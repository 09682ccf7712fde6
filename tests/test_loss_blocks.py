"""The loss's products in blocks of rows or all at once, and the choice between them.

Both kernels score their states in ``bptt_gathered._score_rows``: the logits
Z = S E^T, the softmax, dZ E and dE += dZ^T S, either block by block of 64
rows or over every row at once, as :mod:`normrnn.kernel_choice` decides from
the BLAS (blocks where OpenBLAS has kernels for small matrices).  Checked here:

* each way against a NumPy reference, for row counts around the block size
  (0, 1, 63, 64, 65, ...) and title rows (target -1) anywhere, to the
  tolerance of two orders of the same sums: 1e-13 (float64), 2e-5 (float32),
  as tests/test_lockstep.py holds them;
* the two ways agree with each other on whole batches to that tolerance, and
  a document gets the same bits alone and in a batch of one under either;
* the rule of the choice (on BLAS cores given to it, timing nothing), the
  timed choice of ``NORMRNN_KERNEL=fastest``, what ``NORMRNN_KERNEL``
  forces, and what :func:`normrnn.kernel_choices` reports.
"""

import numpy as np
import pytest

import normrnn
from normrnn import gradcheck, kernel_choice
from normrnn._kernels import bptt_gathered

from helpers import make_model

TOL = {np.float64: 1e-13, np.float32: 2e-5}          # tests/test_lockstep.py's
DTYPES = [np.float64, np.float32]
BLOCKS = sorted(set(kernel_choice.LOSS_BLOCKS.values()) | {7})   # 7: blocks of a ragged size


def _reference(embedding, states, targets):
    """(loss, dZ, dE, dZ E) in float64 NumPy, row by row as the notes' logits section."""
    e, s = embedding.astype(np.float64), states.astype(np.float64)
    z = s @ e.T
    dz = np.zeros_like(z)
    loss = 0.0
    for r, target in enumerate(targets):
        if target < 0:
            continue
        p = np.exp(z[r] - z[r].max())
        p /= p.sum()
        loss -= np.log(p[target])
        dz[r] = p
        dz[r, target] -= 1
    return loss, dz, dz.T @ s, dz @ e


def _case(n, V, H, dtype, seed):
    rng = np.random.default_rng(seed)
    embedding = rng.standard_normal((V, H)).astype(dtype)
    states = rng.uniform(-1, 1, (n, H)).astype(dtype)
    targets = rng.integers(0, V, n).astype(np.int32)
    targets[rng.random(n) < 0.2] = -1                  # title positions, anywhere
    return embedding, states, targets


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("block_rows", BLOCKS)
@pytest.mark.parametrize("n", [0, 1, 2, 63, 64, 65, 128, 130, 200])
def test_scoring_matches_the_reference(n, block_rows, dtype):
    embedding, states, targets = _case(n, 13, 9, dtype, seed=n)
    loss, dz, d_embedding, d_states_direct = bptt_gathered._score(
        embedding, states, targets, block_rows)
    want = _reference(embedding, states, targets)
    assert loss == pytest.approx(want[0], rel=TOL[dtype], abs=TOL[dtype])
    for got, ref in zip((dz, d_embedding, d_states_direct), want[1:]):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, ref, rtol=TOL[dtype], atol=TOL[dtype] * np.abs(ref).max(
            initial=1))
    assert not dz[targets < 0].any() and not d_states_direct[targets < 0].any()


@pytest.mark.parametrize("dtype", DTYPES)
def test_blocks_and_one_block_differ_only_by_rounding(dtype):
    embedding, states, targets = _case(300, 96, 128, dtype, seed=1)
    blocks = bptt_gathered._score(embedding, states, targets, 64)
    whole = bptt_gathered._score(embedding, states, targets, 0)
    assert blocks[0] == pytest.approx(whole[0], rel=TOL[dtype])
    for a, b in zip(blocks[1:], whole[1:]):
        assert gradcheck.relative_error(a, b) < TOL[dtype]


def _batch(dtype):
    model = make_model(11, 27, seed=0, dtype=dtype)
    rng = np.random.default_rng(3)
    docs = [(rng.integers(0, 11, T), int(rng.integers(0, T + 1)))
            for T in (300, 170, 90, 65, 64, 17, 2, 1, 130, 40, 8)]
    return model, docs


@pytest.mark.parametrize("dtype", DTYPES)
def test_forced_loss_choices_agree_on_a_batch(monkeypatch, dtype):
    results = {}
    for name in kernel_choice.LOSS_BLOCKS:
        monkeypatch.setenv(kernel_choice.ENVIRONMENT_VARIABLE, name)
        model, docs = _batch(dtype)
        results[name] = model.batch_loss_and_grads(docs, n_threads=1)
    (loss_a, grads_a), (loss_b, grads_b) = results.values()
    assert loss_a == pytest.approx(loss_b, rel=TOL[dtype])
    for name, g in grads_a.items():
        assert gradcheck.relative_error(g, getattr(grads_b, name)) < TOL[dtype], name


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(kernel_choice.LOSS_BLOCKS))
def test_one_document_gets_the_same_bits_alone_and_in_a_batch(monkeypatch, name, dtype):
    monkeypatch.setenv(kernel_choice.ENVIRONMENT_VARIABLE, name)
    model, docs = _batch(dtype)
    for tokens, m in docs[:3]:                         # 300, 170 and 90 tokens: several blocks
        alone = model.loss_and_grads(tokens, m)
        batch = model.batch_loss_and_grads([(tokens, m)], n_threads=1)
        assert alone[0] == batch[0]
        for grad, g in alone[1].items():
            np.testing.assert_array_equal(g, getattr(batch[1], grad), err_msg=grad)


@pytest.mark.parametrize("cores, chosen", [
    (["SkylakeX", "SkylakeX"], "loss-blocks64"),
    (["Cooperlake"], "loss-blocks64"),
    (["SapphireRapids", "SkylakeX"], "loss-blocks64"),
    (["Haswell", "Haswell"], "loss-whole"),
    (["SkylakeX", "Haswell"], "loss-whole"),     # one BLAS without them: the default
    (["Zen"], "loss-whole"),
    (["mkl"], "loss-whole"),
    ([], "loss-whole"),
])
def test_the_rule_reads_the_blas_and_times_nothing(monkeypatch, cores, chosen):
    monkeypatch.setattr(kernel_choice, "blas_cores", lambda: cores)
    monkeypatch.setattr(bptt_gathered, "_time_scoring", None)     # a timing would fail
    record = kernel_choice._measure_loss(np.float64, 5, 7, "auto")
    assert (record["loss"], record["times_us"], record["forced"]) == (chosen, {}, None)
    assert all(str(core) in record["why"] for core in cores)


@pytest.mark.parametrize("times, chosen", [((0.99, 1.0), "loss-blocks64"),
                                           ((1.01, 1.0), "loss-whole")])
def test_fastest_times_both_and_takes_the_faster(monkeypatch, times, chosen):
    seconds = dict(zip(kernel_choice.LOSS_BLOCKS, times))
    calls = []

    def fake(embedding, states, targets, block_rows, repeats):
        calls.append((states.shape, list(block_rows)))
        by_rows = {rows: seconds[name] for name, rows in kernel_choice.LOSS_BLOCKS.items()}
        return [by_rows[rows] for rows in block_rows]

    monkeypatch.setattr(bptt_gathered, "_time_scoring", fake)
    record = kernel_choice._measure_loss(np.float64, 5, 7, "fastest")
    assert record["loss"] == chosen
    assert calls == [((2048, 5), list(kernel_choice.LOSS_BLOCKS.values()))]
    assert record["times_us"] == {name: t * 1e6 for name, t in seconds.items()}


def test_the_blas_cores_are_those_threadpoolctl_sees():
    from threadpoolctl import threadpool_info
    cores = kernel_choice.blas_cores()
    assert len(cores) == sum(info["user_api"] == "blas" for info in threadpool_info())
    assert cores and all(isinstance(core, str) for core in cores)


def test_loss_block_times_times_both_ways():
    times = kernel_choice.loss_block_times(np.float32, 16, 12, rows=256, repeats=1)
    assert set(times) == set(kernel_choice.LOSS_BLOCKS)
    assert all(0 < t < 1 for t in times.values())


def test_a_forced_loss_choice_is_kept_and_reported(monkeypatch):
    rows = kernel_choice.available()["rows"][0]
    monkeypatch.setenv(kernel_choice.ENVIRONMENT_VARIABLE, f"{rows}, loss-blocks64")
    model = make_model(17, 19, seed=0, dtype=np.float64)
    model.batch_loss_and_grads([([1, 2, 3, 4], 1), ([5, 6], 0)], n_threads=1)
    assert kernel_choice.loss_block_rows(np.float64, 19, 17) == 64
    choices = normrnn.kernel_choices()
    assert choices["setting"] == f"{rows},loss-blocks64"
    record = next(r for r in choices["loss_choices"] if (r["H"], r["V"]) == (19, 17)
                  and r["forced"])
    assert (record["loss"], record["forced"], record["times_us"]) == (
        "loss-blocks64", "loss-blocks64", {})
    step = next(r for r in choices["choices"] if r["H"] == 19 and r["forced"])
    assert (step["rows"], step["forced"]) == (rows, rows)
    assert "loss-whole" in kernel_choice.available()["loss"]


def test_a_forced_step_kernel_keeps_the_loss_choice_of_auto(monkeypatch):
    # forcing a step kernel must not change the loss's blocks (nor their bits)
    monkeypatch.setenv(kernel_choice.ENVIRONMENT_VARIABLE, "auto")
    auto = kernel_choice.loss_block_rows(np.float32, 23, 29)
    monkeypatch.setenv(kernel_choice.ENVIRONMENT_VARIABLE, kernel_choice.available()["rows"][-1])
    assert kernel_choice.loss_block_rows(np.float32, 23, 29) == auto
    record = next(r for r in normrnn.kernel_choices()["loss_choices"]
                  if (r["dtype"], r["H"], r["V"], r["forced"]) == ("float32", 23, 29, None))
    assert kernel_choice.LOSS_BLOCKS[record["loss"]] == auto


def test_two_loss_choices_are_refused(monkeypatch):
    monkeypatch.setenv(kernel_choice.ENVIRONMENT_VARIABLE, "loss-whole,loss-blocks64")
    with pytest.raises(kernel_choice.KernelSettingError, match="two loss kernels"):
        kernel_choice.loss_block_rows(np.float64, 31, 37)
