"""``normrnn exercise start``: links written as data, links that resolve, no write through a link."""

import ast
import os

import pytest

from normrnn import cli
from normrnn.exercises import EXERCISES, skeletons
from normrnn.exercises.skeletons import UNBUILT_DOCS, docs_base, skeleton

INJECTION = 'http://x/"""; import os; os.system("touch PWNED"); """'
WINDOWS = r"C:\Users\me\docs"


def run(capsys, *argv):
    status = cli.main(["exercise", *map(str, argv)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def no_build(monkeypatch, tmp_path):
    """No docs build anywhere, no NORMRNN_DOCS_URL."""
    monkeypatch.setattr(skeletons, "_build_roots", lambda: [tmp_path / "nowhere"])
    monkeypatch.delenv("NORMRNN_DOCS_URL", raising=False)


def docs_constant(text):
    """The value of the skeleton's DOCS, read as data (the module is parsed, never run)."""
    module = ast.parse(text)
    [value] = [node.value.value for node in module.body if isinstance(node, ast.Assign)
               and node.targets[0].id == "DOCS"]
    return value


@pytest.mark.parametrize("base", [INJECTION, WINDOWS, "it's \\n a 'quoted' \"base\"\n"])
@pytest.mark.parametrize("name", EXERCISES)
def test_any_base_is_data_in_every_skeleton(name, base):
    text = skeleton(name, base)
    page = ("bptt" if name == "loss_and_grads" else "exercises_beyond"
            if name in skeletons.BEYOND else f"sections/{name}")
    assert docs_constant(text) == f"{base.rstrip('/').rstrip(chr(92))}/{page}.html"
    assert "import os" not in text.replace(repr(docs_constant(text)), "")


def test_an_injected_docs_url_runs_no_code_when_graded(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "start", "work", "--docs-url", INJECTION)[0] == 0
    status, out, _ = run(capsys, "check", "work", "--section", "bias")
    assert status == 1 and "not started" in out          # the skeleton imports and runs
    assert not any(tmp_path.rglob("PWNED"))


def test_a_windows_path_in_the_environment_keeps_every_skeleton_valid(tmp_path, monkeypatch,
                                                                       capsys):
    monkeypatch.setenv("NORMRNN_DOCS_URL", WINDOWS)
    status, out, _ = run(capsys, "start", tmp_path / "work")
    assert status == 0
    assert f"docs links: {WINDOWS} (from NORMRNN_DOCS_URL)" in out
    for name in EXERCISES:
        text = (tmp_path / "work" / f"{name}.py").read_text(encoding="utf-8")
        compile(text, f"{name}.py", "exec")
        assert docs_constant(text).startswith(WINDOWS + "/")


def test_the_links_go_to_a_docs_build_when_one_is_found(tmp_path, monkeypatch, capsys):
    build = tmp_path / "docs" / "_build" / "html"
    (build / "sections").mkdir(parents=True)
    (build / "bptt.html").write_text("<html></html>")
    monkeypatch.setattr(skeletons, "_build_roots", lambda: [tmp_path / "nowhere", build])
    monkeypatch.delenv("NORMRNN_DOCS_URL", raising=False)
    status, out, _ = run(capsys, "start", tmp_path / "work")
    assert status == 0
    assert f"docs links: {build.as_uri()} (the docs built in this source tree)" in out
    assert docs_constant((tmp_path / "work" / "hh.py").read_text()) == (
        build.as_uri() + "/sections/hh.html")
    assert docs_constant((tmp_path / "work" / "loss_and_grads.py").read_text()) == (
        build.as_uri() + "/bptt.html")


def test_without_a_build_the_links_go_to_the_stated_place(tmp_path, no_build, capsys):
    assert docs_base() == (UNBUILT_DOCS, docs_base()[1])
    status, out, _ = run(capsys, "start", tmp_path / "work")
    assert status == 0
    line = next(x for x in out.splitlines() if x.startswith("docs links:"))
    assert line.startswith(f"docs links: {UNBUILT_DOCS} (no docs build found")
    assert "--docs-url" in line and "NORMRNN_DOCS_URL" in line
    assert docs_constant((tmp_path / "work" / "ih.py").read_text()) == (
        UNBUILT_DOCS + "/sections/ih.html")


def test_the_docs_url_wins_over_the_environment_and_a_build(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NORMRNN_DOCS_URL", "file:///srv/docs")
    status, out, _ = run(capsys, "start", tmp_path / "work", "--docs-url", "https://e.org/d/")
    assert status == 0 and "docs links: https://e.org/d/ (given with --docs-url)" in out
    assert docs_constant((tmp_path / "work" / "ih.py").read_text()) == (
        "https://e.org/d/sections/ih.html")


@pytest.mark.parametrize("target", ["nothing", "file"])
def test_a_link_among_the_targets_stops_start_before_it_writes(tmp_path, capsys, target):
    folder = tmp_path / "work"
    folder.mkdir()
    elsewhere = tmp_path / "elsewhere.py"
    if target == "file":
        elsewhere.write_text("MINE = 1\n")
    (folder / "loss_and_grads.py").symlink_to(elsewhere)
    status, out, err = run(capsys, "start", folder)
    assert status == 2 and out == ""
    assert err.startswith("normrnn: error: ") and err.count("\n") == 1
    assert f"loss_and_grads.py exists (a link to {elsewhere}: start never writes through " \
        "a link)" in err and "Errno" not in err
    assert [p.name for p in folder.iterdir()] == ["loss_and_grads.py"]     # nothing written
    assert not elsewhere.exists() if target == "nothing" else (
        elsewhere.read_text() == "MINE = 1\n")
    (folder / "loss_and_grads.py").unlink()                               # a rerun works
    assert run(capsys, "start", folder)[0] == 0
    assert len(list(folder.iterdir())) == len(EXERCISES) + 1
    assert not elsewhere.exists() if target == "nothing" else (
        elsewhere.read_text() == "MINE = 1\n")


def test_a_folder_that_is_a_link_to_nothing_is_one_line(tmp_path, capsys):
    (tmp_path / "work").symlink_to(tmp_path / "gone")
    status, _, err = run(capsys, "start", tmp_path / "work")
    assert status == 2 and err.count("\n") == 1 and "link to nothing" in err


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch, capsys):
    real_open, calls = os.open, []

    def failing(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 4:
            raise OSError(28, "No space left on device")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", failing)
    status, out, err = run(capsys, "start", tmp_path / "work")
    monkeypatch.setattr(os, "open", real_open)
    assert status == 2 and out == "" and err.count("\n") == 1
    assert "No space left on device" in err
    assert list((tmp_path / "work").iterdir()) == []
    assert run(capsys, "start", tmp_path / "work")[0] == 0
