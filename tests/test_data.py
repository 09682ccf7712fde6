"""Documents, the character tokenizer, corpus readers, the default corpus, the split."""

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import normrnn.data
from normrnn.data import (
    EOT,
    SEP,
    UNK,
    CharTokenizer,
    CorpusError,
    Document,
    default_corpus,
    load_corpus,
    load_jsonl,
    load_text_file,
    load_text_folder,
    split_documents,
)

DOCS = [Document("cat", "the cat sat"), Document("dog", "a dog ran\nfar"),
        Document("", "untitled text")]


@pytest.fixture
def tokenizer():
    return CharTokenizer.from_documents(DOCS)


# --- tokenizer --------------------------------------------------------------------
def test_vocabulary_is_sorted_and_after_the_reserved_ids(tokenizer):
    assert list(tokenizer.chars) == sorted(set("".join(d.title + d.text for d in DOCS)))
    assert tokenizer.vocab_size == 3 + len(tokenizer.chars)
    assert (UNK, SEP, EOT) == (0, 1, 2)
    assert tokenizer.encode(tokenizer.chars[0])[0] == 3


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet="the catsdogrn\nfaxuild"))
def test_round_trip_of_known_characters(text):
    tokenizer = CharTokenizer.from_documents(DOCS)
    ids = tokenizer.encode(text)
    assert ids.dtype == np.int32 and len(ids) == len(text)
    assert tokenizer.decode(ids) == text


def test_unknown_characters_become_unk_and_decode_as_replacement(tokenizer):
    ids = tokenizer.encode("cat€Z")
    assert list(ids[3:]) == [UNK, UNK]
    assert tokenizer.decode(ids) == "cat\ufffd\ufffd"


def test_min_count_sends_rare_characters_to_unk():
    tokenizer = CharTokenizer.from_documents([Document("", "aaab")], min_count=2)
    assert tokenizer.chars == ("a",)
    assert list(tokenizer.encode("ab")) == [3, UNK]


def test_encode_document_layout(tokenizer):
    tokens, m = tokenizer.encode_document(Document("cat", "sat"))
    assert m == 4                                   # title + SEP
    assert tokens[3] == SEP and tokens[-1] == EOT
    assert tokenizer.decode(tokens[:3]) == "cat" and tokenizer.decode(tokens[4:-1]) == "sat"
    assert len(tokens) - m == len("sat") + 1        # scored: text and end marker


def test_decode_names_the_markers_and_refuses_out_of_range(tokenizer):
    assert tokenizer.decode([SEP, EOT]) == "<sep><eot>"
    with pytest.raises(ValueError, match=r"token id must lie in \[0, "):
        tokenizer.decode([tokenizer.vocab_size])


def test_array_round_trip_keeps_a_nul_character():
    tokenizer = CharTokenizer(["\x00", "a", "\U0001F600"])
    arr = tokenizer.to_array()
    assert arr.dtype == np.int32
    assert CharTokenizer.from_array(arr) == tokenizer


@pytest.mark.parametrize("bad", [np.array([[97]]), np.array([1.5]), np.array([-1]),
                                 np.array([97, 97])])
def test_from_array_refuses_bad_arrays(bad):
    with pytest.raises(ValueError):
        CharTokenizer.from_array(bad)


def test_document_refuses_non_strings():
    with pytest.raises(TypeError, match="title"):
        Document(None, "x")


# --- readers ---------------------------------------------------------------------
def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_jsonl_reads_title_and_text_and_skips_blank_lines(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"title": "a", "text": "x", "extra": 1}\n\n{"title": "b", "text": "y"}\n')
    assert load_jsonl(path) == [Document("a", "x"), Document("b", "y")]


@pytest.mark.parametrize("line, message", [
    ('{"title": "a", "text": ', "invalid JSON"),
    ('["a", "b"]', "expected a JSON object"),
    ('{"title": "a"}', "missing field 'text'"),
    ('{"title": 3, "text": "x"}', "field 'title' must be a string"),
])
def test_malformed_jsonl_line_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"title": "ok", "text": "fine"}\n' + line + "\n")
    with pytest.raises(CorpusError, match=message) as info:
        load_jsonl(path)
    assert str(info.value).startswith(f"{path}:2:")
    assert info.value.line == 2


def test_invalid_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"title": "a", "text": "b"}\n{"title": "\xff", "text": "b"}\n')
    with pytest.raises(CorpusError, match=r"bad\.jsonl:2: not valid UTF-8"):
        load_jsonl(path)
    txt = tmp_path / "bad.txt"
    txt.write_bytes(b"line one\nline \xfe two\n")
    with pytest.raises(CorpusError, match=r"bad\.txt:2: not valid UTF-8"):
        load_text_file(txt)


