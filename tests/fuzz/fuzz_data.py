"""Property-based fuzzing of the tokenizer and the corpus readers (run in a subprocess).

Random Unicode, random bytes and random JSON Lines files: every call either
returns exactly the documents that were written or raises a clear error.  For
the readers the error is a :class:`~normrnn.data.CorpusError` whose message
starts with the file's path and, for JSON Lines, the number of the first bad
line.
"""

import codecs
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from normrnn.data import (
    EOT,
    SEP,
    UNK,
    CharTokenizer,
    CorpusError,
    Document,
    load_corpus,
    load_jsonl,
    load_text_folder,
)

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
CLEAR = (TypeError, ValueError)
# any Unicode character but the surrogates, which are not characters (st.text's default)
TEXT = st.text(max_size=40)
DOCUMENTS = st.lists(st.builds(Document, st.text(max_size=8), TEXT), max_size=5)


# --- the tokenizer ----------------------------------------------------------------------
@SETTINGS
@given(docs=DOCUMENTS, text=TEXT, min_count=st.integers(1, 3))
def test_encode_decode_round_trip(docs, text, min_count):
    tokenizer = CharTokenizer.from_documents(docs, min_count=min_count)
    ids = tokenizer.encode(text)
    assert ids.dtype == np.int32 and ids.shape == (len(text),)
    assert np.all((ids == UNK) | ((ids >= 3) & (ids < tokenizer.vocab_size)))
    known = set(tokenizer.chars)
    assert tokenizer.decode(ids) == "".join(c if c in known else "\ufffd" for c in text)
    assert CharTokenizer.from_array(tokenizer.to_array()) == tokenizer


@SETTINGS
@given(doc=st.builds(Document, st.text(max_size=8), TEXT))
def test_encode_document_layout(doc):
    tokenizer = CharTokenizer.from_documents([doc])
    tokens, m = tokenizer.encode_document(doc)
    assert m == len(doc.title) + 1 and len(tokens) == m + len(doc.text) + 1
    assert tokens[m - 1] == SEP and tokens[-1] == EOT
    assert tokenizer.decode(tokens[:m - 1]) == doc.title
    assert tokenizer.decode(tokens[m:-1]) == doc.text


JUNK = st.one_of(st.none(), st.integers(-5, 40), st.floats(allow_nan=True), st.booleans(),
                 st.binary(max_size=4), TEXT,
                 st.lists(st.one_of(st.integers(-3, 20), st.floats(allow_nan=True),
                                    st.text(max_size=2), st.none(), st.booleans()), max_size=4),
                 st.builds(lambda n: np.arange(n) - 1, st.integers(0, 5)),
                 st.builds(lambda n: np.arange(n, dtype=np.float32), st.integers(0, 5)))


@SETTINGS
@given(value=JUNK)
def test_decode_returns_the_characters_or_refuses(value):
    tokenizer = CharTokenizer("abcde")                # V = 8
    try:
        text = tokenizer.decode(value)
    except CLEAR as exc:
        assert ("token id" in str(exc) or "ids must" in str(exc)
                or "not iterable" in str(exc)), str(exc)
        return
    # accepted: a sequence of true integers in [0, 8), decoded one by one
    ids = list(value)
    assert all(not isinstance(i, (bool, float, np.floating)) and 0 <= i < 8 for i in ids)
    names = ["\ufffd", "<sep>", "<eot>", *"abcde"]
    assert text == "".join(names[int(i)] for i in ids)


@SETTINGS
@given(value=JUNK, method=st.sampled_from(["encode", "encode_title", "encode_document",
                                           "from_documents"]))
def test_encode_refuses_what_is_not_text(value, method):
    tokenizer = CharTokenizer("abc")
    call = {"encode": lambda: tokenizer.encode(value),
            "encode_title": lambda: tokenizer.encode_title(value),
            "encode_document": lambda: tokenizer.encode_document(value),
            "from_documents": lambda: CharTokenizer.from_documents([value])}[method]
    if isinstance(value, str) and method in ("encode", "encode_title"):
        assert len(call()) == len(value) + (method == "encode_title")
        return
    with pytest.raises(TypeError) as info:
        call()
    name = {"encode": "text", "encode_title": "title", "encode_document": "document",
            "from_documents": "documents"}[method]
    assert name in str(info.value)


