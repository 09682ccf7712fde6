"""The benchmark code runs on tiny sizes and returns what it promises (no timing asserted).

Timings depend on the machine and on what else runs on it, so nothing here
checks a speed.  What is checked: every implementation the benchmark times
computes the same loss and gradients as normrnn (float64, 1e-10 relative:
the same formula summed in different orders over a few steps), a batch is
bitwise reproducible, the memory stored per token is the activations the
kernel keeps, and the command writes its table, JSON and plot.
"""

import json

import numpy as np
import pytest

import normrnn
from normrnn import bench
from normrnn.bench import report
from normrnn.cli import main as normrnn_main

TINY = {"vocab_size": 7, "hidden_size": 5, "length": 12, "title_length": 2}   # T >= V
TINY_CONFIG = dict(report.QUICK, **TINY, rounds=1, min_seconds=0.0, gemm_size=16,
                   documents=3, train_steps=1, scaling_hidden=(4, 8), scaling_length=(6, 12),
                   scaling_rounds=1, scaling_min_seconds=0.0, peer_batch_sizes=(2, 3),
                   peer_rounds=1, peer_min_seconds=0.0, phase_batch_size=3)


def test_flops_per_token():
    # 12 H^2 + 6 V H: six (H, H) and three (V, H) products, 2 FLOPs per multiply-add
    assert bench.flops_per_token(96, 128) == 12 * 128 ** 2 + 6 * 96 * 128


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-10), (np.float32, 1e-3)])
def test_step_benchmark_structure_and_agreement(dtype, tolerance):
    results = bench.step_benchmark(**TINY, dtypes=(dtype,), rounds=2, min_seconds=0.0,
                                   gemm_size=16)
    part = results[np.dtype(dtype).name]
    assert part["peak_gflops"] > 0
    rows = part["implementations"]
    expected = {"normrnn", "by_section", "numpy"}
    if bench.torch_available():
        expected |= {"torch", "torch_per_token"}
    assert set(rows) == expected
    assert rows["normrnn"]["speedup"] == 1.0
    for name, row in rows.items():
        assert row["tokens_per_s"] > 0 and row["gflops"] > 0 and row["peak_share"] > 0, name
        assert len(row["samples"]) == 2 and row["best"] <= row["seconds"], name
        assert row["max_relative_difference"] < tolerance, name
        assert row["first_seconds"] > 0, name                      # time to first gradient
    assert set(part["sequential_product_seconds"]) == {"matvec", "gemv"}
    assert all(v > 0 for v in part["sequential_product_seconds"].values())


@pytest.mark.parametrize("tokens, m", [([1, 3, 3, 0, 6, 2, 1, 3, 5], 3), ([4, 1], 0), ([6], 0),
                                       ([2, 2, 5], 3)])
def test_torch_baselines_agree_with_the_model(tokens, m):
    torch = pytest.importorskip("torch")
    model = bench.experiments.model(7, 5, seed=3)
    loss = model.loss(tokens, m)
    params = [torch.tensor(p) for p in model.parameters().values()]
    batched = bench.torch_loss(*params, torch.as_tensor(tokens), m).item()
    per_token = bench.torch_loss_per_token(*params, tokens, m).item()
    assert batched == pytest.approx(loss, rel=1e-12, abs=1e-12)
    assert per_token == pytest.approx(loss, rel=1e-12, abs=1e-12)


def test_time_interleaved_counts_rounds():
    calls = []
    timings = bench.time_interleaved({"a": lambda: calls.append("a"),
                                      "b": lambda: calls.append("b")},
                                     rounds=3, min_seconds=0.0)
    assert calls.count("a") == calls.count("b") == 2 + 3      # warm-up, calibration, rounds
    assert calls[4:] == ["a", "b", "b", "a", "a", "b"]        # rotated order
    for t in timings.values():
        assert t["calls"] == 1 and len(t["samples"]) == 3 and t["best"] <= t["seconds"]


