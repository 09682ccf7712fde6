"""The strong peers of the benchmark: each computes normrnn's loss and gradients, and the sweep runs.

No speed is asserted.  What is checked: the JAX model and ``torch.compile``
of the PyTorch model give normrnn's loss and gradients on a ragged padded
batch (float64 to 1e-12 of the largest value: the same formula summed in
other orders; float32 to 1e-5: float32 round-off over the same sums), the
sweep's processes start, check, time and report every B, a peer whose
library is missing gets a row saying so, and the report and its JSON carry
the table and the lead over the best peer.
"""

import json

import numpy as np
import pytest

from normrnn import bench
from normrnn.bench import peers, report
from normrnn.bench.recorded import restore

from test_bench import TINY, TINY_CONFIG

TOLERANCE = peers.CHECK_TOLERANCE


def expected(dtype, gain="fixed"):
    model = bench.experiments.model(TINY["vocab_size"], TINY["hidden_size"], dtype, seed=3,
                                     gain=gain)
    if gain == "learned":
        model.gain[:] = np.random.default_rng(4).uniform(0.5, 2, model.hidden_size) / 5
    docs = peers.check_documents(TINY["vocab_size"], TINY["length"], TINY["title_length"], 0)
    loss, grads = model.batch_loss_and_grads(docs)
    return model, docs, (loss, [g for _, g in grads.items()])


