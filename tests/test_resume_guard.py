"""Resuming on other data is refused in one line unless ``--allow-new-corpus`` is given.

The checkpoint stores a fingerprint of the corpus (SHA-256 of every title and
text, in order); ``train --resume`` compares it with DATA's before any
training.  A checkpoint saved without one (``fingerprint=""``, as the library's
``save_checkpoint`` allows) cannot tell, and resumes unchecked.
"""

import json
import warnings

import numpy as np
import pytest
from _cli_run import (TINY, assert_refused, assert_succeeded, make_checkpoint, run_all,
                      write_jsonl)
from _toy import toy_corpus

from normrnn.data import Document
from normrnn.training import Trainer, load_checkpoint
from normrnn.training.checkpoint import checksum


def other_language(folder):
    """As many documents as the checkpoint's corpus, in characters it never saw."""
    docs = [Document(f"doc{i}", "Щука плавает в реке " * (1 + i % 3))
            for i in range(12)]
    path = folder / "other.jsonl"
    path.write_text("".join(json.dumps({"title": d.title, "text": d.text}) + "\n"
                            for d in docs))
    return path


def without_fingerprint(path):
    """Rewrite the checkpoint as an older writer would: an empty fingerprint."""
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files if k != "checksum"}
    progress = json.loads(str(arrays["progress"]))
    progress["fingerprint"] = ""
    arrays["progress"] = np.array(json.dumps(progress))
    arrays["checksum"] = np.array(checksum(arrays))
    np.savez(path, **arrays)
    return path


def setup(folder, *, data, fingerprint=True):
    ck = make_checkpoint(folder / "ck.npz")
    if not fingerprint:
        without_fingerprint(ck)
    write_jsonl(folder / "data.jsonl")                  # the checkpoint's own corpus
    write_jsonl(folder / "more.jsonl", n=20, seed=1)    # another corpus of the same kind
    other_language(folder)
    return ["train", data, *TINY, "--resume", "ck.npz", "--out", "ck.npz", "--max-steps", "2"]


CASES = {
    # id: (data, extra flags, fingerprint kept, expected: refused or files that may change)
    "same-corpus": ("data.jsonl", [], True, {"ck.npz"}),
    "other-language": ("other.jsonl", [], True, "refused"),
    "other-corpus-more-documents": ("more.jsonl", [], True, "refused"),
    "other-language-allowed": ("other.jsonl", ["--allow-new-corpus"], True, {"ck.npz"}),
    "more-documents-allowed": ("more.jsonl", ["--allow-new-corpus"], True, {"ck.npz"}),
    "no-fingerprint-same-corpus": ("data.jsonl", [], False, {"ck.npz"}),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    jobs = {}
    for key, (data, extra, fingerprint, _) in CASES.items():
        folder = tmp_path_factory.mktemp(key)
        jobs[key] = (folder, [*setup(folder, data=data, fingerprint=fingerprint), *extra])
    return {key: (jobs[key][0], outcome) for key, outcome in run_all(jobs).items()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_resume_on_other_data(outcomes, case):
    folder, outcome = outcomes[case]
    expected = CASES[case][3]
    assert "Warning" not in outcome.stderr            # no raw UserWarning with a source line
    if expected == "refused":
        assert_refused(outcome, "DATA differs from the corpus ck.npz was trained on",
                       "--allow-new-corpus")
    else:
        assert_succeeded(outcome, may_change=expected)
        assert load_checkpoint(folder / "ck.npz").state.step == 2


def test_the_refusal_counts_the_unknown_characters(outcomes):
    _, outcome = outcomes["other-language"]
    assert " tokens are characters the checkpoint's vocabulary lacks" in outcome.stderr
    _, outcome = outcomes["other-corpus-more-documents"]
    assert "(0 of its" in outcome.stderr                 # same characters, other texts


def test_the_library_refuses_too_without_a_warning(tmp_path):
    ck = load_checkpoint(make_checkpoint(tmp_path / "ck.npz"))
    other = [Document(d.title, d.text.upper()) for d in toy_corpus(n=12)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="allow_new_corpus=True"):
            Trainer.resume(ck, other, progress=False)
        trainer = Trainer.resume(ck, other, allow_new_corpus=True, progress=False,
                                 overrides={"max_steps": 3, "epochs": None})
        assert trainer.run().state.step == 3


def test_a_checkpoint_without_fingerprint_resumes_on_any_corpus(tmp_path):
    ck = load_checkpoint(without_fingerprint(make_checkpoint(tmp_path / "ck.npz")))
    assert ck.fingerprint == ""
    trainer = Trainer.resume(ck, toy_corpus(n=12), progress=False,
                             overrides={"max_steps": 2, "epochs": None})
    assert trainer.run().state.step == 2


# --- what a resume may change: TrainConfig.resumed, the one place that says it ------------

def test_resumed_config_changes_only_the_budget_and_the_learning_rate():
    from normrnn.training import RESUMABLE_FIELDS, TrainConfig
    saved = TrainConfig(hidden_size=8, epochs=3, lr=0.1, batch_size=4)
    assert set(RESUMABLE_FIELDS) == {"epochs", "minutes", "max_steps", "lr"}
    assert saved.resumed({}) == saved
    assert saved.resumed({"lr": 0.5}) == TrainConfig(hidden_size=8, epochs=3, lr=0.5,
                                                      batch_size=4)
    # a budget given replaces the saved budget as a whole
    assert saved.resumed({"minutes": 2.0}) == TrainConfig(hidden_size=8, minutes=2.0, lr=0.1,
                                                          batch_size=4)
    # a field that defines the run: accepted with its saved value, refused with another
    assert saved.resumed({"hidden_size": 8, "max_steps": 5}).max_steps == 5
    with pytest.raises(ValueError, match=r"cannot change \['batch_size', 'hidden_size'\]"):
        saved.resumed({"hidden_size": 9, "batch_size": 5, "epochs": 1})