def test_thread_benchmark_is_reproducible():
    results = bench.thread_benchmark(**TINY, documents=3, rounds=1, min_seconds=0.0,
                                     dtypes=(np.float64,))
    row = results["float64"]
    assert set(row["tokens_per_s"]) == {1, 2} and row["speedup"][1] == 1.0
    assert row["reproducible"] is True
    assert row["thread_difference"] < 1e-12          # 1 vs 2 threads: rounding only


def test_memory_grows_by_the_activations_only():
    memory = bench.memory_benchmark(**TINY, documents=2, train_steps=1)
    doc = memory["per_document"]
    # from T to 4T tokens the traced peak grows by the arrays of the activations,
    # (4 H + V) numbers per token (T >= V: the per-token-id arrays are full
    # already); nothing allocated per token adds to it
    assert doc["bytes_per_token"] == pytest.approx(doc["expected_bytes_per_token"], rel=0.05)
    assert memory["batch"]["peak_bytes"] > 0
    run = memory["training_run"]
    assert run is None or run["max_rss_bytes"] > 0


def test_command_writes_table_json_and_plot(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(report, "QUICK", TINY_CONFIG)
    out_json, out_png = tmp_path / "bench.json", tmp_path / "bench.png"
    status = normrnn_main(["bench", "--quick", "--no-torch", "--peers", "none", "--json", str(out_json),
                         "--plot", str(out_png)])
    assert status == 0
    text = capsys.readouterr().out
    for heading in ("Machine", "One training step", "Documents in parallel", "Where the time goes",
                    "Memory", "Scaling", "Targets"):
        assert heading in text
    results = json.loads(out_json.read_text())
    assert results["config"]["hidden_size"] == 5
    assert {t["threshold"] for t in results["targets"]} == set(bench.TARGETS.values())
    assert results["scaling"]["hidden_size"]["values"] == [4, 8]
    assert set(results["phases"]) == {"float64", "float32"}
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_command_json_to_stdout(monkeypatch, capsys):
    monkeypatch.setattr(report, "QUICK", TINY_CONFIG)
    assert normrnn_main(["bench", "--quick", "--no-torch", "--peers", "none", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["scaling"] is None
    keys = [(t["key"], t["beyond"]) for t in results["targets"]]
    # the performance goals (the peers and the share of the gemm peak: one row each,
    # not measured), then the one-document PyTorch version (positions batched) held
    # to the same bar
    assert keys == [("numpy", False), ("torch", False), ("float32", False), ("threads", False),
                    ("peers", False), ("peak", False), ("torch", True)]
    assert results["peers"] is None                              # --peers none
    # without torch the PyTorch targets are not measured, nor without peers the lead
    # over them or normrnn's batch rate: neither met nor failed
    for target in results["targets"]:
        if target["key"] in ("torch", "peers", "peak"):
            assert target["met"] is None and target["value"] is None
        else:
            assert target["met"] in (True, False) and target["value"] > 0


def test_gain_benchmark_times_both_settings():
    results = bench.gain_benchmark(**TINY, documents=3, rounds=1, min_seconds=0.0,
                                   dtypes=(np.float64,))
    row = results["float64"]
    for part in ("step", "batch"):
        assert row[part]["fixed"] > 0 and row[part]["learned"] > 0
        assert row[part]["ratio"] == pytest.approx(row[part]["learned"] / row[part]["fixed"])
    text = " ".join(report._gain_lines(results))
    assert f"({row['step']['ratio']:.2f}x)" in text and f"({row['batch']['ratio']:.2f}x)" in text


#: A child running ``normrnn bench --quick`` on tiny sizes, whose memory part
#: (a training run of many steps in a process of its own) lasts until interrupted.
_INTERRUPTIBLE = """
import sys
from normrnn.bench import report
from normrnn.cli import main
from test_bench import TINY_CONFIG
report.QUICK = dict(TINY_CONFIG, train_steps=10 ** 8)
sys.exit(main(["bench", "--quick", "--no-torch", "--peers", "none"]))
"""


def test_ctrl_c_prints_what_was_measured(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).resolve().parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(tests.parent), str(tests), os.environ.get("PYTHONPATH", "")]))
    # a session of its own, so that a failure kills the bench's measuring
    # child too (train_steps=10**8 would otherwise keep it running for hours)
    child = subprocess.Popen([sys.executable, "-c", _INTERRUPTIBLE], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
                             start_new_session=True)
    try:
        said = []
        for line in child.stderr:                       # until the memory part starts
            said.append(line)
            if "memory ..." in line:
                break
        assert "expected to take about" in said[0], said
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:                      # the whole group has ended
            pass
        child.wait()
    assert child.returncode == 130, (child.returncode, err)
    assert "Traceback" not in err, err
    assert "interrupted during the memory part" in err
    # the tables measured before Ctrl-C, each printed when measured; the machine after
    for heading in ("One training step", "Documents in parallel", "Gain fixed", "Machine"):
        assert heading in out, out
    assert "Memory" not in out and "Targets" not in out


