"""The Cython track: skeletons, the cached build, and the grades on three axes.

Compiling is slow (Cython, then the C compiler at -O3, several seconds a
file), so every file these tests compile is built once per session, two at a
time, by :func:`built`; the build folder is pytest's cache when it has one (an
unchanged file is then never rebuilt across runs, the content hash sees any
change) and a session folder otherwise.
"""

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from normrnn.exercises.cython import CYTHON, race
from normrnn.exercises.cython.build import CompileFailed, build
from normrnn.exercises.cython.grade import grade_kernel
from normrnn.exercises.cython.race_scan import shared_writes
from normrnn.exercises.cython.templates import NOT_STARTED, skeleton, solution
from normrnn.exercises.folder import (CYTHON_EXERCISES, cython_solution, cython_start_files,
                                      format_cython_progress)

#: Section -> (a line of its solution, the same line made wrong): one wrong kernel each.
WRONG = {
    "logits": ("d_x[j] += d * w[i, j]", "d_x[j] -= d * w[i, j]"),
    "activation": ("delta[j] += d_state[j] * f_grad(middle[j])",
                   "delta[j] += 2 * d_state[j] * f_grad(middle[j])"),
    "bias": ("        d_bias[i] += delta[i]", "        d_bias[i] = delta[i]"),
    "ih": ("d_w[i, j] += d * x[j]", "d_w[j, i] += d * x[j]"),
    "embedding_activation": ("        d_embedding[token, j] += d_embedded[j]",
                             "        d_embedding[0, j] += d_embedded[j]"),
    "hh": ("d_x[j] += d * w[i, j]", "d_x[j] += d * w[j, i]"),
    "row_normalise": ("((d_scaled_hh[i, j] - radial * hh[i, j]) * r)",
                      "((d_scaled_hh[i, j]) * r)"),
    "gain": ("d_gain[i] += <floating> (radial / norm)", "d_gain[i] += <floating> (radial)"),
    "loss_and_grads": ("d_state[:] = d_previous_state", "d_state[:] = 0"),
}

_BODY = f"    {NOT_STARTED}"

#: The hh kernel as a first loop in Cython: untyped arguments, ``range(len(x))``, no nogil.
SLOW_HH = '''
cdef void _hh_backward(scaled_hh, state, delta, d_scaled_hh, d_state):
    """The loops of the notes, as in Python."""
    for i in range(len(delta)):
        for j in range(len(state)):
            d_scaled_hh[i, j] += delta[i] * state[j]
            d_state[j] += delta[i] * scaled_hh[i, j]


def hh_backward(const floating[:, ::1] scaled_hh, const floating[::1] state,
                const floating[::1] delta, floating[:, ::1] d_scaled_hh,
                floating[::1] d_state):
    _hh_backward(scaled_hh, state, delta, d_scaled_hh, d_state)
'''

#: A prange over the documents: every thread adds into every d_scaled_hh[i, j].
RACY = '''    cdef Py_ssize_t i, j, b, t
    for b in prange(delta.shape[0], num_threads=threads):
        for t in range(delta.shape[1]):
            for i in range(d_scaled_hh.shape[0]):
                for j in range(d_scaled_hh.shape[1]):
                    d_scaled_hh[i, j] += delta[b, t, i] * state[b, t, j]'''

#: A buffer per thread, indexed by threadid(), summed in thread order after the prange.
PER_THREAD = '''    cdef Py_ssize_t i, j, b, t, k, H = d_scaled_hh.shape[0]
    cdef floating* work = <floating*> calloc(threads * H * H, sizeof(floating))
    for b in prange(delta.shape[0], num_threads=threads, schedule="static"):
        for t in range(delta.shape[1]):
            for i in range(H):
                for j in range(H):
                    work[threadid() * H * H + i * H + j] += delta[b, t, i] * state[b, t, j]
    for k in range(threads):
        for i in range(H):
            for j in range(H):
                d_scaled_hh[i, j] += work[k * H * H + i * H + j]
    free(work)'''


