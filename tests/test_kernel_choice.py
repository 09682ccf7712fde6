"""Every kernel of the step product, and the choice among them (normrnn/kernel_choice.py).

Each variant of ``rows_matmul.h`` and ``matvec.h`` that this CPU runs is
checked against exact sums, within the textbook bound of a sum of ``rows``
products (as tests/test_matvec.py does).  Then the choice itself:

* the kernels of one family (all of x86-64-v3 and v4, which fuse each
  multiply-add and sum in the same order) give the same bits, so timing them
  decides only the speed: a whole batch's loss and gradients are compared
  bit for bit whichever of them runs;
* the others (plain SSE2 without FMA, and BLAS gemm) round otherwise; they
  agree with the default to the tolerance of tests/test_lockstep.py, which
  holds two orders of the same sums to 1e-13 (float64) and 2e-5 (float32).

Kernels this CPU cannot run are skipped with a reason naming the missing
instruction set flag (and the pytest header says which levels run here).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import normrnn
from normrnn import gradcheck, kernel_choice
from normrnn._kernels import lockstep

from helpers import make_model

TOL = {np.float64: 1e-13, np.float32: 2e-5}          # tests/test_lockstep.py's
LEVEL_FLAGS = {4: ("avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512cd"),
               3: ("avx2", "fma", "bmi2")}
VARIANTS = lockstep._variants()
CPU_LEVEL = lockstep._cpu_level()
SIZES = [(1, 1), (2, 3), (3, 8), (5, 17), (7, 27), (11, 33), (13, 64), (25, 100), (4, 128),
         (12, 129), (9, 136)]


def _cpu_flags():
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return set()
    return set(next((line for line in text.splitlines() if line.startswith("flags")),
                    "flags :").split(":", 1)[1].split())


def _skip_unless_runs(name, level):
    """Skip, naming the missing flags, a kernel of a level this CPU does not run."""
    if kernel_choice._runnable(level, CPU_LEVEL):
        return
    missing = [flag for flag in LEVEL_FLAGS.get(level, ()) if flag not in _cpu_flags()]
    if not missing and kernel_choice.level_limit():
        pytest.skip(f"{name} needs x86-64-v{level}; {kernel_choice.LEVEL_VARIABLE}="
                    f"{kernel_choice.level_limit()} keeps the kernels below it in this run")
    pytest.skip(f"{name} needs x86-64-v{level}; this CPU lacks "
                f"{', '.join(missing) or 'it'}, so this kernel is not tested here")


def _case(rows, H, dtype, seed):
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((H, H)).astype(dtype)
    x = rng.standard_normal((rows, H)).astype(dtype)
    y = rng.standard_normal((rows, H)).astype(dtype)
    return m, x, y


def _check_product(m, x, y, rows_variant, matvec_variant):
    """y + x m through the variant, within rows * eps * sum |x m| + eps |y| of exact."""
    m64, x64, y64 = (a.astype(np.float64) for a in (m, x, y))
    eps = np.finfo(m.dtype).eps
    bound = m.shape[0] * eps * (np.abs(x64) @ np.abs(m64)) + eps * np.abs(y64)
    out = y.copy()
    lockstep._product(m, x, out, rows_variant, matvec_variant)
    assert np.all(np.abs(out - (y64 + x64 @ m64)) <= bound + np.finfo(m.dtype).tiny)
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("index", range(len(VARIANTS["rows"])),
                         ids=[name for name, _ in VARIANTS["rows"]])
def test_every_rows_kernel_against_exact_sums(index, dtype):
    name, level = VARIANTS["rows"][index]
    _skip_unless_runs(name, level)
    for seed, (rows, H) in enumerate(SIZES):
        _check_product(*_case(max(rows, 2), H, dtype, seed), index, 0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("index", range(len(VARIANTS["matvec"])),
                         ids=[name for name, _ in VARIANTS["matvec"]])
def test_every_matvec_kernel_against_exact_sums(index, dtype):
    name, level = VARIANTS["matvec"][index]
    _skip_unless_runs(name, level)
    for seed, (_, H) in enumerate(SIZES + [(1, 257), (1, 300)]):
        _check_product(*_case(1, H, dtype, seed), 0, index)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gemm_step_against_exact_sums(dtype):
    for seed, (rows, H) in enumerate(SIZES):
        _check_product(*_case(max(rows, 2), H, dtype, seed), -1, 0)


def _family(kind):
    """The indices of the kernels of ``kind`` that round as the default does here."""
    return [i for i, (_, level) in enumerate(VARIANTS[kind])
            if kernel_choice._runnable(level, CPU_LEVEL)
            and kernel_choice._same_bits(level, CPU_LEVEL)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_family_gives_the_same_bits(dtype):
    family = _family("rows")
    if len(family) < 2:
        pytest.skip("this CPU runs one kernel of its family only")
    for seed, (rows, H) in enumerate(SIZES):
        m, x, y = _case(rows, H, dtype, seed)
        outs = [_check_product(m, x, y, i, j) for i in family for j in _family("matvec")]
        for out in outs[1:]:
            np.testing.assert_array_equal(out, outs[0])
        # a document alone (matvec.h) gets the bits it gets in a group (rows_matmul.h)
        alone = _check_product(m, x[:1], y[:1], family[0], _family("matvec")[0])
        np.testing.assert_array_equal(alone, outs[0][:1])


# --- the choice ------------------------------------------------------------------

def _batch(dtype):
    model = make_model(11, 27, seed=0, dtype=dtype)
    rng = np.random.default_rng(1)
    docs = [(rng.integers(0, 11, T), int(rng.integers(0, T + 1)))
            for T in (30, 17, 17, 9, 5, 3, 2, 1, 12, 30, 8, 8, 8, 4)]
    return model, docs


def _forced_run(monkeypatch, dtype, value):
    monkeypatch.setenv(kernel_choice.ENVIRONMENT_VARIABLE, value)
    model, docs = _batch(dtype)
    return model.batch_loss_and_grads(docs, n_threads=1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_choice_never_changes_the_results_beyond_the_tolerance(monkeypatch, dtype):
    runs = kernel_choice.available()
    default = _forced_run(monkeypatch, dtype, "auto")
    names = {kind: [VARIANTS[kind][i][0] for i in _family(kind)] for kind in ("rows", "matvec")}
    for rows in runs["rows"]:
        for matvec in ([names["matvec"][-1]] if rows in names["rows"] else [runs["matvec"][-1]]):
            loss, grads = _forced_run(monkeypatch, dtype, f"{rows},{matvec}")
            if rows in names["rows"]:                       # the same family: the same bits
                assert loss == default[0], rows
                for name, g in grads.items():
                    np.testing.assert_array_equal(g, getattr(default[1], name), err_msg=rows)
            else:
                assert loss == pytest.approx(default[0], rel=TOL[dtype]), rows
                for name, g in grads.items():
                    assert gradcheck.relative_error(g, getattr(default[1], name)) < TOL[dtype]


def test_a_forced_choice_is_kept_and_reported(monkeypatch):
    rows, matvec = kernel_choice.available()["rows"][-2], kernel_choice.available()["matvec"][-1]
    _forced_run(monkeypatch, np.float64, f" {rows} , {matvec} ")
    record = next(r for r in normrnn.kernel_choices()["choices"]
                  if r["forced"] == f"{rows},{matvec}" and r["H"] == 27)
    assert (record["rows"], record["matvec"], record["times_us"]) == (rows, matvec, {})
    assert normrnn.kernel_choices()["setting"] == f"{rows},{matvec}"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_document_runs_the_chosen_matvec_kernel(monkeypatch, dtype):
    # loss_and_grads (bptt_gathered) steps with the matvec kernel chosen for a
    # batch of one, and gets the bits a lockstep batch of that document gets
    model, docs = _batch(dtype)
    tokens, m = docs[0]
    for matvec in kernel_choice.available()["matvec"]:
        monkeypatch.setenv(kernel_choice.ENVIRONMENT_VARIABLE, matvec)
        alone = model.loss_and_grads(tokens, m)
        batch = model.batch_loss_and_grads([(tokens, m)], n_threads=1)
        assert alone[0] == batch[0], matvec
        for name, g in alone[1].items():
            np.testing.assert_array_equal(g, getattr(batch[1], name), err_msg=matvec)
    monkeypatch.setenv(kernel_choice.ENVIRONMENT_VARIABLE, "auto")
    model.loss_and_grads(tokens, m)
    record = next(r for r in normrnn.kernel_choices()["choices"]
                  if (r["dtype"], r["H"], r["B"], r["forced"]) == (np.dtype(dtype).name, 27, 1,
                                                                    None))
    family = [VARIANTS["matvec"][i][0] for i in _family("matvec")]
    assert record["matvec"] == min(family, key=record["times_us"].__getitem__)


def test_measured_choice_is_the_fastest_of_the_family_and_plain_data(monkeypatch):
    monkeypatch.setenv(kernel_choice.ENVIRONMENT_VARIABLE, "auto")
    kernel_choice.choose(np.float32, 40, 5)          # B = 5 is timed at 8 rows
    choices = normrnn.kernel_choices()
    json.dumps(choices)                              # plain data, ready for a report
    record = next(r for r in choices["choices"] if (r["H"], r["B"], r["forced"]) == (40, 8, None))
    family = [VARIANTS["rows"][i][0] for i in _family("rows")]
    assert record["rows"] == min(family, key=record["times_us"].__getitem__)
    assert record["times_us"]["gemm"] > 0
    family += [VARIANTS["matvec"][i][0] for i in _family("matvec")]
    assert set(record["times_us"]) == set(family + ["gemm"])
    assert choices["available"]["cpu_level"] == CPU_LEVEL


def test_fastest_times_every_kernel_and_keeps_the_fastest(monkeypatch):
    monkeypatch.setenv(kernel_choice.ENVIRONMENT_VARIABLE, "fastest")
    kernel_choice.choose(np.float64, 19, 3)
    choices = normrnn.kernel_choices()
    assert choices["setting"] == "fastest"
    record = next(r for r in choices["choices"] if (r["H"], r["B"]) == (19, 4))
    runs = choices["available"]
    assert set(record["times_us"]) == set(runs["rows"] + runs["matvec"])
    for kind in ("rows", "matvec"):
        assert record[kind] == min(runs[kind], key=record["times_us"].__getitem__)


@pytest.mark.parametrize("value", ["v9-rows1x1", "auto,gemm", "gemm,gemm"])
def test_a_bad_setting_names_the_variable(monkeypatch, value):
    monkeypatch.setenv(kernel_choice.ENVIRONMENT_VARIABLE, value)
    with pytest.raises(ValueError, match="NORMRNN_KERNEL="):
        normrnn.kernel_choices()
    model, docs = _batch(np.float64)
    with pytest.raises(ValueError, match="NORMRNN_KERNEL="):
        model.batch_loss_and_grads(docs[:3])


def test_the_cpu_level_matches_its_flags():
    flags = _cpu_flags()
    if not flags or CPU_LEVEL == 0:
        pytest.skip("no /proc/cpuinfo flags, or a build for one -march")
    level = 4 if all(flag in flags for flag in LEVEL_FLAGS[4] + LEVEL_FLAGS[3]) else (
        3 if all(flag in flags for flag in LEVEL_FLAGS[3]) else 1)
    limit = kernel_choice.level_limit()                   # a run under NORMRNN_MAX_LEVEL
    assert CPU_LEVEL == min(level, int(limit[1:]) if limit else 4)


def _batch_results():
    """Loss and gradients of :func:`_batch` in both dtypes, every number as a float."""
    out = {}
    for dtype in (np.float64, np.float32):
        model, docs = _batch(dtype)
        loss, grads = model.batch_loss_and_grads(docs, n_threads=1)
        out[np.dtype(dtype).name] = [float(loss)] + [np.asarray(g).astype(float).ravel().tolist()
                                                     for _, g in grads.items()]
    return out


# A child process under NORMRNN_MAX_LEVEL (read once, when the kernels first
# run): the level of each kernel module, and one batch's loss and gradients.
_LEVEL_CHILD = """
import json, sys
sys.path.insert(0, {tests!r})
from normrnn import kernel_choice
from normrnn._kernels import lockstep, pointwise_probe
from test_kernel_choice import _batch_results
print(json.dumps(dict(_batch_results(), available=kernel_choice.available(),
                      levels=[lockstep._cpu_level(), pointwise_probe.cpu_level()])))