def test_check_documents_are_ragged():
    docs = peers.check_documents(7, 12, 2, 0)
    assert [(len(t), m) for t, m in docs] == [(12, 2), (8, 0), (4, 2), (1, 0)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("gain", ["fixed", "learned"])
def test_jax_peer_equals_normrnn(dtype, gain):
    jax = pytest.importorskip("jax", reason="the JAX peer needs JAX")
    from normrnn.bench.jax_peer import value_and_grad

    function = value_and_grad()          # first: it enables float64 in JAX
    model, docs, want = expected(dtype, gain)
    T = max(len(t) for t, _ in docs)
    tokens = np.full((len(docs), T), 5, np.int32)           # padding 5: changes nothing
    for row, (t, _) in zip(tokens, docs):
        row[:len(t)] = t
    params = tuple(None if p is None else jax.numpy.asarray(p) for p in
                   (model.embedding, model.ih, model.hh, model.bias, model.gain))
    loss, grads = function(params, tokens, np.array([len(t) for t, _ in docs]),
                                   np.array([m for _, m in docs]))
    assert grads[0].dtype == dtype
    result = (float(loss), [np.asarray(g) for g in grads if g is not None])
    assert peers.relative_difference(result, want) <= TOLERANCE[np.dtype(dtype).name]


def test_torch_compile_of_the_bridge_equals_normrnn():
    torch = pytest.importorskip("torch", reason="the PyTorch peers need PyTorch")
    from normrnn.torch import pad_documents, padded_loss, to_torch

    model, docs, want = expected(np.float64, "learned")
    module = to_torch(model)
    compiled = torch.compile(padded_loss, dynamic=True)
    for batch in (docs, docs[:2]):            # two batch sizes: one compiled function
        module.zero_grad()
        loss = compiled(module.embedding, module.ih, module.hh, module.bias, module.gain,
                        *pad_documents(batch))
        loss.backward()
        mine = model.batch_loss_and_grads(batch)
        result = (loss.item(), [p.grad.numpy() for p in module.parameters()])
        assert peers.relative_difference(result, (mine[0], [g for _, g in mine[1].items()])) \
            <= TOLERANCE["float64"]


@pytest.fixture(scope="module")
def swept():
    return peers.peer_benchmark(**TINY, batch_sizes=(1, 3), threads=(2,),
                                peers=("torch_batched", "jax"),
                                left_out={"torch_compile": "not in --peers"},
                                rounds=2, min_seconds=0.0)


def test_sweep_structure_and_agreement(swept):
    assert swept["peers"] == ["normrnn", "torch_batched", "jax", "torch_compile"]
    for dtype in ("float64", "float32"):
        for k in (2,):
            rows = swept[dtype][k]["rows"]
            assert rows["torch_compile"] == {"status": "left out", "reason": "not in --peers"}
            assert rows["normrnn"]["status"] == "ok"
            for name, row in rows.items():
                if name == "torch_compile":
                    continue
                if not peers.installed(name):
                    assert row == {"status": "not installed"}
                    continue
                assert row["status"] == "ok", row
                assert set(row["tokens_per_s"]) == {1, 3}
                assert row["best_batch"] in (1, 3)
                assert row["best_tokens_per_s"] == max(row["tokens_per_s"].values())
                assert row["max_relative_difference"] <= TOLERANCE[dtype]
    for lead in peers.leads(swept):
        if lead["over"] is not None:
            rows = swept[lead["dtype"]][lead["threads"]]["rows"]
            assert lead["value"] == pytest.approx(rows["normrnn"]["best_tokens_per_s"]
                                                  / rows[lead["over"]]["best_tokens_per_s"])


def test_report_and_json_carry_the_peers(swept):
    base = restore(json.loads(json.dumps(bench.jsonable(
        {"config": dict(TINY_CONFIG, quick=True), "peers": swept}))))
    lines = report._peer_lines(base["peers"], base["config"])
    assert lines == report._peer_lines(swept, base["config"])      # the JSON round trip
    text = "\n".join(lines)
    assert all(len(line) <= report.WIDTH for line in lines)
    for name in ("normrnn batch_loss_and_grads", "PyTorch eager, batched", "JAX jit",
                 "torch.compile", "normrnn / best peer", "not in --peers"):
        assert name in text
    targets = [t for t in report.check_targets({"step": {}, "peers": swept})
               if t["key"] == "peers"]
    assert [t["target"].split(",")[:2] for t in targets] == [["float64", " 2 threads"],
                                                               ["float32", " 2 threads"]]
    assert all(t["threshold"] == 1.1 for t in targets)


def test_a_missing_library_gets_a_row_saying_so(monkeypatch):
    monkeypatch.setattr(peers, "installed", lambda name: name == "normrnn")
    results = peers.peer_benchmark(**TINY, batch_sizes=(2,), threads=(1,), dtypes=("float64",),
                                   peers=("jax", "torch_batched"), rounds=1, min_seconds=0.0)
    rows = results["float64"][1]["rows"]
    assert rows["jax"] == rows["torch_batched"] == {"status": "not installed"}
    assert peers.leads(results) == [{"dtype": "float64", "threads": 1, "over": None,
                                     "value": None}]
    assert "not installed" in "\n".join(report._peer_lines(results, TINY_CONFIG))


def test_a_failing_worker_is_reported_not_raised():
    spec = dict(TINY, dtype="float64", threads=1, batch_sizes=[1], seed=0, min_seconds=0.0)
    rows, _ = peers._group(spec, ["normrnn", "no_such_peer"], rounds=1)
    assert rows["normrnn"]["status"] == "ok"
    assert rows["no_such_peer"]["status"] == "failed"
    assert "unknown peer 'no_such_peer'" in rows["no_such_peer"]["error"]


@pytest.mark.parametrize("options, timed, left", [
    ({}, ("torch_batched", "torch_compile", "jax"), set()),
    ({"quick": True}, ("torch_batched", "jax"), {"torch_compile"}),
    ({"quick": True, "peers": ("torch_compile",)}, ("torch_compile",), {"torch_batched", "jax"}),
    ({"use_torch": False}, ("jax",), {"torch_batched", "torch_compile"}),
    ({"use_jax": False, "quick": True}, ("torch_batched",), {"torch_compile", "jax"}),
    ({"peers": ()}, (), set()),
])
def test_peer_choice(options, timed, left):
    got_timed, got_left = report.peer_choice(**options)
    assert got_timed == timed and set(got_left) == left


def test_unknown_peer_name_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--peers", "torch,tensorflow"])
    assert exit_.value.code == 2
    assert "unknown peer 'tensorflow': choose from torch, torch-compile, jax, or none" in \
        capsys.readouterr().err