def _files():
    """Folder name -> {file name: text}: every file the tests grade."""
    files = {"solutions": {f"{n}.pyx": cython_solution(n) for n in CYTHON_EXERCISES}}
    for name, (right, wrong) in WRONG.items():
        text = solution(name)
        assert right in text, (name, right)
        files[f"wrong_{name}"] = {f"{name}.pyx": text.replace(right, wrong, 1)}
    files["racy"] = {"batch_hh.pyx": race.skeleton().replace(_BODY, RACY)}
    files["per_thread"] = {"batch_hh.pyx": race.skeleton().replace(_BODY, PER_THREAD).replace(
        "from cython.parallel cimport prange",
        "from cython.parallel cimport prange, threadid\nfrom libc.stdlib cimport calloc, free")}
    hh = skeleton("hh")
    start = hh.index("cdef void _hh_backward(")
    files["slow"] = {"hh.pyx": hh[:start] + SLOW_HH.lstrip()}
    files["crash"] = {"hh.pyx": hh.replace(_BODY, "    cdef Py_ssize_t i\n"
                                           "    for i in range(1 << 30):\n"
                                           "        d_state[i] += 1")}
    files["bounds"] = {"bias.pyx": "# cython: boundscheck=True\n" + solution("bias")}
    files["broken"] = {"hh.pyx": hh.replace(_BODY, "    cdef Py_ssize_t i = 0\n"
                                            "    d_state[i] += undefined_name")}
    return files


@pytest.fixture(scope="session")
def cache(request, tmp_path_factory):
    """The build folder: pytest's cache if it has one, else a session folder."""
    config_cache = getattr(request.config, "cache", None)
    if config_cache is not None:
        return config_cache.mkdir("normrnn-cython-track")
    return tmp_path_factory.mktemp("cython-track")


@pytest.fixture(scope="session")
def built(cache, tmp_path_factory):
    """Root folder of every test file, each compiled once (two at a time)."""
    root = tmp_path_factory.mktemp("cython-exercises")
    jobs = []
    for folder, files in _files().items():
        (root / folder).mkdir()
        for name, text in files.items():
            (root / folder / name).write_text(text)
            jobs.append((root / folder / name, name == "batch_hh.pyx"))

    def one(job):
        try:
            build(job[0], cache=cache, openmp=job[1])
        except CompileFailed:
            pass

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, jobs))
    return root


# --- skeletons and solutions (no compiling) ------------------------------------------

def test_start_writes_a_typed_skeleton_per_section(tmp_path):
    files = cython_start_files(tmp_path, "https://docs.example")
    assert sorted(p.name for p in files) == sorted(f"{n}.pyx" for n in CYTHON_EXERCISES)
    for name in CYTHON:
        text = files[tmp_path / f"{name}.pyx"]
        assert "noexcept nogil" in text and "const floating[" in text, name
        assert "INOUT" in text and NOT_STARTED in text, name
        assert f"def {CYTHON[name].wrapper}(" in text, name
        page = "bptt" if name == "loss_and_grads" else f"sections/{name}"
        assert f"https://docs.example/{page}.html" in text, name
        assert "Hint:" in text, name


def test_the_solution_is_the_packages_kernel():
    from normrnn.exercises.cython.source import KERNELS, functions
    package = functions((KERNELS / "section_kernels.pyx").read_text())
    for name in ("hh", "logits", "gain"):
        kernel = CYTHON[name].kernel
        assert package[kernel][1] in solution(name)


def test_a_skeleton_is_not_started(tmp_path, cache):
    (tmp_path / "hh.pyx").write_text(skeleton("hh"))
    grade = grade_kernel(tmp_path, "hh", cache=cache)
    assert grade.not_started and not grade.passed
    assert "not started" in grade.row()


def test_shared_writes_in_a_prange_are_found():
    text = race.skeleton().replace(_BODY, RACY)
    (found,) = shared_writes(text)
    assert found[1] == "b" and found[3] == "d_scaled_hh[i, j]"
    assert shared_writes(race.solution()) == []


# --- compiling ------------------------------------------------------------------------

def test_a_compile_error_is_a_grade_with_file_and_line(built, cache):
    folder = built / "broken"
    text = (folder / "hh.pyx").read_text()
    line = text.splitlines().index("    d_state[i] += undefined_name") + 1
    grade = grade_kernel(folder, "hh", cache=cache)
    assert not grade.passed and grade.status == "no compile"
    assert grade.compile_error.startswith(f"{folder / 'hh.pyx'}:{line}: ")
    assert "undefined_name" in grade.compile_error or "not allowed" in grade.compile_error


def test_an_unchanged_file_is_not_rebuilt(built, cache):
    path = built / "solutions" / "bias.pyx"
    assert build(path, cache=cache).rebuilt is False
    changed = path.parent.parent / "changed"
    changed.mkdir(exist_ok=True)
    (changed / "bias.pyx").write_text(path.read_text() + "\n# a comment\n")
    first = build(changed / "bias.pyx", cache=cache)
    assert first.module != build(path, cache=cache).module


