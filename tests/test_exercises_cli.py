"""``normrnn exercise``: start, check, solution, and the pytest file it writes."""

import inspect
import json
import subprocess
import sys

import pytest
from exercise_solutions import SOLUTIONS

from normrnn import cli
from normrnn.exercises import EXERCISES
from normrnn.exercises.grading import function_name


def run(capsys, *argv):
    status = cli.main(["exercise", *map(str, argv)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def write(folder, name, body):
    (folder / f"{name}.py").write_text("import numpy as np\n\n\n" + body)


def solve(folder, name):
    write(folder, name, inspect.getsource(SOLUTIONS[name]))


@pytest.fixture
def started(tmp_path, capsys):
    folder = tmp_path / "work"
    status, out, err = run(capsys, "start", folder)
    assert status == 0 and err == ""
    return folder


def test_start_writes_a_skeleton_per_exercise_and_a_test_file(started):
    names = sorted(p.name for p in started.iterdir())
    assert names == sorted([f"{n}.py" for n in EXERCISES] + ["test_exercises.py"])
    text = (started / "hh.py").read_text()
    assert "def hh_backward(scaled_hh, state, delta):" in text
    assert "shape (H, H)" in text and "Hint" in text
    assert "/sections/hh.html'" in text
    assert 'raise NotImplementedError' in text
    assert "bptt.html" in (started / "loss_and_grads.py").read_text()
    assert 'assert_gradient("hh", load_solution(HERE, "hh"))' in (
        started / "test_exercises.py").read_text()


def test_start_takes_the_docs_url(tmp_path, capsys, monkeypatch):
    assert run(capsys, "start", tmp_path / "a", "--docs-url", "https://example.org/normrnn/")[0] == 0
    assert "https://example.org/normrnn/sections/ih.html" in (tmp_path / "a" / "ih.py").read_text()
    monkeypatch.setenv("NORMRNN_DOCS_URL", "file:///srv/docs")
    assert run(capsys, "start", tmp_path / "b")[0] == 0
    assert "file:///srv/docs/sections/ih.html" in (tmp_path / "b" / "ih.py").read_text()


def test_start_refuses_to_overwrite(started, capsys):
    write(started, "hh", "MINE = 1\n")
    status, out, err = run(capsys, "start", started)
    assert status == 2 and out == ""
    assert err.startswith("normrnn: error: ") and err.count("\n") == 1
    assert "never overwrites" in err
    assert (started / "hh.py").read_text().endswith("MINE = 1\n")


def test_start_refuses_even_one_existing_file_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "bias.py").write_text("mine")
    status, _, err = run(capsys, "start", tmp_path)
    assert status == 2 and "bias.py exists" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bias.py"]


def test_start_refuses_a_file_for_a_folder(tmp_path, capsys):
    (tmp_path / "f").write_text("")
    status, _, err = run(capsys, "start", tmp_path / "f")
    assert status == 2 and err == f"normrnn: error: {tmp_path / 'f'} exists and is not a folder\n"


def test_check_of_a_fresh_start_shows_not_started(started, capsys):
    status, out, err = run(capsys, "check", started)
    assert status == 1 and err == ""
    for name in EXERCISES:
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert "not started" in line, line
    assert f"0 of {len(EXERCISES)} passed" in out and "Traceback" not in out


def test_check_grades_and_diagnoses(started, capsys):
    solve(started, "bias")
    write(started, "hh", "def hh_backward(scaled_hh, state, delta):\n"
          "    return np.outer(delta, state), scaled_hh @ delta\n")
    status, out, _ = run(capsys, "check", started)
    assert status == 1
    rows = {line.split()[0]: line for line in out.splitlines()[2:10]}
    assert " yes " in rows["bias"]
    assert " NO " in rows["hh"] and "S delta where S^T delta is due" in rows["hh"]
    assert "not started" in rows["ih"]
    assert f"1 of {len(EXERCISES)} passed" in out
    assert "hh: FAILED" in out and "d_state" in out      # the report of the failure


def test_check_one_section_as_json(started, capsys):
    solve(started, "hh")
    status, out, _ = run(capsys, "check", started, "--section", "hh", "--json")
    assert status == 0
    [result] = json.loads(out)
    assert result["name"] == "hh" and result["passed"] and result["status"] == "passed"
    assert set(result["errors"]) == {"d_scaled_hh", "d_state"}
    assert result["error"] <= result["tolerance"]
    assert result["cases_run"] == result["cases_passed"] == 4        # 2 sizes x 2 dtypes
    assert result["flags"] == [] and result["failed_cases"] == []


def test_check_refuses_bad_arguments(tmp_path, capsys):
    for argv in (["check", tmp_path / "missing"], ["check", tmp_path, "--section", "softmax"],
                 ["solution", "softmax"]):
        status, out, err = run(capsys, *argv)
        assert status == 2 and out == ""
        assert err.startswith("normrnn: error: ") and err.count("\n") == 1, err


def test_check_survives_code_that_kills_its_process(started, capsys):
    write(started, "bias", "import os, signal\n\n\ndef bias_backward(delta):\n"
          "    os.kill(os.getpid(), signal.SIGKILL)\n")
    write(started, "hh", "def hh_backward(scaled_hh, state, delta):\n"
          "    import os\n    os._exit(0)\n")
    solve(started, "ih")
    status, out, _ = run(capsys, "check", started, "--json")
    grades = {g["name"]: g for g in json.loads(out)}
    assert "took the grading process down (killed by signal 9)" in grades["bias"]["message"]
    assert "took the grading process down (exit status 0)" in grades["hh"]["message"]
    assert grades["ih"]["passed"]                 # graded all the same
    assert grades["logits"]["status"] == "not started"


def test_check_turns_a_huge_allocation_into_a_failing_grade(started, capsys):
    # 3.2 GB, more than the 2 GiB a grading process may add: refused, not granted
    write(started, "bias", "def bias_backward(delta):\n"
          "    return np.empty(400_000_000)[:5]\n")
    status, out, _ = run(capsys, "check", started, "--section", "bias", "--json")
    [result] = json.loads(out)
    assert not result["passed"] and "ran out of memory" in result["message"]


def test_check_reports_files_that_do_not_import(started, capsys):
    write(started, "hh", "def hh_backward(:\n")
    write(started, "ih", "raise RuntimeError('at import')\n")
    write(started, "bias", "x = 1\n")
    (started / "logits.py").unlink()
    status, out, _ = run(capsys, "check", started, "--json")
    grades = {g["name"]: g for g in json.loads(out)}
    assert "SyntaxError" in grades["hh"]["message"] and "line 4" in grades["hh"]["message"]
    assert "RuntimeError: at import" in grades["ih"]["message"]
    assert grades["bias"]["message"] == "bias.py defines no function bias_backward"
    assert grades["logits"]["message"] == "not started (no logits.py)"


def test_a_learners_prints_do_not_break_check(started, capsys):
    write(started, "bias", "print('{hello')\n\n\ndef bias_backward(delta):\n"
          "    print('debugging', delta)\n    return delta.copy()\n")
    status, out, _ = run(capsys, "check", started, "--section", "bias", "--json")
    assert status == 0 and json.loads(out)[0]["passed"]


@pytest.mark.parametrize("name", EXERCISES)
def test_solution_prints_the_reference_and_it_passes(name, capsys, tmp_path):
    status, out, err = run(capsys, "solution", name)
    assert status == 0 and err == ""
    assert f"def {function_name(name)}(" in out
    (tmp_path / f"{name}.py").write_text(out)
    assert run(capsys, "check", tmp_path, "--section", name)[0] == 0


def test_the_pytest_file_fails_each_blank_with_not_started(started):
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(started)], capture_output=True, text=True, cwd=started)
    assert done.returncode == 1
    assert f"{len(EXERCISES)} failed" in done.stdout
    assert "NOT STARTED" in done.stdout


