"""A user's file name with a newline or an escape sequence is printed escaped, everywhere.

Such a name, printed raw, splits a one-line error in two or colours the
terminal (``ESC[31m``).  Every message naming a corpus, a checkpoint, an
output or a folder shows it through :func:`normrnn._printable.show_path`.
"""

import textwrap

import pytest
from _cli import assert_user_error, run_cli

from normrnn import _printable
from normrnn.cli import outputs
from normrnn.cli.diagnosis import diagnose
from normrnn.cli.train import _print_summary
from normrnn.data import CorpusError, load_corpus
from normrnn.training.checkpoint import CheckpointError, load_checkpoint

HOSTILE = ["red\x1b[31m", "two\nlines", "bell\a"]


def assert_escaped(text, name):
    assert "\x1b" not in text and "\a" not in text, repr(text)
    assert ascii(name)[1:-1] in text, repr(text)


def test_the_output_checks_and_the_rest_share_one_helper():
    assert outputs.show_path is _printable.show_path
    assert _printable.show_path("plain name.txt") == "plain name.txt"
    assert _printable.show_path("a\x1b[31mb") == ascii("a\x1b[31mb")


@pytest.mark.parametrize("name", HOSTILE)
def test_a_bad_jsonl_file_is_named_escaped(tmp_path, name):
    path = tmp_path / f"{name}.jsonl"
    path.write_text("{not json\n")
    with pytest.raises(CorpusError) as info:
        load_corpus(path)
    assert_escaped(str(info.value), name)
    assert "\n" not in str(info.value) and str(info.value).endswith("column 2)")


@pytest.mark.parametrize("name", HOSTILE)
def test_a_bad_text_file_of_a_folder_is_named_escaped(tmp_path, name):
    (tmp_path / f"{name}.txt").write_bytes(b"caf\xe9")
    with pytest.raises(CorpusError) as info:
        load_corpus(tmp_path)
    assert_escaped(str(info.value), name)
    assert "\n" not in str(info.value)


def test_a_missing_corpus_is_named_escaped(tmp_path):
    with pytest.raises(CorpusError) as info:
        load_corpus(tmp_path / "gone\x1b[2J")
    assert_escaped(str(info.value), "gone\x1b[2J")


@pytest.mark.parametrize("name", HOSTILE)
def test_a_checkpoint_that_is_not_one_is_named_escaped(tmp_path, name):
    path = tmp_path / f"{name}.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert_escaped(str(info.value), name)
    assert "\n" not in str(info.value)


def test_the_command_prints_one_escaped_line_for_a_bad_corpus(tmp_path):
    path = tmp_path / "x\n\x1b[31mred.jsonl"
    path.write_text("[1, 2]\n")
    done = run_cli("train", path, "--out", tmp_path / "m.npz", "--max-steps", "1")
    assert_user_error(done, 1)                    # exactly one line, no traceback
    assert_escaped(done.stderr, str(path))


def test_the_command_prints_one_escaped_line_for_a_bad_checkpoint(tmp_path):
    path = tmp_path / "ck\x1b[31m\n.npz"
    path.write_bytes(b"not a zip")
    done = run_cli("sample", path, "--title", "t")
    assert_user_error(done, 1)
    assert_escaped(done.stderr, str(path))


def test_the_training_summary_escapes_its_paths(capsys):
    info = {"steps": 1, "epochs": 0, "tokens": 10, "elapsed_seconds": 0.5,
            "tokens_per_second": 20, "train_bits_per_token": 1.0,
            "valid_bits_per_token": 1.0, "unigram_bits_per_token": 2.0,
            "bigram_bits_per_token": None, "documents": None, "duplicate_documents": None,
            "valid_documents": None, "valid_documents_in_training": None,
            "checkpoint": "m\x1b[31m.npz", "plot": "p\x1b[31m.png", "stopped_by": "interrupted"}
    _print_summary(info, "data\n.jsonl", "m\x1b[31m.npz")
    out = capsys.readouterr().out
    for name in ("p\x1b[31m.png", "data\n.jsonl", "m\x1b[31m.npz"):
        assert_escaped(out, name)
    sentences = "\n".join(textwrap.fill(s, width=88) for s in diagnose(info))
    assert len(out.splitlines()) == 5 + len(sentences.splitlines())


def test_exercise_start_names_a_hostile_folder_escaped(tmp_path):
    folder = tmp_path / "ex\x1b[31m"
    folder.write_text("a file, not a folder")
    done = run_cli("exercise", "start", folder)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert_escaped(done.stderr, str(folder))


def test_a_missing_solution_in_a_hostile_folder_is_named_escaped(tmp_path):
    from normrnn.exercises import guard, loader
    from normrnn.exercises.cases import EXERCISES
    folder = tmp_path / "ex\x1b[31m"
    folder.mkdir()
    with pytest.raises(guard.Failure) as info:
        loader.load_solution(folder, EXERCISES[0])
    assert_escaped(str(info.value), str(folder))