def test_command_reports_its_expected_duration_and_each_part(monkeypatch, capsys):
    monkeypatch.setattr(report, "QUICK", TINY_CONFIG)
    assert normrnn_main(["bench", "--quick", "--no-torch", "--peers", "none"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("normrnn bench: expected to take about ")
    parts = [line for line in err if line.startswith("normrnn bench [")]
    # step, threads, gain, phases and memory: the peers and scaling are left out
    assert len(parts) == 5 and all(" of about " in line for line in parts), err
    assert err[-1].startswith("normrnn bench: finished in ")


def test_columns_align_however_long_a_cell():
    rows = [["implementation", "1 thread", "2 threads"],
            ["a label longer than any other", "not installed", "not installed"],
            ["x", "1,234,567 B=128", "-"]]
    lines = report.align_columns(rows)
    # right-aligned columns: each cell ends where the same column ends on every line,
    # and two spaces at least separate neighbouring cells
    first, second = len(rows[1][0]), len(rows[1][0]) + 2 + len("1,234,567 B=128")
    for line, row in zip(lines, rows, strict=True):
        assert len(line) == len(lines[0]), lines
        assert line[:first].rstrip() == row[0] and line[first:first + 2] == "  ", lines
        assert line[:second].endswith(row[1]) and line[second:second + 2] == "  ", lines
        assert line.endswith(row[2])
    assert "not installed  not installed" in lines[1]


def test_target_marks_and_values_align():
    targets = [{"met": None, "value": None, "threshold": 13.0, "target": "a", "beyond": False},
               {"met": True, "value": 17.674, "threshold": 5.0, "target": "b", "beyond": False},
               {"met": False, "value": 1.5, "threshold": 1.7, "target": "c", "beyond": False}]
    lines = [line for line in report._target_lines(targets) if "(>=" in line]
    assert len(lines) == 3
    assert len({line.index("(>=") for line in lines}) == 1, lines
    assert len({line.index("x (>=") for line in lines if "x (>=" in line}) == 1, lines


def test_share_of_the_gemm_peak_counts_the_flops_normrnn_does():
    # documents of T = 10, m = 2, V = 10, H = 20: 2 H^2 (9 + 8) step products,
    # 6 V H 8 loss products and 2 H^2 9 parameter sums, 13600 + 9600 + 7200 =
    # 30400 FLOPs, 3040 a token: at 1000 tokens/s, 3.04 MFLOP/s, 30.4% of a
    # 0.01 GFLOP/s peak
    peers = {"batch_sizes": [16], "threads": [1, 2], "peers": ["normrnn"],
             "float64": {k: {"other_load": None, "rows": {"normrnn": {
                 "status": "ok", "best_tokens_per_s": 1000.0 * k, "best_batch": 16}}}
                 for k in (1, 2)}}
    step = {"float64": {"peak_gflops": 0.01}}
    [share] = bench.peak_shares(peers, step, 10, 20, 10, 2)
    assert share["dtype"] == "float64" and share["value"] == pytest.approx(0.304)
    assert share["gflops"] == pytest.approx(0.00304)
    config = {"vocab_size": 10, "hidden_size": 20, "length": 10, "title_length": 2}
    [target] = [t for t in report.check_targets({"step": step, "peers": peers, "config": config})
                if t["key"] == "peak"]
    assert target["value"] == pytest.approx(0.304) and target["met"] is False
    assert report._value(target) == "30.4%" and report._threshold(target) == "85%"
    lines = report._peer_lines(peers, dict(config, peer_rounds=1), step)
    [row] = [line for line in lines if "share of gemm peak" in line]
    assert row.split()[-2:] == ["30%", "-"]          # one thread only: the peak is one core's
    assert "3,040 FLOPs a token" in " ".join(" ".join(lines).split())


def test_the_flops_done_count_each_kind_at_its_own_positions():
    V, H = 3, 5
    # one token: no step, no delta; its one position scored unless it is the title
    assert bench.flops_done(V, H, 1, 0) == {"step products": 0, "loss products": 6 * V * H,
                                            "parameter sums": 0}
    assert sum(bench.flops_done(V, H, 1, 1).values()) == 0
    # two tokens: one step forward, no product backward (delta_0 starts from E^T dz_1)
    assert bench.flops_done(V, H, 2, 1) == {"step products": 2 * H * H,
                                            "loss products": 6 * V * H,
                                            "parameter sums": 2 * H * H}
    # the default document: 3 % under 6 H^2 + 6 V H a token
    per_token = bench.flops_done_per_token(96, 128, 256, 16)
    assert per_token == 166912
    assert per_token / (6 * 128 ** 2 + 6 * 96 * 128) == pytest.approx(0.9702, abs=1e-4)


def test_the_peers_lead_says_which_peers_it_covers():
    def ok(rate):
        return {"status": "ok", "best_tokens_per_s": rate, "best_batch": 16}
    peers = {"batch_sizes": [16], "threads": [1],
             "peers": ["normrnn", "torch_eager", "torch_compile", "jax", "bridge"],
             "float64": {1: {"other_load": None, "rows": {
                 "normrnn": ok(200.0), "jax": ok(100.0), "torch_eager": ok(80.0),
                 "bridge": ok(150.0),
                 "torch_compile": {"status": "left out", "reason": "left out by --quick"}}}}}
    [lead] = [t for t in report.check_targets({"step": {}, "peers": peers})
              if t["key"] == "peers"]
    assert lead["value"] == 2.0
    # the bridge, faster here, is not a peer: the lead is over the strong peers only
    assert lead["target"].endswith("normrnn / best strong peer (JAX jit, lax.scan) among "
                                   "eager, JAX; not timed: compile"), lead["target"]


def test_vector_level_follows_the_kernels_test():
    from normrnn.bench.machine import vector_level

    v4 = {"avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512cd", "avx2", "fma", "bmi1",
          "bmi2", "avx512_fp16"}
    assert vector_level(v4) == ("x86-64-v4 (AVX-512)", sorted(v4 - {"avx2", "fma", "bmi1",
                                                                       "bmi2"}))
    assert vector_level(v4 - {"avx512vl"})[0] == "x86-64-v3 (AVX2)"    # AVX-512 F alone
    assert vector_level({"sse2"}) == ("baseline", [])


def test_cpu_info_reads_the_first_processor(tmp_path):
    from normrnn.bench.machine import cpu_info

    path = tmp_path / "cpuinfo"
    path.write_text("processor\t: 0\ncpu family\t: 6\nmodel\t\t: 207\n"
                    "model name\t: Some Xeon\nflags\t\t: fpu avx2 fma\n\n"
                    "processor\t: 1\nmodel name\t: Another\n")
    assert cpu_info(str(path)) == {"name": "Some Xeon", "family": "6", "model": "207",
                                   "flags": {"fpu", "avx2", "fma"}}


def test_the_report_names_the_cpu_and_the_kernels():
    machine = bench.machine_info()
    lines = "\n".join(report.format_part({"config": {}, "machine": machine}, "machine"))
    assert f"vector level {machine['vector_level']}" in lines
    assert "normrnn's kernels: matvec.h and rows_matmul.h" in lines


def test_the_report_says_when_a_variable_holds_the_kernels_below_the_cpu(monkeypatch):
    # as under NORMRNN_MAX_LEVEL=v3 on an AVX-512 CPU: the kernels run the v3 clones
    from normrnn import kernel_choice
    from normrnn.bench import machine as machine_module
    runs = dict(kernel_choice.available(), cpu_level=3, vector_level="x86-64-v3 (AVX2, FMA)")
    monkeypatch.setattr(kernel_choice, "available", lambda: runs)
    monkeypatch.setenv("NORMRNN_MAX_LEVEL", "v3")
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    kernels = machine_module.kernels_run("x86-64-v4 (AVX-512)")
    if not kernels["clones"].startswith("matvec.h and rows_matmul.h: the x86-64-v3 clones"):
        pytest.skip("a build for one -march: no clones to choose")
    assert "(NORMRNN_MAX_LEVEL='v3'; the CPU runs x86-64-v4 (AVX-512))" in kernels["clones"]
    machine = dict(bench.machine_info(), kernels=kernels)
    assert machine["environment"]["NORMRNN_MAX_LEVEL"] == "v3"
    lines = " ".join(" ".join(report.format_part({"config": {}, "machine": machine},
                                                 "machine")).split())
    assert "NORMRNN_MAX_LEVEL=v3" in lines and "ATEN_CPU_CAPABILITY=avx2" in lines
    assert "compare: env -u NORMRNN_MAX_LEVEL -u ATEN_CPU_CAPABILITY normrnn bench" in lines


def test_the_report_says_which_blocks_the_loss_runs_in():
    normrnn.NormRNN(11, 6, seed=0).batch_loss_and_grads([([1, 2, 3], 0)])
    machine = bench.machine_info()
    lines = " ".join(" ".join(report.format_part({"config": {}, "machine": machine},
                                                 "machine")).split())
    records = machine["kernels"]["choices"]["loss_choices"]
    record = next(c for c in records if (c["H"], c["V"]) == (6, 11))
    assert f"the loss's blocks: {record['loss']} for " in lines
    assert f"({record['why']})" in lines
    assert record["why"].startswith("BLAS: ")


def test_the_loss_choices_are_said_once_per_reason():
    common = {"forced": None, "times_us": {}, "loss": "loss-blocks64", "why": "BLAS: SkylakeX"}
    records = [dict(common, dtype="float64", H=H, V=96) for H in (32, 64, 128)]
    records.append({"dtype": "float32", "H": 8, "V": 5, "forced": None, "loss": "loss-whole",
                    "why": "the faster (NORMRNN_KERNEL=fastest)",
                    "times_us": {"loss-blocks64": 12.0, "loss-whole": 10.0}})
    assert report._loss_groups(records) == [
        "loss-blocks64 for 3 (dtype, H, V) (BLAS: SkylakeX)",
        "loss-whole for float32 H=8 V=5 (the faster (NORMRNN_KERNEL=fastest); "
        "loss-blocks64 12 us; loss-whole 10 us)"]


def test_the_bench_library_neither_prints_nor_imports_the_command_line():
    import ast
    from pathlib import Path

    for path in Path(bench.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith(("cli", "normrnn.cli")), path
                assert not (node.level == 2 and node.module is None
                            and any(a.name == "cli" for a in node.names)), path
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "print", (path, node.lineno)


def test_phase_benchmark_times_every_phase_and_counts_each_products_flops():
    results = bench.phase_benchmark(**TINY, batch_size=3, rounds=3, min_seconds=0.0,
                                    dtypes=(np.float64, np.float32))
    per_document = bench.flops_done(**TINY)
    for dtype in ("float64", "float32"):
        part = results[dtype]
        assert part["batch_size"] == 3
        assert list(part["phases"]) == list(bench.PHASES)
        assert all(s > 0 for s in part["phases"].values()), part
        assert part["seconds"] == pytest.approx(sum(part["phases"].values()), rel=1e-12)
        assert part["flops"] == {k: 3 * v for k, v in per_document.items()}
    text = "\n".join(report.format_part({"config": TINY_CONFIG, "phases": results,
                                         "step": {"float64": {"peak_gflops": 1.0}}}, "phases"))
    assert "B=3 documents of T=12" in text
    for name in bench.PHASES:
        assert name in text
    assert "at most" in text and "in float64" in text and "in float32" not in text
    assert "85% of the peak, with the rest as measured, would need every product at" in (
        " ".join(text.split()))


def test_the_timed_pass_is_the_models_own_batch_pass():
    model = bench.experiments.model(7, 5, np.float32, seed=2)
    docs = [(bench.experiments.document(7, T, seed=T), 1) for T in (9, 12, 4)]
    loss, grads, seconds = bench.phases.timed_pass(model, docs)
    want_loss, want = model.batch_loss_and_grads(docs)
    assert loss == want_loss
    for name, g in want.items():
        np.testing.assert_array_equal(getattr(grads, name), g, err_msg=name)
    assert seconds.shape == (len(bench.PHASES),) and np.all(seconds > 0)


def test_the_phases_of_several_workers_add_up():
    from normrnn.batching import run_batch

    model = bench.experiments.model(7, 5, np.float64, seed=4)
    docs = [(bench.experiments.document(7, T, seed=T), 2) for T in (9, 12, 4, 7)]
    seconds = np.zeros(len(bench.PHASES))
    loss, grads, _ = run_batch(model, docs, None, 2, True, phase_seconds=seconds)
    want_loss, want = model.batch_loss_and_grads(docs, n_threads=2)
    assert loss == want_loss
    for name, g in want.items():
        np.testing.assert_array_equal(getattr(grads, name), g, err_msg=name)
    assert np.all(seconds > 0)


def test_the_phases_plot_stacks_every_phase_of_every_dtype():
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = bench.phase_benchmark(**TINY, batch_size=2, rounds=1, min_seconds=0.0)
    fig, ax = plt.subplots()
    try:
        bench.plot_phases(results, ax, {"float64": {"peak_gflops": 1.0}})
        assert len(ax.patches) == 2 * len(bench.PHASES)       # one segment per phase and dtype
        widths = [p.get_width() for p in ax.patches]
        for i in range(2):                                     # each bar spans the whole call
            assert sum(widths[i * len(bench.PHASES):(i + 1) * len(bench.PHASES)]) == (
                pytest.approx(100))
        assert len(ax.lines) == 1                              # the peak tick: float64 only
        assert [t.get_text() for t in ax.get_legend().get_texts()][:3] == list(
            bench.phases.PRODUCTS)
    finally:
        plt.close(fig)


def test_the_ceiling_puts_every_product_at_the_peak_and_keeps_the_rest():
    # 3 GFLOP of products at a 1 GFLOP/s peak: 3 s; 1 s of other phases
    part = {"flops": {"step products": 1e9, "loss products": 2e9},
            "phases": {"step products": 5.0, "loss products": 7.0, "activation": 0.25,
                       "softmax": 0.5, "other": 0.25}}
    assert bench.peak_ceiling(part, 1.0) == pytest.approx(3 / 4)


def test_the_rate_needed_solves_the_share_for_the_products():
    # 3 s of products at the peak and 1 s of the rest: 60% of the peak leaves
    # 3 / 0.6 - 1 = 4 s for the products, so they need 3 / 4 of the peak
    part = {"flops": {"step products": 1e9, "loss products": 2e9},
            "phases": {"step products": 5.0, "loss products": 7.0, "softmax": 1.0}}
    assert bench.products_rate_needed(part, 1.0, 0.6) == pytest.approx(3 / 4)
    # the ceiling is the share that needs the products at the peak exactly
    ceiling = bench.peak_ceiling(part, 1.0)
    assert bench.products_rate_needed(part, 1.0, ceiling) == pytest.approx(1.0)
    assert bench.products_rate_needed(part, 1.0, 0.9) > 1          # above the ceiling
    # 3 / 0.75 = 4 s in all, 1 s of it the rest; at 3 / 4 s and over, out of reach
    assert bench.products_rate_needed(part, 1.0, 0.75) == pytest.approx(1.0)
    part["phases"]["softmax"] = 4.0
    assert bench.products_rate_needed(part, 1.0, 0.75) == float("inf")
    text = "\n".join(report._phase_lines({"float64": dict(part, seconds=16.0)},
                                         {"float64": {"peak_gflops": 1.0}}))
    assert "would need every product at any speed in float64 (the rest alone takes longer)" in (
        " ".join(text.split()))
    for share in (0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="share must be in"):
            bench.products_rate_needed(part, 1.0, share)