# --- correctness ------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(CYTHON))
def test_the_packages_kernel_passes(built, cache, name):
    grade = grade_kernel(built / "solutions", name, cache=cache, timed=False)
    assert grade.passed, grade.report()
    assert grade.correctness.cases_run == grade.correctness.cases_passed >= 4
    assert grade.purity.white, grade.report()


def test_every_exercise_has_a_wrong_kernel():
    assert set(WRONG) == set(CYTHON)


@pytest.mark.parametrize("name", list(WRONG))
def test_a_wrong_kernel_fails(built, cache, name):
    grade = grade_kernel(built / f"wrong_{name}", name, cache=cache, timed=False)
    assert not grade.passed and grade.status == "WRONG", grade.report()
    assert grade.correctness.cases_passed < grade.correctness.cases_run
    assert grade.speed is None and grade.levels == []


def test_an_overwritten_output_is_named(built, cache):
    grade = grade_kernel(built / "wrong_bias", "bias", cache=cache, timed=False)
    assert "d_bias is overwritten (=), not added into (+=)" in grade.correctness.message


def test_a_segfault_is_a_failing_grade(built, cache):
    grade = grade_kernel(built / "crash", "hh", cache=cache, timed=False, seconds=60)
    assert not grade.passed
    assert "segmentation fault" in grade.correctness.message, grade.report()


# --- speed, purity and levels -------------------------------------------------------------

def test_purity_counts_the_python_lines(built, cache):
    folder = built / "slow"
    lines = (folder / "hh.pyx").read_text().splitlines()
    loops = [n for n, line in enumerate(lines, 1) if "range(len(" in line]
    updates = [n for n, line in enumerate(lines, 1) if "+= delta[i]" in line]
    grade = grade_kernel(folder, "hh", cache=cache)
    assert grade.passed, grade.report()
    assert [p.line for p in grade.purity.lines] == sorted(loops + updates)
    assert not grade.purity.nogil and "no Python line" not in grade.levels
    advice = " ".join(grade.advice())
    assert f"line {loops[0]}: `range(len(x))` on an untyped object" in advice
    assert f"line {updates[0]} indexes a Python object" in advice
    assert "nogil" in advice
    assert re.search(r"\d+ Python lines \(l\. \d+", grade.row())


def test_bounds_checking_left_on_by_the_header_is_named(built, cache):
    grade = grade_kernel(built / "bounds", "bias", cache=cache, timed=False)
    assert grade.passed and grade.purity.lines
    assert "boundscheck left on by the `# cython:` header (line 1)" in grade.advice()[0]


def test_a_fast_kernel_reaches_every_level(built, cache):
    grade = grade_kernel(built / "solutions", "hh", cache=cache)
    assert grade.speed.credited, grade.report()
    assert grade.speed.numpy > 0 and grade.speed.normrnn > 0
    assert grade.purity.white
    text = format_cython_progress([grade])
    assert "x NumPy" in text and "x normrnn" in text and "0 Python lines" in text


# --- the race ------------------------------------------------------------------------------

def test_the_race_is_named(built, cache):
    grade = race.grade_race(built / "racy", cache=cache)
    assert not grade.passed
    assert ("two threads write d_scaled_hh[i, j] at once (a race): line "
            in grade.correctness.message)


def test_a_buffer_per_thread_passes_the_race(built, cache):
    grade = race.grade_race(built / "per_thread", cache=cache)
    assert grade.passed, grade.report()


def test_a_prange_over_rows_passes_the_race(built, cache):
    grade = race.grade_race(built / "solutions", cache=cache)
    assert grade.passed, grade.report()
    assert grade.purity.white and grade.levels == ["correct", "no Python line"]


# --- the command line ----------------------------------------------------------------------

def test_the_command_line_reports_a_compile_error_without_a_traceback(built, cache, tmp_path):
    env = {**os.environ, "NORMRNN_CYTHON_CACHE": str(cache)}
    env.pop("NORMRNN_TRACEBACK", None)
    run = subprocess.run([sys.executable, "-m", "normrnn", "exercise", "check", str(built / "broken"),
                          "--section", "hh"], capture_output=True, text=True, env=env)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert re.search(r"hh\.pyx:\d+: ", run.stdout)
    start = subprocess.run([sys.executable, "-m", "normrnn", "exercise", "start", "--cython",
                            str(tmp_path / "new")], capture_output=True, text=True, env=env)
    assert start.returncode == 0 and (tmp_path / "new" / "hh.pyx").is_file()
    shown = subprocess.run([sys.executable, "-m", "normrnn", "exercise", "solution", "--cython",
                            "hh"], capture_output=True, text=True, env=env)
    assert shown.returncode == 0 and "cdef void _hh_backward(" in shown.stdout