def test_walkthrough_start_solve_everything_check(tmp_path, capsys):
    """The whole learner's path: start, fill every exercise correctly, check, pytest."""
    folder = tmp_path / "course"
    assert run(capsys, "start", folder)[0] == 0
    assert run(capsys, "check", folder)[0] == 1
    for name in EXERCISES:
        solve(folder, name)
    status, out, err = run(capsys, "check", folder)
    assert status == 0, out
    assert f"{len(EXERCISES)} of {len(EXERCISES)} passed" in out
    for name in EXERCISES:
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert " yes " in line, line
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(folder)], capture_output=True, text=True, cwd=folder)
    assert done.returncode == 0 and f"{len(EXERCISES)} passed" in done.stdout, done.stdout


def _console_commands(section_title):
    """The ``$ `` lines of the console blocks under ``section_title`` in docs/exercises.rst."""
    import pathlib
    text = (pathlib.Path(__file__).parent.parent / "docs" / "exercises.rst").read_text()
    after_underline = text.split(section_title, 1)[1].split("\n", 2)[2]
    section = after_underline.split("\n---", 1)[0]
    return [line.strip()[2:] for line in section.splitlines() if line.strip().startswith("$ ")]


def _shell(tmp_path):
    import os
    python = sys.executable
    env = {**os.environ, "PATH": os.path.dirname(python) + os.pathsep + os.environ["PATH"]}

    def shell(command):
        command = command.replace("normrnn ", f"{python} -m normrnn ").replace(
            "python -m pytest", f"{python} -m pytest")
        return subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env,
                              capture_output=True, text=True)
    return shell


def test_the_instructor_commands_of_the_docs_work(tmp_path):
    import csv
    import zipfile
    commands = _console_commands("For instructors: grading a class")
    assert [c.split()[:3] for c in commands] == [["normrnn", "exercise", "grade"],
                                                 ["normrnn", "exercise", "autograder"]]
    shell = _shell(tmp_path)
    for student in ("alice", "bob"):
        (tmp_path / "submissions" / student).mkdir(parents=True)
    solve(tmp_path / "submissions" / "alice", "bias")  # alice solves one exercise
    write(tmp_path / "submissions" / "bob", "hh", "def hh_backward(scaled_hh, state, delta):\n"
          "    return np.outer(delta, state), scaled_hh @ delta\n")
    assert shell(commands[0]).returncode == 0
    with open(tmp_path / "results" / "grades.csv", newline="") as f:
        rows = {(r["student"], r["exercise"]): r for r in csv.DictReader(f)}
    assert len(rows) == 2 * len(EXERCISES)
    assert rows["alice", "bias"]["passed"] == "yes"
    assert "S delta where S^T delta is due" in rows["bob", "hh"]["diagnosis"]
    assert shell(commands[1]).returncode == 0
    with zipfile.ZipFile(tmp_path / "autograder.zip") as bundle:
        assert {"setup.sh", "run_autograder"} <= set(bundle.namelist())


def test_the_pytest_commands_of_the_docs_work(tmp_path):
    commands = _console_commands("In pytest: your own folder")
    assert len(commands) == 2
    shell = _shell(tmp_path)
    assert shell(commands[0]).returncode == 0          # start a folder
    solve(tmp_path / "my-bptt", "bias")                 # solve one exercise
    done = shell(commands[1])
    assert done.returncode == 1 and "1 passed" in done.stdout, done.stdout
