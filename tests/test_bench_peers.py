"""The strong peers of the benchmark: each computes normrnn's loss and gradients, and the sweep runs.

No speed is asserted.  What is checked: PyTorch eager, ``torch.compile``
(static shapes, whole graph), JAX and the bridge give normrnn's loss and
gradients on a batch of equal-length documents (float64 to 1e-12 of the
largest value: the same formula summed in other orders; float32 to 1e-5:
float32 round-off over the same sums), the sweep's processes start, check,
time and report every B with their time to first gradient, a peer whose
library is missing gets a row saying so, the lead counts the strong peers
only, and the report and its JSON carry the tables.
"""

import json

import numpy as np
import pytest

from normrnn import bench
from normrnn.bench import peers, report
from normrnn.bench.experiments import document, relative_difference
from normrnn.bench.recorded import restore
from normrnn.cli import main as normrnn_main

from test_bench import TINY, TINY_CONFIG

TOLERANCE = peers.CHECK_TOLERANCE


def expected(dtype, documents=3):
    model = bench.experiments.model(TINY["vocab_size"], TINY["hidden_size"], dtype, seed=3)
    docs = [(document(TINY["vocab_size"], TINY["length"], i), TINY["title_length"])
            for i in range(documents)]
    loss, grads = model.batch_loss_and_grads(docs)
    return model, docs, (loss, [g for _, g in grads.items()])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, library", [("torch_eager", "torch"), ("bridge", "torch"),
                                           ("jax", "jax")])
def test_peer_equals_normrnn(dtype, name, library):
    pytest.importorskip(library, reason=f"the {name} peer needs {library}")
    model, docs, want = expected(dtype)
    got = peers._functions(name, model, 1)(docs)[1]()
    assert got[1][0].dtype == dtype
    assert relative_difference(got, want) <= TOLERANCE[np.dtype(dtype).name]


def test_torch_compile_peer_equals_normrnn():
    pytest.importorskip("torch", reason="the PyTorch peers need PyTorch")
    model, docs, want = expected(np.float64, documents=2)
    assert relative_difference(peers._functions("torch_compile", model, 1)(docs)[1](),
                               want) <= TOLERANCE["float64"]


def test_the_strong_peers_refuse_documents_of_several_lengths():
    with pytest.raises(ValueError, match="one length and title length"):
        peers.token_matrix([(np.arange(4), 1), (np.arange(3), 1)])


@pytest.fixture(scope="module")
def swept():
    return peers.peer_benchmark(**TINY, batch_sizes=(2, 3), threads=(2,),
                                peers=("torch_eager", "jax", "bridge"),
                                left_out={"torch_compile": "not in --peers"},
                                rounds=2, min_seconds=0.0)


def test_sweep_structure_and_agreement(swept):
    assert swept["peers"] == ["normrnn", "torch_eager", "jax", "bridge", "torch_compile"]
    for dtype in ("float64", "float32"):
        rows = swept[dtype][2]["rows"]
        assert rows["torch_compile"] == {"status": "left out", "reason": "not in --peers"}
        assert rows["normrnn"]["status"] == "ok"
        for name, row in rows.items():
            if name == "torch_compile":
                continue
            if not peers.installed(name):
                assert row == {"status": "not installed"}
                continue
            assert row["status"] == "ok", row
            assert set(row["tokens_per_s"]) == {2, 3}
            assert row["best_batch"] in (2, 3)
            assert row["best_tokens_per_s"] == max(row["tokens_per_s"].values())
            assert row["max_relative_difference"] <= TOLERANCE[dtype]
            assert row["first_batch"] == 2 and 0 < row["first_gradient_seconds"]
    for lead in peers.leads(swept):
        if lead["over"] is not None:
            assert lead["over"] in peers.STRONG                    # never the bridge
            rows = swept[lead["dtype"]][lead["threads"]]["rows"]
            assert lead["value"] == pytest.approx(rows["normrnn"]["best_tokens_per_s"]
                                                  / rows[lead["over"]]["best_tokens_per_s"])


def test_the_bridge_is_no_peer_of_the_lead():
    row = {"status": "ok", "best_tokens_per_s": 1.0}
    results = {"threads": [1], "float64": {1: {"rows": {
        "normrnn": {"status": "ok", "best_tokens_per_s": 2.0}, "bridge": row}}}}
    assert peers.leads(results) == [{"dtype": "float64", "threads": 1, "over": None,
                                     "value": None}]


def test_report_and_json_carry_the_peers(swept):
    base = restore(json.loads(json.dumps(bench.jsonable(
        {"config": dict(TINY_CONFIG, quick=True), "peers": swept}))))
    lines = report._peer_lines(base["peers"], base["config"])
    assert lines == report._peer_lines(swept, base["config"])      # the JSON round trip
    text = "\n".join(lines)
    assert all(len(line) <= report.WIDTH for line in lines)
    for name in ("normrnn batch_loss_and_grads", "PyTorch eager", "JAX jit",
                 "normrnn.torch, general padded batches", "torch.compile",
                 "normrnn / best strong peer", "not in --peers", "Time to first gradient"):
        assert name in text
    targets = [t for t in report.check_targets({"step": {}, "peers": swept})
               if t["key"] == "peers"]
    assert [t["target"].split(",")[:2] for t in targets] == [["float64", " 2 threads"],
                                                               ["float32", " 2 threads"]]
    assert all(t["threshold"] == 1.25 for t in targets)


def test_a_missing_library_gets_a_row_saying_so(monkeypatch):
    monkeypatch.setattr(peers, "installed", lambda name: name == "normrnn")
    results = peers.peer_benchmark(**TINY, batch_sizes=(2,), threads=(1,), dtypes=("float64",),
                                   peers=("jax", "torch_eager"), rounds=1, min_seconds=0.0)
    rows = results["float64"][1]["rows"]
    assert rows["jax"] == rows["torch_eager"] == {"status": "not installed"}
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
    ({}, ("torch_eager", "torch_compile", "jax", "bridge"), set()),
    ({"quick": True}, ("torch_eager", "jax", "bridge"), {"torch_compile"}),
    ({"quick": True, "peers": ("torch_compile",)}, ("torch_compile",),
     {"torch_eager", "jax", "bridge"}),
    ({"peers": ("torch_autotune", "jax")}, ("torch_autotune", "jax"),
     {"torch_eager", "torch_compile", "bridge"}),
    ({"use_torch": False}, ("jax",), {"torch_eager", "torch_compile", "bridge"}),
    ({"use_jax": False, "quick": True}, ("torch_eager", "bridge"), {"torch_compile", "jax"}),
    ({"peers": ()}, (), set()),
])
def test_peer_choice(options, timed, left):
    got_timed, got_left = report.peer_choice(**options)
    assert got_timed == timed and set(got_left) == left


def test_unknown_peer_name_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        normrnn_main(["bench", "--peers", "torch,tensorflow"])
    assert exit_.value.code == 2
    assert ("unknown peer 'tensorflow': choose from torch, torch-compile, torch-autotune, "
            "jax, bridge, or none") in capsys.readouterr().err
