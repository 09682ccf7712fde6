"""Characters the terminal cannot encode never crash a command.

A vocabulary may hold characters the terminal's encoding lacks, or lone
surrogates (no encoding has them) from a crafted checkpoint: ``sample`` prints
them as backslash escapes.  A file name that is not UTF-8 gives a title with
U+FFFD in place of its undecodable bytes.
"""

import os

import numpy as np
import pytest
from _cli import cli_env, run_cli
from _toy import toy_corpus

from normrnn.data import CharTokenizer, load_text_folder
from normrnn.data.corpus import title_from_name
from normrnn.training import TrainConfig, Trainer, load_checkpoint

ODD = ("\ud800", "\udcff", "é", "€", "\U0001f600")


@pytest.fixture(scope="module")
def odd_checkpoint(tmp_path_factory):
    """A checkpoint whose vocabulary is mostly characters ASCII cannot encode."""
    path = tmp_path_factory.mktemp("odd") / "odd.npz"
    trainer = Trainer.new(toy_corpus(n=8), TrainConfig(hidden_size=4, max_steps=1, batch_size=2,
                                                       n_threads=1), checkpoint_path=path,
                          progress=False)
    trainer.run()
    chars = list(trainer.tokenizer.chars)
    chars[:len(ODD)] = ODD                      # a crafted vocabulary: same size, odd characters
    trainer.tokenizer = CharTokenizer(chars)
    trainer.save()
    return path


def test_the_crafted_vocabulary_loads(odd_checkpoint):
    assert set(ODD) <= set(load_checkpoint(odd_checkpoint).tokenizer.chars)


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "utf-8"])
def test_sample_prints_what_it_cannot_encode_as_escapes(odd_checkpoint, encoding):
    seen = set()
    for seed in range(6):
        done = run_cli("sample", odd_checkpoint, "--title", "doc1", "--max-tokens", "400",
                       "--temperature", "50", "--seed", seed,
                       env=cli_env(PYTHONIOENCODING=encoding), encoding=encoding)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        seen |= {c for c in ("\\ud800", "\\udcff") if c in done.stdout}
        if seen:
            break
    assert seen, "the samples never drew a surrogate: the test did not test"


def test_an_unencodable_title_does_not_crash(odd_checkpoint):
    done = run_cli("sample", odd_checkpoint, "--title", "caf\u00e9 \u20ac", "--max-tokens", "5",
                   env=cli_env(PYTHONIOENCODING="ascii"))
    assert done.returncode == 0 and "Traceback" not in done.stderr


@pytest.mark.skipif(os.name == "nt" or os.uname().sysname == "Darwin",
                    reason="needs a file system whose names are any bytes")
def test_a_non_utf8_file_name_gives_a_replacement_character(tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    name = os.fsencode(folder) + b"/caf\xe9.txt"
    with open(name, "wb") as fh:
        fh.write(b"some text")
    (document,) = load_text_folder(folder)
    assert document.title == "caf\ufffd" and document.text == "some text"
    assert title_from_name("plain name.txt") == "plain name"
    document.title.encode("utf-8")               # a character, not a surrogate


def test_from_array_round_trips_odd_characters():
    tok = CharTokenizer(ODD)
    assert CharTokenizer.from_array(tok.to_array()) == tok
    assert np.array_equal(tok.to_array(), [ord(c) for c in ODD])
