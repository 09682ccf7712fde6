"""``normrnn exercise grade`` and ``autograder``: a class graded safely, in one command."""

import csv
import json
import os
import pathlib
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest
from _cli import assert_user_error, run_cli

from normrnn.exercises import EXERCISES
from normrnn.exercises.class_reports import path_name
from normrnn.exercises.classroom import (display_name, grade_class, grade_student,
                                         read_grades, score)

#: Wall-clock seconds per student in these tests: the looping student reaches it.
SECONDS = 10
#: GiB of resident memory per student in these tests: the hogging student passes it.
MEMORY = 0.3
#: The leftover process the looping student starts in a session of its own: its
#: sleep time names it, unique to this test run, so that another run of the
#: suite on the same machine (CI beside a developer's run) is not counted.
LEFTOVER = f"4242.{os.getpid()}"
ODD = "odd $(touch x)\x1b[31m\u202e"

RIGHT = "def bias_backward(delta):\n    return delta.copy()\n"
STUDENTS = {
    "right": {"bias.py": RIGHT,
              # never used: a test file that would pass anything, and leave a trace
              "test_exercises.py": "open('USED', 'w').close()\n\ndef test_all():\n    pass\n"},
    "wrong": {"bias.py": "def bias_backward(delta):\n    return 2 * delta\n"},
    "crashing": {"bias.py": "import os\n\ndef bias_backward(delta):\n    os._exit(3)\n",
                 "activation.py": "import ctypes\n\ndef activation_backward(d_state, middle):\n"
                                  "    return ctypes.string_at(0)\n",
                 "ih.py": "def ih_backward(ih, embedded, delta):\n"
                          "    return bytearray(1 << 40)\n"},
    "looping": {"bias.py": "import signal, subprocess\n"
                           f"subprocess.Popen(['sleep', '{LEFTOVER}'], start_new_session=True)\n"
                           "\ndef bias_backward(delta):\n"
                           "    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                           "    while True:\n        pass\n"},
    "hogging": {"bias.py": "import resource, time\nimport numpy as np\n\n"
                           "def bias_backward(delta):\n"
                           "    _, hard = resource.getrlimit(resource.RLIMIT_AS)\n"
                           "    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))\n"
                           "    hog = np.ones(1 << 27)\n    time.sleep(30)\n"
                           "    return delta + hog[0]\n"},
    "patching": {"bias.py": "import numpy as np\nimport normrnn.gradcheck\n"
                            "normrnn.gradcheck.relative_error = lambda *a, **k: 0.0\n"
                            "np.allclose = lambda *a, **k: True\n\n"
                            "def bias_backward(delta):\n    return delta * 0 + 7\n"},
    "cheating": {"bias.py": "from normrnn.reference import bias_backward  # noqa: F401\n"},
    ODD: {"bias.py": RIGHT},
}


def make_class(folder, students=STUDENTS):
    for student, files in students.items():
        (folder / student).mkdir(parents=True)
        for name, text in files.items():
            (folder / student / name).write_text(text)
    return folder


def snapshot(folder):
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None,
                                         p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


def leftovers(tag=LEFTOVER):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if tag.encode() in f.read().split(b"\0"):     # a whole argument
                    found.append(pid)
        except OSError:
            pass
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded once by the command: (submissions, results, the run, unchanged)."""
    root = tmp_path_factory.mktemp("class")
    submissions = make_class(root / "submissions")
    (submissions / "link").symlink_to(submissions / "wrong")     # a link is not a student
    before = snapshot(submissions)
    done = run_cli("exercise", "grade", submissions, "--out", root / "results",
                   "--jobs", 2, "--timeout", SECONDS, "--memory", MEMORY, "--seed", 3)
    return submissions, root / "results", done, snapshot(submissions) == before


def rows(results):
    with open(results / "grades.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def by_student(results):
    table = {}
    for row in rows(results):
        table.setdefault(row["student"], []).append(row)
    return table


def alone(folder):
    """The grades of ``folder``'s student graded in a class of one."""
    return grade_class([folder], seed=3, jobs=1, timeout=SECONDS,
                       memory=int(MEMORY * (1 << 30)))[0]


def test_grade_runs_and_reports_every_student_on_stderr(graded):
    _, results, done, _ = graded
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    progress = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert len(progress) == len(STUDENTS)
    assert "\x1b" not in done.stderr and "\u202e" not in done.stderr
    assert any(display_name(ODD) in line for line in progress)
    assert f"graded {len(STUDENTS)} students" in done.stdout


def test_each_student_gets_the_grade_they_get_alone(graded):
    submissions, results, _, _ = graded
    table = by_student(results)
    assert set(table) == {display_name(s) for s in STUDENTS}
    names = ["wrong", "crashing", "looping", "hogging", "patching", "cheating"]
    with ThreadPoolExecutor(2) as pool:
        singles = dict(zip(names, pool.map(alone, [submissions / s for s in names])))
    for student, single in singles.items():
        got = [(r["exercise"], r["passed"] == "yes", float(r["score"])) for r in
               table[display_name(student)]]
        assert got == [(g["name"], g["passed"], score(g)) for g in single.grades], student


def test_the_grades_are_those_of_check(graded):
    submissions, results, _, _ = graded
    table = by_student(results)
    for student in ("right", "wrong", ODD):
        done = run_cli("exercise", "check", submissions / student, "--json", "--seed", 3,
                       "--section", "bias")
        checked = read_grades(done.stdout)["bias"]
        row = table[display_name(student)][EXERCISES.index("bias")]
        assert (row["passed"] == "yes") == checked["passed"], row
        assert row["diagnosis"] == "; ".join(filter(None, [checked["message"],
                                                           checked["diagnosis"]])), row
    assert table["right"][EXERCISES.index("bias")]["passed"] == "yes"
    assert "scaled by 2" in table["wrong"][EXERCISES.index("bias")]["diagnosis"]


def test_crashes_and_loops_fail_only_their_own_exercises(graded):
    _, results, _, _ = graded
    table = by_student(results)
    crashing = {r["exercise"]: r for r in table["crashing"]}
    for name in ("bias", "activation", "ih"):
        assert crashing[name]["passed"] == "no" and crashing[name]["diagnosis"], name
    looping = table["looping"]
    assert all(r["passed"] == "no" and f"more than {SECONDS} s" in r["diagnosis"]
               for r in looping)
    assert not leftovers(), "the looping student's process outlived its grading"
    assert all(r["passed"] == "no" and f"more than {MEMORY:g} GiB" in r["diagnosis"]
               for r in table["hogging"])
    for student in ("right", ODD):
        assert table[display_name(student)][EXERCISES.index("bias")]["passed"] == "yes"


def test_submissions_are_left_untouched_and_their_test_file_unused(graded):
    submissions, _, _, unchanged = graded
    assert unchanged
    assert not (submissions / "right" / "USED").exists()


def test_the_csv_has_a_row_per_student_and_exercise(graded):
    _, results, _, _ = graded
    table = rows(results)
    assert list(table[0]) == ["student", "exercise", "passed", "score", "cases_passed",
                              "cases_run", "diagnosis", "flags"]
    assert len(table) == len(STUDENTS) * len(EXERCISES)
    for row in table:
        assert 0 <= float(row["score"]) <= 1
        assert int(row["cases_passed"]) <= max(int(row["cases_run"]), 0)


def test_junit_has_a_suite_per_student_and_a_case_per_exercise(graded):
    _, results, _, _ = graded
    root = ET.parse(results / "junit.xml").getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert sorted(s.get("name") for s in suites) == sorted(display_name(s) for s in STUDENTS)
    for suite in suites:
        cases = suite.findall("testcase")
        assert [c.get("name") for c in cases] == list(EXERCISES)
        failures = [c for c in cases if c.find("failure") is not None]
        assert int(suite.get("failures")) == len(failures)
        assert int(suite.get("tests")) == len(EXERCISES)
    wrong = next(s for s in suites if s.get("name") == "wrong")
    bias = next(c for c in wrong.findall("testcase") if c.get("name") == "bias")
    assert "scaled by 2" in bias.find("failure").get("message")
    assert int(root.get("tests")) == len(STUDENTS) * len(EXERCISES)


def test_results_json_is_gradescopes_format(graded):
    _, results, _, _ = graded
    for student in STUDENTS:
        data = json.loads((results / path_name(student) / "results.json").read_text())
        assert data["max_score"] == len(EXERCISES)
        assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
        for test in data["tests"]:
            assert set(test) >= {"name", "score", "max_score", "output", "visibility"}
            assert 0 <= test["score"] <= test["max_score"] == 1
        assert [t["name"] for t in data["tests"]] == list(EXERCISES)
    assert json.loads((results / "right" / "results.json").read_text())["score"] == 1


def test_untrusted_names_are_sanitised_in_paths():
    assert path_name("alice") == "alice"
    odd = path_name(ODD)
    assert odd.startswith("odd___touch_x") and set(odd) <= set(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    assert path_name("a b") != path_name("a_b")
    assert path_name("grades.csv") != "grades.csv"
    assert display_name("a\x1b[31m\\") == "a\\x1b[31m\\\\"


def test_score_is_the_share_of_cases_passed():
    base = {"name": "hh", "diagnosis": "", "message": "", "flags": [], "failed_cases": []}
    assert score({**base, "passed": True, "cases_run": 6, "cases_passed": 6}) == 1
    assert score({**base, "passed": False, "cases_run": 5, "cases_passed": 3}) == 0.6
    # every case passed, failed as a whole (a numerical derivative, a forbidden import)
    assert score({**base, "passed": False, "cases_run": 4, "cases_passed": 4}) == 0
    # grades from before cases were counted are one case each
    old = read_grades(json.dumps([{"name": "hh", "passed": False, "diagnosis": "x",
                                   "message": "", "errors": {}, "tolerance": 1e-7}]))["hh"]
    assert (old["cases_run"], old["cases_passed"], old["flags"], old["failed_cases"]) == (
        1, 0, [], [])


def test_students_are_graded_at_the_same_time(tmp_path):
    # each waits (up to 20 s) for the other to start: both pass only side by side
    meet = tmp_path / "meet"
    meet.mkdir()
    body = ("import os, time\nopen({mine!r}, 'w').close()\nend = time.time() + 20\n"
            "while not os.path.exists({other!r}) and time.time() < end:\n"
            "    time.sleep(0.05)\n\ndef bias_backward(delta):\n"
            "    return delta.copy() if os.path.exists({other!r}) else 2 * delta\n")
    a, b = str(meet / "a"), str(meet / "b")
    submissions = make_class(tmp_path / "class", {
        "a": {"bias.py": body.format(mine=a, other=b)},
        "b": {"bias.py": body.format(mine=b, other=a)}})
    graded = grade_class(sorted(submissions.iterdir()), jobs=2, timeout=60)
    assert [g.grades[EXERCISES.index("bias")]["passed"] for g in graded] == [True, True]


def test_a_class_that_cannot_be_graded_gets_one_line(tmp_path):
    submissions = make_class(tmp_path / "class", {"alice": {"bias.py": RIGHT}})
    assert_user_error(run_cli("exercise", "grade", tmp_path / "none", "--out", tmp_path / "r"),
                      1, contains=["no folder"])
    (tmp_path / "empty").mkdir()
    assert_user_error(run_cli("exercise", "grade", tmp_path / "empty", "--out", tmp_path / "r"),
                      1, contains=["no student folder"])
    assert_user_error(run_cli("exercise", "grade", submissions, "--out", submissions / "out"),
                      1, contains=["inside SUBMISSIONS"])
    (tmp_path / "file").write_text("")
    assert_user_error(run_cli("exercise", "grade", submissions, "--out", tmp_path / "file" / "r"),
                      1, contains=["cannot write"])
    assert_user_error(run_cli("exercise", "grade", submissions, "--out", tmp_path / "r",
                              "--timeout", "0"), 2)
    assert not (submissions / "out").exists() and not (tmp_path / "r").exists()


def test_results_through_a_link_into_submissions_are_refused(tmp_path):
    submissions = make_class(tmp_path / "class", {"alice": {"bias.py": RIGHT}})
    out = tmp_path / "results"
    out.mkdir()
    (out / "alice").symlink_to(submissions / "alice")
    assert_user_error(run_cli("exercise", "grade", submissions, "--out", out), 1,
                      contains=["inside SUBMISSIONS"])


def extract(bundle, into):
    """Unzip ``bundle`` into ``into`` as ``unzip`` does, keeping the modes."""
    with zipfile.ZipFile(bundle) as archive:
        for info in archive.infolist():
            path = into / info.filename
            path.write_bytes(archive.read(info))
            path.chmod(stat.S_IMODE(info.external_attr >> 16))


def test_the_autograder_bundle_grades_a_submission_as_gradescope_runs_it(tmp_path):
    bundle = tmp_path / "autograder.zip"
    done = run_cli("exercise", "autograder", "--out", bundle, "--seed", 11, "--timeout", 60)
    assert done.returncode == 0, done.stderr
    assert "11" in done.stdout
    root = tmp_path / "autograder"                  # Gradescope's /autograder
    (root / "source").mkdir(parents=True)
    (root / "results").mkdir()
    extract(bundle, root / "source")
    names = sorted(p.name for p in (root / "source").iterdir())
    sdist = next(n for n in names if n.startswith("normrnn-") and n.endswith(".tar.gz"))
    assert names == sorted(["setup.sh", "run_autograder", "normrnn_autograder.json", sdist])
    assert sdist in (root / "source" / "setup.sh").read_text()
    assert json.loads((root / "source" / "normrnn_autograder.json").read_text())["seed"] == 11
    with __import__("tarfile").open(root / "source" / sdist) as archive:
        members = archive.getnames()
    assert any(m.endswith("normrnn/exercises/classroom.py") for m in members)
    assert any(m.endswith("normrnn/_kernels/bptt_gathered.pyx") for m in members)
    (root / "run_autograder").write_bytes((root / "source" / "run_autograder").read_bytes())
    (root / "run_autograder").chmod(0o755)
    make_class(root, {"submission": {"bias.py": RIGHT, "activation.py": (
        "def activation_backward(d_state, middle):\n    return d_state.copy()\n")}})
    env = dict(os.environ, NORMRNN_AUTOGRADER_ROOT=str(root),
               NORMRNN_AUTOGRADER_PYTHON=sys.executable)
    ran = subprocess.run([str(root / "run_autograder")], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    expected = grade_student(root / "submission", seed=11, timeout=60)
    assert [t["score"] for t in results["tests"]] == [score(g) for g in expected.grades]
    assert results["score"] == expected.score and results["max_score"] == len(EXERCISES)
    bias = results["tests"][EXERCISES.index("bias")]
    assert bias["score"] == 1 and bias["visibility"] == "visible"
    assert results["tests"][EXERCISES.index("activation")]["score"] < 1


def test_a_failure_of_the_grader_fails_only_that_student(tmp_path, monkeypatch):
    from normrnn.exercises import classroom
    submissions = make_class(tmp_path / "class", {"alice": {"bias.py": RIGHT},
                                                  "bob": {"bias.py": RIGHT}})
    real = classroom.grade_student

    def broken_for_bob(folder, **options):
        if folder.name == "bob":
            raise OSError("disk full")
        return real(folder, **options)
    monkeypatch.setattr(classroom, "grade_student", broken_for_bob)
    alice, bob = grade_class(sorted(submissions.iterdir()), jobs=2, timeout=60)
    assert alice.grades[EXERCISES.index("bias")]["passed"] and not alice.grader_fault
    assert bob.grader_fault and "disk full" in bob.problem
    assert not any(g["passed"] for g in bob.grades)


def test_solutions_one_folder_down_are_found(tmp_path):
    from normrnn.exercises.classroom import solution_folder
    student = tmp_path / "alice"
    (student / "my-bptt").mkdir(parents=True)
    (student / "notes").mkdir()
    (student / "my-bptt" / "bias.py").write_text(RIGHT)
    assert solution_folder(student) == student / "my-bptt"
    (student / "bias.py").write_text(RIGHT)
    assert solution_folder(student) == student


def test_forbidding_the_package_answers_reaches_check_and_the_bundle():
    import argparse
    from normrnn.exercises.autograder import bundle
    from normrnn.exercises.classroom import check_options
    assert check_options(argparse.Namespace(forbid_package_answers=True)) == [
        "--forbid-package-answers"]
    assert check_options(argparse.Namespace(forbid_package_answers=False)) == []
    settings = bundle(pathlib.Path(__file__), seed=1, options=["--forbid-package-answers"])
    assert json.loads(settings["normrnn_autograder.json"][0])["options"] == [
        "--forbid-package-answers"]


def test_ctrl_c_ends_every_students_processes(tmp_path):
    import signal
    import time
    from _cli import cli_env
    tag = f"4243.{os.getpid()}"       # this test's own leftover
    looping = STUDENTS["looping"]["bias.py"].replace(LEFTOVER, tag)
    submissions = make_class(tmp_path / "class", {"looping": {"bias.py": looping}})
    assert not leftovers(tag)
    grading = subprocess.Popen([sys.executable, "-m", "normrnn", "exercise", "grade",
                                str(submissions), "--out", str(tmp_path / "results"),
                                "--timeout", "120"], env=cli_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 60
    while not leftovers(tag) and time.monotonic() < end:
        time.sleep(0.1)
    assert leftovers(tag), "the looping student never started"
    grading.send_signal(signal.SIGINT)
    _, stderr = grading.communicate(timeout=60)
    assert grading.returncode == 130, stderr
    assert not leftovers(tag)


def test_a_grader_that_fails_is_reported_and_exits_3(tmp_path, monkeypatch, capsys):
    from normrnn import cli
    from normrnn.exercises import classroom
    submissions = make_class(tmp_path / "class", {"alice": {"bias.py": RIGHT}})
    # check refuses an option it does not know: the grader's failure, not alice's
    monkeypatch.setattr(classroom, "check_options", lambda args: ["--no-such-option"])
    status = cli.main(["exercise", "grade", str(submissions), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert status == 3
    assert err.strip().splitlines()[-1].startswith("normrnn: error: 1 of 1 students could not")
    assert "exit status 2" in err
    suite = ET.parse(tmp_path / "r" / "junit.xml").getroot().find("testsuite")
    assert int(suite.get("errors")) == len(EXERCISES) and int(suite.get("failures")) == 0
