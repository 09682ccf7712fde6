"""Corpus input that learners really produce: every problem is one clear line naming the file.

The readers' properties over random bytes and random JSON Lines are fuzzed in
tests/fuzz/fuzz_data.py; here are the cases behind each guarantee, through the
readers and through the ``normrnn`` command.
"""

import codecs
import json
import math

import pytest
from _toy import toy_corpus, write_folder

from normrnn import cli
from normrnn.data import (
    CorpusError,
    Document,
    load_corpus,
    load_jsonl,
    load_text_file,
    split_documents,
)
from normrnn.training import load_checkpoint

TRAIN = ["--hidden", "6", "--batch-size", "4", "--threads", "1", "--no-progress",
         "--eval-every", "2"]

# line 2 of a JSON Lines file, and the message the reader gives for it
BAD_SECOND_LINES = [
    (b'{"title": "a", "text": ', "invalid JSON"),
    (b'{"title": "\xe9t\xe9", "text": "latin-1, not UTF-8"}', "not valid UTF-8"),
    (b'{"text": "no title"}', "missing field 'title'"),
    (b'{"title": "t", "text": ["not", "a", "string"]}', "field 'text' must be a string"),
    (b'"just a string"', "expected a JSON object"),
    (b"[" * 50_000 + b"]" * 50_000, "invalid JSON (RecursionError"),
    (b'{"title": "t", "text": "x", "n": 1' + b"0" * 5000 + b"}", "invalid JSON (ValueError"),
    (b'{"title": "\\ud83d", "text": "half an emoji"}', "field 'title' holds a lone surrogate"),
]
IDS = ["truncated", "latin-1", "missing", "not-a-string", "not-an-object", "deep", "long-number",
       "surrogate"]


@pytest.mark.parametrize("line, message", BAD_SECOND_LINES, ids=IDS)
def test_bad_jsonl_line_is_a_corpus_error_naming_file_and_line(tmp_path, line, message):
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(b'{"title": "ok", "text": "fine"}\n' + line + b"\n")
    with pytest.raises(CorpusError) as info:
        load_jsonl(path)
    assert str(info.value).startswith(f"{path}:2: {message}")
    assert info.value.path == path and info.value.line == 2


def run(capsys, *argv):
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("line, message", BAD_SECOND_LINES, ids=IDS)
def test_bad_corpus_stops_the_command_with_one_line(capsys, tmp_path, line, message):
    data = tmp_path / "corpus.jsonl"
    data.write_bytes(b'{"title": "ok", "text": "fine"}\n' + line + b"\n")
    out = tmp_path / "model.npz"
    status, _, err = run(capsys, "train", str(data), "--out", str(out), *TRAIN)
    assert status == 1
    assert err == f"normrnn: error: {data}:2: " + err.split(":2: ", 1)[1]
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("make, message", [
    (lambda p: (p / "empty.jsonl").write_bytes(b""), "empty.jsonl: no documents"),
    (lambda p: (p / "blank.jsonl").write_bytes(b"\n  \n\t\n"), "blank.jsonl: no documents"),
    (lambda p: (p / "folder").mkdir(), "folder: folder holds no .txt file"),
    (lambda p: (p / "bad.txt").write_bytes(b"caf\xe9\nau lait"), "bad.txt:1: not valid UTF-8"),
])
def test_empty_or_undecodable_input_is_one_line(capsys, tmp_path, make, message):
    make(tmp_path)
    name = message.split(":")[0]
    status, _, err = run(capsys, "train", str(tmp_path / name), "--out",
                         str(tmp_path / "m.npz"), *TRAIN)
    assert status == 1 and err.startswith(f"normrnn: error: {tmp_path / name}")
    assert message.split(": ", 1)[1] in err and "Traceback" not in err


def test_a_bad_file_in_a_folder_is_named(tmp_path):
    folder = write_folder(tmp_path / "texts", toy_corpus(n=3))
    (folder / "doc1.txt").write_bytes(b"fine\nfine\n\xff\xfe broken\n")
    with pytest.raises(CorpusError) as info:
        load_corpus(folder)
    assert str(info.value).startswith(f"{folder / 'doc1.txt'}:3: not valid UTF-8")


def test_byte_order_mark_is_skipped_not_read_as_a_character(tmp_path):
    """Windows editors start UTF-8 files with U+FEFF; it is not part of the text."""
    txt = tmp_path / "notes.txt"
    txt.write_bytes(codecs.BOM_UTF8 + b"first\r\nsecond")
    assert load_text_file(txt) == [Document("notes", "first\nsecond")]
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_bytes(codecs.BOM_UTF8 + b'{"title": "a", "text": "b"}\r\n')
    assert load_jsonl(jsonl) == [Document("a", "b")]
    # only at the very start: elsewhere it is an ordinary character
    txt.write_bytes(b"a" + codecs.BOM_UTF8)
    assert load_text_file(txt) == [Document("notes", "a\ufeff")]


def test_empty_text_files_are_documents_that_teach_the_end_marker(capsys, tmp_path):
    """The documented rule: an empty file is a document with an empty text, not an error."""
    folder = write_folder(tmp_path / "texts", toy_corpus(n=6))
    (folder / "empty.txt").write_bytes(b"")
    assert Document("empty", "") in load_corpus(folder)
    out = tmp_path / "m.npz"
    status, stdout, err = run(capsys, "train", str(folder), "--out", str(out), "--max-steps",
                              "3", "--json", *TRAIN)
    assert status == 0, err
    assert json.loads(stdout)["steps"] == 3
    assert load_checkpoint(out).state.step == 3


def test_a_single_empty_file_trains(capsys, tmp_path):
    data = tmp_path / "empty.txt"
    data.write_bytes(b"")
    out = tmp_path / "m.npz"
    status, stdout, err = run(capsys, "train", str(data), "--out", str(out), "--max-steps", "2",
                              "--json", *TRAIN)
    assert status == 0, err
    info = json.loads(stdout)
    assert info["steps"] == 2 and info["tokens"] == 2       # the end marker, twice


@pytest.mark.parametrize("suffix", [".txt", ".jsonl"])
def test_a_very_long_line_is_read_and_trained_in_segments(capsys, tmp_path, suffix):
    text = "the cat sat on the mat. " * 10_000                   # 240,000 characters
    data = tmp_path / f"book{suffix}"
    if suffix == ".txt":
        data.write_text(text, encoding="utf-8")
    else:
        data.write_text(json.dumps({"title": "book", "text": text}) + "\n", encoding="utf-8")
    assert load_corpus(data) == [Document("book", text)]
    out = tmp_path / "m.npz"
    status, stdout, err = run(capsys, "train", str(data), "--out", str(out), "--max-steps", "2",
                              "--segment", "200", "--bptt", "50", "--json", *TRAIN)
    assert status == 0, err
    info = json.loads(stdout)
    # 4 streams, one chunk of at most 50 scored characters each per step
    assert info["steps"] == 2 and 0 < info["tokens"] <= 2 * 4 * 50
    # the line became segments of 200 characters (the end marker is scored too)
    train, _ = split_documents([Document("book", text)])
    units = len(load_checkpoint(out).streams["order"])
    assert units == math.ceil((len(train[0].text) + 1) / 200)