# --- text files -------------------------------------------------------------------------
def first_bad_line(data):
    """1-based line of the first byte that is not valid UTF-8, or None."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data[:exc.start].count(b"\n") + 1
    return None


@SETTINGS
@given(data=st.one_of(st.binary(max_size=60),
                      TEXT.map(lambda t: t.encode("utf-8")),
                      TEXT.map(lambda t: codecs.BOM_UTF8 + t.replace("\n", "\r\n").encode())),
       suffix=st.sampled_from([".txt", ".md", ""]))
def test_text_file_is_read_exactly_or_refused_at_its_line(data, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"notes{suffix}"
        path.write_bytes(data)
        bad = first_bad_line(data)
        if bad is not None:
            with pytest.raises(CorpusError) as info:
                load_corpus(path)
            assert str(info.value).startswith(f"{path}:{bad}: not valid UTF-8")
            return
        text = data.decode("utf-8").removeprefix("\ufeff").replace("\r\n", "\n")
        assert load_corpus(path) == [Document("notes", text)]


# --- JSON Lines -------------------------------------------------------------------------
BAD_LINES = {
    "truncated": b'{"title": "a", "text": ',
    "array": b'["title", "text"]',
    "number": b"42",
    "missing text": b'{"title": "a"}',
    "missing title": b'{"text": "a"}',
    "title not a string": b'{"title": 3, "text": "x"}',
    "text null": b'{"title": "t", "text": null}',
    "invalid utf-8": b'{"title": "\xff", "text": "x"}',
    "overlong utf-8": b'{"title": "\xc0\xaf", "text": "x"}',
    "lone surrogate": b'{"title": "ok", "text": "a\\udc80b"}',
    "nested too deep": b"[" * 100_000 + b"]" * 100_000,
    "number too long": b'{"title": "a", "text": "b", "n": 1' + b"0" * 5000 + b"}",
    "nul byte": b"\x00",
    "single quotes": b"{'title': 'a', 'text': 'b'}",
}
RECORD = st.fixed_dictionaries({"title": st.text(max_size=8), "text": TEXT},
                               optional={"extra": st.one_of(st.integers(), st.none(),
                                                            st.lists(st.booleans()))})
LINE = st.one_of(st.tuples(st.just("record"), RECORD, st.booleans()),
                 st.tuples(st.just("blank"), st.sampled_from(["", " ", "\t", "  \t "])),
                 st.tuples(st.just("bad"), st.sampled_from(sorted(BAD_LINES))))


@SETTINGS
@given(lines=st.lists(LINE, max_size=8), newline=st.sampled_from([b"\n", b"\r\n"]),
       bom=st.booleans(), final_newline=st.booleans(),
       suffix=st.sampled_from([".jsonl", ".json", ".NDJSON"]))
def test_jsonl_reads_every_record_or_names_the_first_bad_line(lines, newline, bom,
                                                              final_newline, suffix):
    raw, want, first_bad = [], [], None
    for number, line in enumerate(lines, start=1):
        if line[0] == "record":
            record, ascii_only = line[1], line[2]
            raw.append(json.dumps(record, ensure_ascii=ascii_only).encode("utf-8"))
            want.append(Document(record["title"], record["text"]))
        elif line[0] == "blank":
            raw.append(line[1].encode())
        else:
            raw.append(BAD_LINES[line[1]])
            first_bad = first_bad or number
    data = (codecs.BOM_UTF8 if bom else b"") + newline.join(raw) + (newline if final_newline
                                                                    else b"")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"corpus{suffix}"
        path.write_bytes(data)
        if first_bad is None and want:
            assert load_corpus(path) == want
            return
        with pytest.raises(CorpusError) as info:
            load_jsonl(path)
        message = str(info.value)
        if first_bad is None:
            assert message == f"{path}: no documents (the file is empty)"
        else:
            assert message.startswith(f"{path}:{first_bad}: "), message
            assert info.value.line == first_bad


@SETTINGS
@given(data=st.binary(max_size=200))
def test_random_bytes_as_json_lines_never_crash(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.jsonl"
        path.write_bytes(data)
        try:
            docs = load_jsonl(path)
        except CorpusError as exc:
            assert str(exc).startswith(f"{path}")
            return
        assert docs and all(isinstance(d, Document) for d in docs)


# --- folders ----------------------------------------------------------------------------
NAME = st.text(alphabet="abcdefxyz_-0123456789", min_size=1, max_size=6)


@SETTINGS
@given(files=st.dictionaries(NAME, st.one_of(TEXT.map(str.encode), st.binary(max_size=20)),
                             max_size=5),
       others=st.lists(NAME, max_size=2))
def test_folder_reads_every_txt_file_in_name_order_or_names_the_bad_one(files, others):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, data in files.items():
            (folder / f"{name}.txt").write_bytes(data)
        for name in others:                       # ignored: not .txt
            (folder / f"{name}.md").write_bytes(b"\xff ignored")
        names = sorted(files, key=lambda n: f"{n}.txt")
        bad = [n for n in names if first_bad_line(files[n]) is not None]
        if not files:
            with pytest.raises(CorpusError, match="no .txt file") as info:
                load_text_folder(folder)
            assert str(info.value).startswith(str(folder))
        elif bad:
            with pytest.raises(CorpusError) as info:
                load_corpus(folder)
            assert str(info.value).startswith(
                f"{folder / (bad[0] + '.txt')}:{first_bad_line(files[bad[0]])}: ")
        else:
            want = [Document(n, files[n].decode().removeprefix("\ufeff").replace("\r\n", "\n"))
                    for n in names]
            assert load_corpus(folder) == want