def test_empty_jsonl_is_an_error(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n")
    with pytest.raises(CorpusError, match="no documents"):
        load_jsonl(path)


def test_text_folder_titles_are_file_stems_in_name_order(tmp_path):
    (tmp_path / "b.txt").write_text("second")
    (tmp_path / "a.txt").write_text("first\r\nline")
    (tmp_path / "notes.md").write_text("ignored")
    assert load_text_folder(tmp_path) == [Document("a", "first\nline"), Document("b", "second")]


def test_folder_without_txt_files_is_an_error(tmp_path):
    with pytest.raises(CorpusError, match="no .txt file"):
        load_text_folder(tmp_path)


def test_load_corpus_chooses_the_reader(tmp_path):
    (tmp_path / "one.txt").write_text("hello")
    jsonl = write_jsonl(tmp_path / "c.jsonl", [{"title": "t", "text": "x"}])
    assert load_corpus(tmp_path) == [Document("one", "hello")]
    assert load_corpus(tmp_path / "one.txt") == [Document("one", "hello")]
    assert load_corpus(jsonl) == [Document("t", "x")]
    with pytest.raises(CorpusError, match="no such file"):
        load_corpus(tmp_path / "missing")


# --- default corpus and split ----------------------------------------------------
def test_default_corpus_is_docstrings_titled_by_dotted_names():
    docs = default_corpus(["json", "heapq"])
    titles = [d.title for d in docs]
    assert titles[0] == "json" and "json.dumps" in titles and "heapq" in titles
    assert all(t.split(".")[0] in ("json", "heapq") for t in titles)
    assert all(len(d.text) >= 40 for d in docs)
    assert default_corpus(["json", "heapq"]) == docs


def test_default_corpus_skips_missing_modules():
    assert default_corpus(["no_such_module_xyz"]) == []


def test_split_holds_out_whole_documents_reproducibly():
    docs = [Document(str(i), "text %d" % i) for i in range(50)]
    train, valid = split_documents(docs, valid_fraction=0.2, seed=3)
    assert len(valid) == 10 and len(train) == 40
    assert sorted(train + valid, key=lambda d: int(d.title)) == docs
    assert split_documents(docs, valid_fraction=0.2, seed=3) == (train, valid)
    assert split_documents(docs, valid_fraction=0.2, seed=4) != (train, valid)


def test_split_of_one_document_cuts_its_text():
    text = "".join(f"line {i}\n" for i in range(100))
    train, valid = split_documents([Document("book", text)], valid_fraction=0.1)
    assert train[0].text + valid[0].text == text
    assert train[0].title == valid[0].title == "book"
    assert train[0].text.endswith("\n") and 0.05 < len(valid[0].text) / len(text) < 0.15


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_split_refuses_bad_fractions(fraction):
    with pytest.raises(ValueError, match="valid_fraction"):
        split_documents(DOCS, valid_fraction=fraction)


def test_default_corpus_does_not_depend_on_logging_capturing_warnings():
    # Sphinx (so the docs' tutorials) calls logging.captureWarnings(True), which
    # swaps warnings.showwarning; the demo does not: both must read the same corpus
    import logging
    import warnings

    before = default_corpus(["warnings"])
    logging.captureWarnings(True)
    try:
        assert warnings.showwarning.__module__ == "logging"
        after = default_corpus(["warnings"])
    finally:
        logging.captureWarnings(False)
    assert "warnings.showwarning" in [d.title for d in before]
    assert after == before


# --- layering -----------------------------------------------------------------------
def _imported_modules(path, package):
    """The absolute names of the modules a source file imports (relative ones resolved)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[:len(base) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names += [module] + [f"{module}.{alias.name}" for alias in node.names]
    return names


def test_data_does_not_import_training():
    # the layers: cli -> training -> data -> model/kernels; data sits below training
    files = sorted(Path(normrnn.data.__file__).parent.rglob("*.py"))
    assert len(files) >= 6
    offending = {f"{path.name}: {name}" for path in files
                 for name in _imported_modules(path, "normrnn.data")
                 if name == "normrnn.training" or name.startswith("normrnn.training.")}
    assert not offending


def test_the_import_scan_resolves_relative_imports(tmp_path):
    source = tmp_path / "module.py"
    source.write_text("from ..training.streams import x\nfrom .. import training\n"
                      "from . import corpus\nimport normrnn.training\n")
    names = _imported_modules(source, "normrnn.data")
    assert {"normrnn.training.streams", "normrnn.training", "normrnn.data.corpus"} <= set(names)
