"""The recorded benchmark the docs' performance page draws: reading it back, and the committed copy."""

import json
import os

import pytest

from normrnn import bench
from normrnn.bench import report
from normrnn.bench.recorded import restore

from test_bench import TINY_CONFIG

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS_RECORD = os.path.join(ROOT, "docs", "performance", "recorded_bench.json")


def test_json_round_trip_gives_the_same_report(monkeypatch, capsys):
    monkeypatch.setattr(report, "QUICK", TINY_CONFIG)
    results = bench.run_benchmark(quick=True, use_torch=False, peers=())
    back = restore(json.loads(json.dumps(bench.jsonable(results))))
    assert 2 in back["threads"]["float64"]["tokens_per_s"]      # thread counts are ints again
    assert bench.format_report(back) == bench.format_report(results)


def test_load_record_refuses_a_file_that_is_not_a_record(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"config": {}}))
    with pytest.raises(ValueError, match="not a benchmark record"):
        bench.load_record(str(path))


def test_the_docs_record_is_a_full_run_that_renders():
    pytest.importorskip("matplotlib")
    data = bench.load_record(DOCS_RECORD)
    assert data["command"] == "normrnn bench --scaling --json"     # not --quick
    assert data["results"]["config"]["quick"] is False
    assert data["results"]["scaling"] is not None
    description = bench.describe_record(data)
    assert description.startswith("$ normrnn bench --scaling --json\nrecorded ")
    assert "Targets" in bench.format_report(data["results"])
    bench.plot_results(data["results"])


def test_the_docs_avx2_record_holds_every_library_at_avx2():
    data = bench.load_record(DOCS_RECORD.replace(".json", "_avx2.json"))
    script = _record_script()
    assert data["command"] == "env " + " ".join(
        f"{k}={v}" for k, v in script.AVX2_ENVIRONMENT.items()) + " normrnn bench --scaling --json"
    results = data["results"]
    assert results["config"]["quick"] is False
    machine = results["machine"]
    assert machine["environment"] == {**machine["environment"], **script.AVX2_ENVIRONMENT}
    assert machine["kernels"]["clones"].startswith(
        "matvec.h and rows_matmul.h: the x86-64-v3 clones")
    assert {lib["architecture"] for lib in machine["blas"]} == {"Haswell"}
    leads = bench.leads(results["peers"])
    assert {(lead["dtype"], lead["threads"]) for lead in leads if lead["over"]} == {
        (d, t) for d in ("float64", "float32") for t in (1, 2)}
    assert "Targets" in bench.format_report(results)


def _record_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "record_script", os.path.join(ROOT, "benchmarks", "record.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_the_record_script_wraps_the_command_output(tmp_path, monkeypatch):
    import subprocess

    script = _record_script()
    results = {"machine": {"cpu": "X", "cores": 2, "cpu_family": "6", "cpu_model": "1",
                           "vector_level": "x86-64-v3 (AVX2)"}, "peers": None}
    commands = []

    def run(command, **kwargs):
        commands.append(command)
        out = "abc1234\n" if command[0] == "git" else json.dumps(results)
        return subprocess.CompletedProcess(command, 0, stdout=out)

    monkeypatch.setattr(script.subprocess, "run", run)
    path = tmp_path / "record.json"
    script.record(str(path), options=["--quick"])
    assert commands[0][1:] == ["-m", "normrnn", "bench", "--scaling", "--json", "--quick"]
    data = bench.load_record(str(path))
    assert data["command"] == "normrnn bench --scaling --json --quick"
    assert data["commit"] == "abc1234" and data["results"] == results
    assert bench.describe_record(data).splitlines()[2].startswith(
        "on X (family 6, model 1, x86-64-v3 (AVX2)), 2 cores, ")


def test_the_record_script_holds_every_library_at_avx2(tmp_path, monkeypatch):
    import subprocess

    script = _record_script()
    results = {"machine": {"cpu": "X", "cores": 2}, "peers": None}
    seen = {}

    def run(command, **kwargs):
        if command[0] != "git":
            seen.update(kwargs["env"])
        out = "abc1234\n" if command[0] == "git" else json.dumps(results)
        return subprocess.CompletedProcess(command, 0, stdout=out)

    monkeypatch.setattr(script.subprocess, "run", run)
    monkeypatch.setattr(script, "DEFAULT_AVX2", str(tmp_path / "avx2.json"))
    monkeypatch.setattr(script, "load_record", lambda path: {"command": "", "results": results})
    monkeypatch.setattr(script, "describe_record", lambda data: "")
    assert script.main(["--avx2", "--quick"]) == 0
    for name, value in script.AVX2_ENVIRONMENT.items():
        assert seen[name] == value
    assert seen["NORMRNN_MAX_LEVEL"] == "v3" and seen["OPENBLAS_CORETYPE"] == "Haswell"
    data = json.loads((tmp_path / "avx2.json").read_text())
    assert data["command"].startswith("env NORMRNN_MAX_LEVEL=v3 OPENBLAS_CORETYPE=Haswell ")
    assert data["command"].endswith(" normrnn bench --scaling --json --quick")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["avx2.json"]   # no .partial left


def test_record_script_names_the_peers_a_record_lacks():
    script = _record_script()
    assert script.missing_peers({"peers": None}) == ["the peers were not run"]
    ok = {"status": "ok"}
    peers = {"threads": [1], "float64": {1: {"rows": {
        "normrnn": ok, "jax": {"status": "not installed"},
        "torch_compile": {"status": "left out", "reason": "left out by --quick"}}}}}
    assert script.missing_peers({"peers": peers}) == [
        "jax was not timed: not installed", "torch_compile was not timed: left out by --quick"]
