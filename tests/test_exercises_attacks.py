"""The grader under attack: learner code that forges, patches, leaves processes
behind, floods, blows up, or moves the working folder changes only its own
grade, and the grader never blames a solution for its own failure."""

import inspect
import json
import os
import subprocess
import sys
import time

from exercise_solutions import SOLUTIONS

from normrnn import cli
from normrnn.exercises import EXERCISES, sandbox
from normrnn.exercises.folder import check_folder
from normrnn.exercises.isolated import grade_file, package_answers


def write(folder, name, body):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text("import numpy as np\n\n\n" + body)


def solve(folder, name):
    write(folder, name, inspect.getsource(SOLUTIONS[name]))


def run(capsys, *argv):
    status = cli.main(["exercise", *map(str, argv)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def alive(word):
    """The pids of processes whose command line holds ``word``."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if word.encode() in handle.read().replace(b"\0", b" "):
                    found.append(int(entry))
        except (OSError, ValueError):
            pass
    return found


# --- a verdict the learner's code cannot reach ----------------------------------------

PATCHES = {
    "relative_error": "import normrnn.gradcheck\n"
                      "normrnn.gradcheck.relative_error = lambda *a, **k: 0.0\n",
    "np.allclose and np.abs": "np.allclose = lambda *a, **k: True\nnp.abs = lambda x: 0 * x\n",
    "the grader's modules": "import normrnn.exercises.grading as g, normrnn.exercises.child as c\n"
                            "g.judge = lambda *a, **k: None\nc.decode_array = None\n"
                            "g._relative_error = lambda *a, **k: 0.0\n",
}


def test_patching_the_grader_in_the_child_changes_nothing(tmp_path):
    for i, (what, patch) in enumerate(PATCHES.items()):
        folder = tmp_path / f"student{i}"
        write(folder, "bias", patch + "\n\ndef bias_backward(delta):\n    return 3 * delta\n")
        result = grade_file(folder, "bias")
        assert not result.passed and result.cases_passed == 0, what
        assert result.errors["d_bias"].finite_differences > 1


def test_patching_the_grader_fails_in_the_pytest_file_too(tmp_path):
    folder = tmp_path / "work"
    assert cli.main(["exercise", "start", str(folder)]) == 0
    write(folder, "bias", PATCHES["relative_error"] +
          "\n\ndef bias_backward(delta):\n    return 3 * delta\n")
    solve(folder, "hh")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(folder / "test_exercises.py"), "-k", "test_bias or test_hh"],
                          capture_output=True, text=True, cwd=folder)
    assert "1 failed, 1 passed" in done.stdout, done.stdout
    assert "test_bias" in done.stdout and "FAILED" in done.stdout


def test_a_forged_grade_line_then_exit_fails_and_a_malformed_line_fails_one_exercise(
        tmp_path, capsys):
    forged = json.dumps({"name": "bias", "passed": True, "errors": {}, "diagnosis": "",
                         "message": "", "tolerance": 1e-7})
    write(tmp_path, "bias", "import os\n\n\ndef bias_backward(delta):\n"
          f"    for fd in range(3, 64):\n        try:\n"
          f"            os.write(fd, {(forged + chr(10)).encode()!r})\n"
          "        except OSError:\n            pass\n    os._exit(0)\n")
    write(tmp_path, "hh", "import os\n\n\ndef hh_backward(scaled_hh, state, delta):\n"
          "    for fd in range(3, 64):\n        try:\n"
          "            os.write(fd, b'{not json\\n')\n"
          "        except OSError:\n            pass\n"
          "    return np.outer(delta, state), scaled_hh.T @ delta\n")
    solve(tmp_path, "ih")
    status, out, err = run(capsys, "check", tmp_path, "--json")
    grades = {g["name"]: g for g in json.loads(out)}
    assert status == 1 and "bug" not in err and "Traceback" not in err
    assert not grades["bias"]["passed"] and not grades["hh"]["passed"]
    assert "cannot read" in grades["hh"]["message"]
    assert grades["ih"]["passed"] and grades["ih"]["cases_run"] == 4


# --- leftovers and limits ---------------------------------------------------------------

def test_leftovers_cost_no_time_and_are_ended(tmp_path, capsys):
    write(tmp_path, "bias", "import subprocess\n\n\ndef bias_backward(delta):\n"
          "    subprocess.Popen(['sleep', '150.25'])\n"
          "    subprocess.Popen(['sleep', '150.5'], start_new_session=True)\n"
          "    return delta.copy()\n")
    write(tmp_path, "hh", "import threading, time\n\n\ndef hh_backward(scaled_hh, state, delta):\n"
          "    threading.Thread(target=lambda: time.sleep(1000)).start()\n"
          "    return np.outer(delta, state), scaled_hh.T @ delta\n")
    start = time.monotonic()
    status, out, _ = run(capsys, "check", tmp_path, "--json")
    assert time.monotonic() - start < 30
    grades = {g["name"]: g for g in json.loads(out)}
    assert grades["bias"]["passed"] and grades["hh"]["passed"]
    assert alive("sleep 150.25") == [] and alive("sleep 150.5") == []


def test_an_ignored_alarm_and_a_loop_is_stopped_at_its_own_limit(tmp_path):
    write(tmp_path, "bias", "import signal\n\n\ndef bias_backward(delta):\n"
          "    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n    while True:\n        pass\n")
    solve(tmp_path, "hh")
    start = time.monotonic()
    grades = {g.name: g for g in check_folder(tmp_path, ["bias", "hh"], seconds=3)}
    assert time.monotonic() - start < 15
    assert "ran for more than 3 s (the exercise's limit) and was stopped" in grades["bias"].message
    assert grades["hh"].passed


def test_a_fork_bomb_is_stopped_and_every_process_ended(tmp_path):
    write(tmp_path, "bias", "import subprocess\n\n\ndef bias_backward(delta):\n"
          "    for _ in range(200):\n        subprocess.Popen(['sleep', '150.75'])\n"
          "    return delta.copy()\n")
    result = grade_file(tmp_path, "bias")
    assert not result.passed
    assert f"started more than {sandbox.MAX_PROCESSES} processes" in result.message
    assert alive("sleep 150.75") == []
    # an exponential one (bounded at 2^8 processes, to spare the machine if it were not stopped)
    write(tmp_path / "fork", "bias", "import os, time\n\n\ndef bias_backward(delta):\n"
          "    for _ in range(8):\n        os.fork()\n    time.sleep(60)\n    os._exit(0)\n")
    result = grade_file(tmp_path / "fork", "bias")
    assert not result.passed and "processes" in result.message, result.message
    assert alive(str(sandbox._CHILD)) == []


def test_memory_is_a_hard_limit_and_counted_across_processes(tmp_path):
    write(tmp_path, "bias", "import resource\n\n\ndef bias_backward(delta):\n"
          "    soft, hard = resource.getrlimit(resource.RLIMIT_AS)\n"
          "    assert soft == hard != resource.RLIM_INFINITY\n"
          "    assert len(set(resource.getrlimit(resource.RLIMIT_NPROC))) == 1\n"
          "    assert resource.getrlimit(resource.RLIMIT_CORE) == (0, 0)\n"
          "    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))\n"
          "    big = np.ones(100_000_000)\n    return delta.copy()\n")
    result = grade_file(tmp_path, "bias", memory=300 << 20)
    assert not result.passed and "ran out of memory" in result.message, result.message
    # several processes, each under its own limit, are over it together
    hog = "import numpy as np, time; a = np.ones(25_000_000); time.sleep(60)"
    write(tmp_path / "b", "bias", "import subprocess, sys, time\n\n\n"
          "def bias_backward(delta):\n"
          f"    for _ in range(3):\n        subprocess.Popen([sys.executable, '-c', {hog!r}])\n"
          "    time.sleep(30)\n    return delta.copy()\n")
    result = grade_file(tmp_path / "b", "bias", memory=300 << 20)
    assert not result.passed and "held more than" in result.message, result.message


def test_the_learners_output_is_capped_head_and_tail(tmp_path):
    write(tmp_path, "bias", "import sys\n\n\ndef bias_backward(delta):\n"
          "    sys.stderr.write('HEAD' + 'x' * 30_000_000 + 'TAIL')\n"
          "    return delta.copy()\n")
    assert grade_file(tmp_path, "bias").passed
    kept = sandbox._Kept(100)
    for _ in range(1000):
        kept.add(b"0123456789")
    kept.add(b"end")
    text = kept.text()
    assert text.startswith("0123456789") and text.endswith("end") and len(text) < 200
    assert "bytes of output left out" in text


# --- the grader's own failures are not the learner's ---------------------------------------

def test_the_child_runs_the_grading_package_whatever_the_folder_holds(tmp_path):
    fake = tmp_path / "clone"
    (fake / "normrnn" / "exercises").mkdir(parents=True)
    (fake / "normrnn" / "__init__.py").write_text("raise ImportError('the wrong normrnn')\n")
    (fake / "normrnn" / "exercises" / "__init__.py").write_text("")
    write(fake / "work", "bias", "import normrnn\n\n"
          f"assert not normrnn.__file__.startswith({str(fake)!r})\n\n\n"
          + inspect.getsource(SOLUTIONS["bias"]))
    env = {**os.environ, "PYTHONPATH": str(fake)}
    package = os.path.dirname(os.path.dirname(os.path.abspath(sandbox.__file__)))
    done = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, "
                           f"{os.path.dirname(package)!r}); from normrnn.cli import main; "
                           "sys.exit(main(['exercise', 'check', 'work', '--section', 'bias']))"],
                          cwd=fake, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " yes " in done.stdout


def test_a_child_that_cannot_start_is_the_graders_fault(tmp_path, capsys, monkeypatch):
    broken = tmp_path / "child.py"
    broken.write_text("raise ImportError('grader broken')\n")
    monkeypatch.setattr(sandbox, "_CHILD", broken)
    solve(tmp_path, "bias")
    status, out, err = run(capsys, "check", tmp_path)
    assert status == 3 and out == ""
    assert err.count("\n") == 1 and "not of the solutions" in err and "grader broken" in err


def test_a_solution_that_changes_folder_does_not_move_the_others(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "work", "activation", "import os\nos.chdir('/')\n\n\n"
          "def activation_backward(d_state, middle):\n    os.chdir('/')\n"
          "    return d_state * (2 * middle + 1) / (middle**2 + middle + 1) ** 2\n")
    for name in EXERCISES:
        if name != "activation":
            solve(tmp_path / "work", name)
    status, out, _ = run(capsys, "check", "work", "--json")
    assert status == 0, out
    assert all(g["passed"] for g in json.loads(out))


def test_check_refuses_a_negative_seed_in_one_line(tmp_path, capsys):
    status, out, err = run(capsys, "check", tmp_path, "--seed", "-1")
    assert status == 2 and out == ""
    assert err == "normrnn: error: --seed must be a non-negative integer, got -1\n"


def test_a_dict_whose_getitem_raises_fails_in_check_too(tmp_path):
    write(tmp_path, "loss_and_grads", inspect.getsource(SOLUTIONS["loss_and_grads"]).replace(
        "def loss_and_grads(", "def _right(") + "\n\nclass G(dict):\n"
        "    def __getitem__(self, key):\n        return 1 / 0\n\n\n"
        "def loss_and_grads(*args):\n    loss, grads = _right(*args)\n    return loss, G(grads)\n")
    result = grade_file(tmp_path, "loss_and_grads")
    assert not result.passed and "ZeroDivisionError" in result.message


# --- the package's own answers --------------------------------------------------------------

def test_imports_of_the_package_answers_are_flagged_and_can_be_forbidden(tmp_path, capsys):
    write(tmp_path, "bias", "from normrnn.reference import bias_backward  # noqa\n")
    write(tmp_path, "hh", "import helper\n\n\ndef hh_backward(scaled_hh, state, delta):\n"
          "    return helper.answer(scaled_hh, state, delta)\n")
    (tmp_path / "helper.py").write_text(
        "import importlib\n\n\ndef answer(*args):\n"
        "    return importlib.import_module('normrnn.' + 'sections').hh_backward(*args)\n")
    write(tmp_path, "loss_and_grads", "from normrnn import NormRNN  # noqa\n\n\n"
          + inspect.getsource(SOLUTIONS["loss_and_grads"]))
    solve(tmp_path, "ih")
    body = inspect.getsource(SOLUTIONS["activation"])
    write(tmp_path, "activation", "import os\nimport subprocess\n\nimport normrnn as _n\n\n\n"
          + body.replace("    out = np.empty_like(middle)\n",
                         "    open(os.path.join(os.path.dirname(_n.__file__), 'notes.py')).read()\n"
                         "    subprocess.run(['true', 'normrnn', 'exercise', 'solu' + 'tion'])\n"
                         "    out = np.empty_like(middle)\n"))
    status, out, _ = run(capsys, "check", tmp_path, "--json")
    grades = {g["name"]: g for g in json.loads(out)}
    assert grades["activation"]["passed"]
    assert grades["activation"]["flags"] == ["reads normrnn/notes.py",
                                             "runs normrnn exercise solution"]
    assert grades["bias"]["passed"] and grades["bias"]["flags"] == ["imports normrnn.reference"]
    assert "imports normrnn.sections" in grades["hh"]["flags"]      # at run time, via a helper
    assert grades["loss_and_grads"]["flags"] == ["imports normrnn.model"]
    assert grades["ih"]["flags"] == []
    status, out, _ = run(capsys, "check", tmp_path, "--forbid-package-answers")
    rows = {line.split()[0]: line for line in out.splitlines()[2:11]}
    assert " NO " in rows["bias"] and "not allowed" in rows["bias"]
    assert " yes " in rows["ih"]
    assert package_answers(tmp_path, "ih") == []


def test_the_pytest_file_grades_each_folder_alone(tmp_path):
    """One pytest run over two students: a helper module of the same name, a patch of the
    grader and an os._exit in one student change nothing for the other."""
    for student, sign in (("alice", ""), ("bob", "-")):
        folder = tmp_path / "submissions" / student
        assert cli.main(["exercise", "start", str(folder)]) == 0
        write(folder, "hh", "from helper import answer as hh_backward  # noqa\n")
        (folder / "helper.py").write_text(
            "def answer(scaled_hh, state, delta):\n"
            f"    return {sign}(delta[:, None] * state[None, :]), scaled_hh.T @ delta\n")
    write(tmp_path / "submissions" / "alice", "bias", PATCHES["relative_error"]
          + "\n\ndef bias_backward(delta):\n    return 3 * delta\n")
    write(tmp_path / "submissions" / "bob", "bias",
          "import os\n\n\ndef bias_backward(delta):\n    os._exit(3)\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--import-mode=importlib", "submissions", "-k",
                           "test_hh or test_bias"], capture_output=True, text=True, cwd=tmp_path)
    assert "3 failed, 1 passed" in done.stdout, done.stdout
    for failed in ("bob/test_exercises.py::test_hh", "alice/test_exercises.py::test_bias",
                   "bob/test_exercises.py::test_bias"):
        assert failed in done.stdout
    assert "took the grading process down (exit status 3)" in done.stdout


def test_the_table_says_how_many_cases_ran_and_where_an_unknown_mistake_fails(tmp_path, capsys):
    write(tmp_path, "row_normalise", inspect.getsource(SOLUTIONS["row_normalise"]).replace(
        "for i in range(hh.shape[0]):", "for i in range(min(5, hh.shape[0])):").replace(
        "np.empty_like(hh)", "np.zeros_like(hh)"))
    write(tmp_path, "hh", "def hh_backward(scaled_hh, state, delta):\n"
          "    return np.outer(delta, state), scaled_hh.T @ delta + 0.1\n")
    write(tmp_path, "bias", "def bias_backward(delta):\n    return delta.astype(np.float64)\n")
    write(tmp_path, "ih", "def ih_backward(ih, embedded, delta):\n"
          "    raise NotImplementedError('ih_backward: your derivation goes here')\n")
    status, out, _ = run(capsys, "check", tmp_path)
    rows = {line.split()[0]: line for line in out.splitlines()[2:11]}
    assert " 2/4 " in rows["bias"] and "fails for float32" in rows["bias"]
    assert "has dtype float64, expected float32" in rows["bias"]
    assert " 2/4 " in rows["row_normalise"] and "fails for H = " in rows["row_normalise"]
    assert " 0/4 " in rows["hh"]
    assert "no known mistake matches: d_state fails in every case" in rows["hh"]
    assert rows["ih"].split()[1:3] == ["not", "started"]
    assert "(12 cases run)" in out             # a skeleton not started runs no case


def test_uninitialised_rows_fail_in_the_child_too(tmp_path):
    write(tmp_path, "embedding_activation",
          "def embedding_activation_backward(embedding, token, d_embedded):\n"
          "    out = np.empty_like(embedding)\n    x = embedding[token]\n"
          "    out[token] = d_embedded * (2 * x + 1) / (x * x + x + 1) ** 2\n    return out\n")
    result = grade_file(tmp_path, "embedding_activation")
    assert not result.passed and result.cases_passed == 0
    assert "never written" in result.message or "NaN" in result.message, result.message


def test_forged_outcomes_of_every_shape_fail_that_exercise_only(tmp_path):
    from normrnn.exercises.grading import judge
    from normrnn.exercises.cases import make_case
    case = make_case("bias")
    forged = [None, [], {"failure": 3}, {"outputs": {}, "again": {}, "inputs_after": [],
                                         "aliased": []},
              {"outputs": {"d_bias": {"array": {"dtype": "O", "shape": [1], "data": ""}}},
               "again": {}, "inputs_after": [], "aliased": []},
              {"outputs": {"d_bias": {"array": {"dtype": "<f8", "shape": [10 ** 9],
                                                "data": ""}}},
               "again": {"d_bias": {"number": 1.0}}, "inputs_after": [{"int": 1}],
               "aliased": [["x", "y", 1]]}]
    for outcome in forged:
        result = judge("bias", case, case.args64[0].dtype, outcome)
        assert not result.passed and "malformed" in result.message, outcome
    deep = "[" * 100_000 + "]" * 100_000
    write(tmp_path, "bias", "import os\n\n\ndef bias_backward(delta):\n"
          "    for fd in range(3, 64):\n        try:\n"
          f"            os.write(fd, b'{deep}\\n')\n"
          "        except OSError:\n            pass\n    return delta.copy()\n")
    result = grade_file(tmp_path, "bias")
    assert not result.passed and "cannot read" in result.message


def test_check_leaves_the_learners_folder_as_it_was(tmp_path, capsys):
    for name in EXERCISES:
        solve(tmp_path / "work", name)
    (tmp_path / "work" / "helper.py").write_text("SCALE = 1\n")
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "work").rglob("*"))
    status, out, _ = run(capsys, "check", tmp_path / "work", "--json")
    assert status == 0, out
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "work").rglob("*")) == before


def test_a_numerical_derivative_is_named_where_float32_cases_fail_outright(tmp_path):
    # h = 1e-6 in the learner's dtype: float32 cases are far off, float64 ones agree to ~1e-10
    write(tmp_path, "row_normalise", "def row_normalise_backward(hh, d_scaled_hh):\n"
          "    H, h = hh.shape[0], 1e-6\n"
          "    S = lambda w: w / (H * np.linalg.norm(w, axis=1, keepdims=True))\n"
          "    d_hh = np.zeros_like(hh)\n"
          "    for i in range(H):\n"
          "        for j in range(H):\n"
          "            e = np.zeros_like(hh)\n"
          "            e[i, j] = h\n"
          "            d_hh[i, j] = np.sum(d_scaled_hh * (S(hh + e) - S(hh - e))) / (2 * h)\n"
          "    return d_hh\n")
    result = grade_file(tmp_path, "row_normalise")
    assert not result.passed and "numerical derivative" in result.flags
    assert result.summary().startswith("agrees only to ")
    assert "this looks like a numerical derivative, not a derivation" in result.summary()