"""


def _run_at_level(limit):
    env = dict(os.environ, **{kernel_choice.LEVEL_VARIABLE: limit})
    env.pop(kernel_choice.ENVIRONMENT_VARIABLE, None)
    code = _LEVEL_CHILD.format(tests=os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.skipif(CPU_LEVEL == 0, reason="a build for one -march has no levels to limit")
def test_a_lower_level_limit_runs_its_kernels_with_the_same_bits_from_v3_up(monkeypatch):
    monkeypatch.delenv(kernel_choice.ENVIRONMENT_VARIABLE, raising=False)
    if kernel_choice.level_limit():
        pytest.skip("this run is itself under NORMRNN_MAX_LEVEL")
    here = _batch_results()
    for limit, level in (("v3", 3), ("v1", 1)):
        child = _run_at_level(limit)
        expected = min(CPU_LEVEL, level)
        assert child["levels"] == [expected, expected]      # the step kernels and pointwise.h
        runs = child["available"]
        assert runs["cpu_level"] == expected
        assert all(name == kernel_choice.GEMM or int(name[1]) <= expected
                   for name in runs["rows"] + runs["matvec"]), runs
        for dtype in ("float64", "float32"):
            if (expected >= 3) == (CPU_LEVEL >= 3):
                # v3 and v4 fuse every multiply-add and sum in one order; pointwise.h
                # gives the same bits on every level: nothing may change
                assert child[dtype] == here[dtype], (limit, dtype)
            else:
                tol = TOL[np.float64 if dtype == "float64" else np.float32]
                for ours, theirs in zip(child[dtype], here[dtype]):
                    np.testing.assert_allclose(theirs, ours, rtol=tol, atol=tol)
    # a limit of v4, or none, is this CPU's own level
    assert _run_at_level("v4")["levels"] == [CPU_LEVEL, CPU_LEVEL]


@pytest.mark.parametrize("value", ["v2", "avx2", "V3", " v3"])
def test_a_bad_level_limit_names_the_variable(monkeypatch, value):
    monkeypatch.setenv(kernel_choice.LEVEL_VARIABLE, value)
    with pytest.raises(kernel_choice.KernelSettingError, match="NORMRNN_MAX_LEVEL="):
        kernel_choice.level_limit()
    model, docs = _batch(np.float64)
    with pytest.raises(ValueError, match="NORMRNN_MAX_LEVEL="):
        normrnn.kernel_choices()
    kernel_choice._chosen.clear()                          # the first use of a new (dtype, H)
    with pytest.raises(ValueError, match="NORMRNN_MAX_LEVEL="):
        model.batch_loss_and_grads(docs[:3])


def test_a_cpu_without_avx512_says_so(monkeypatch):
    # what a run on an AVX2-only CPU prints: a skip naming the missing flags,
    # and a header line (simulated here by pretending this CPU is such a one)
    import conftest
    monkeypatch.delenv(kernel_choice.LEVEL_VARIABLE, raising=False)
    this = sys.modules[__name__]
    monkeypatch.setattr(this, "CPU_LEVEL", 3)
    monkeypatch.setattr(this, "_cpu_flags", lambda: {"avx2", "fma", "bmi2"})
    with pytest.raises(pytest.skip.Exception, match="lacks avx512f, avx512vl"):
        _skip_unless_runs("v4-rows8x3", 4)
    runs = dict(kernel_choice.available(), cpu_level=3, vector_level="x86-64-v3 (AVX2, FMA)")
    monkeypatch.setattr(kernel_choice, "available", lambda: runs)
    header = conftest.pytest_report_header(None)
    assert any("lacks AVX-512" in line and "NOT tested" in line for line in header)
    # the same level under NORMRNN_MAX_LEVEL: the header names the variable, not the CPU
    monkeypatch.setenv(kernel_choice.LEVEL_VARIABLE, "v3")
    header = conftest.pytest_report_header(None)
    assert any("NORMRNN_MAX_LEVEL=v3 keeps them at x86-64-v3" in line and "NOT tested" in line
               for line in header)
    assert not any("lacks" in line for line in header)


def test_the_command_line_reports_a_bad_setting_in_one_line(monkeypatch, tmp_path, capsys):
    from normrnn import cli
    for i in range(6):
        (tmp_path / f"d{i}.txt").write_text(f"Title {i}\nsome words of document {i} to read.\n")
    monkeypatch.setenv(kernel_choice.ENVIRONMENT_VARIABLE, "bogus")
    status = cli.main(["train", str(tmp_path), "--out", str(tmp_path / "m.npz"),
                       "--max-steps", "1", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert status == 1 and len(err.splitlines()) == 1
    assert err.startswith("normrnn: error: NORMRNN_KERNEL='bogus'")
