"""``normrnn train``'s summary names overfitting and duplicated documents, beside both baselines."""

import json

import numpy as np
import pytest

from normrnn import cli
from normrnn.cli.diagnosis import OVERFIT_MARGIN, diagnose
from normrnn.data.duplicates import find_duplicates

SMALL = ["--batch-size", "4", "--threads", "1", "--no-progress"]


def _info(train, valid, unigram=4.0, bigram=3.0, **extra):
    return {"train_bits_per_token": train, "valid_bits_per_token": valid,
            "unigram_bits_per_token": unigram, "bigram_bits_per_token": bigram,
            "best_valid_bits_per_token": valid, "best_valid_step": 10,
            "documents": 10, "duplicate_documents": 0, "valid_documents": 1,
            "valid_documents_in_training": 0, **extra}


def test_overfitting_named_beyond_the_margin_only():
    assert diagnose(_info(2.0, 2.0 + OVERFIT_MARGIN * 0.9)) == []
    said = " ".join(diagnose(_info(2.0, 2.0 + OVERFIT_MARGIN * 1.5)))
    assert "Overfitting" in said and f"more than {OVERFIT_MARGIN}" in said
    assert "smaller --hidden" in said


def test_overfitting_points_at_the_best_validation():
    said = " ".join(diagnose(_info(1.0, 2.5, best_valid_bits_per_token=2.2,
                                   best_valid_step=30)))
    assert "best, 2.2000, at step 30" in said and "--max-steps 30" in said


def test_baselines_give_advice():
    assert "unigram" in " ".join(diagnose(_info(4.1, 4.1)))
    assert "between the unigram and bigram" in " ".join(diagnose(_info(3.4, 3.4)))


def test_find_duplicates_compares_texts_not_titles():
    a = (np.array([1, 2, 3, 4], dtype=np.int32), 1)
    same_text = (np.array([9, 2, 3, 4], dtype=np.int32), 1)
    other = (np.array([1, 2, 3, 5], dtype=np.int32), 1)
    found = find_duplicates([a, other], [same_text])
    assert (found.repeated, found.documents, found.valid_in_train, found.valid) == (1, 3, 1, 1)
    assert not found.held_out
    assert find_duplicates([a], [other]).held_out


def _write_jsonl(path, documents):
    path.write_text("".join(json.dumps({"title": t, "text": x}) + "\n" for t, x in documents),
                    encoding="utf-8")
    return path


def test_train_names_duplicated_documents(capsys, tmp_path):
    documents = [(f"t{i}", f"the cat sat on mat number {i}.") for i in range(10)] * 3
    data = _write_jsonl(tmp_path / "dup.jsonl", documents)
    assert cli.main(["train", str(data), "--out", str(tmp_path / "m.npz"), "--hidden", "8",
                     "--max-steps", "5", *SMALL]) == 0
    out = " ".join(capsys.readouterr().out.split())      # sentences are wrapped
    assert "20 of the 30 documents repeat another document's text." in out
    assert "3 of the 3 validation documents are also training documents" in out
    assert "validation is then not held out" in out


@pytest.fixture
def random_letters(tmp_path):
    rng = np.random.default_rng(0)
    return _write_jsonl(tmp_path / "random.jsonl", [
        (f"d{i}", "".join(rng.choice(list("abcdefgh"), size=200))) for i in range(12)])


def test_train_names_overfitting_and_both_baselines(capsys, tmp_path, random_letters):
    # random letters: nothing carries over to new documents, so a model that
    # remembers its training documents' letters overfits
    assert cli.main(["train", str(random_letters), "--out", str(tmp_path / "m.npz"),
                     "--hidden", "48", "--gain", "learned", "--lr", "0.03",
                     "--max-steps", "300", *SMALL]) == 0
    out = " ".join(capsys.readouterr().out.split())      # sentences are wrapped
    assert "(baselines: unigram " in out and ", bigram " in out
    assert "Overfitting: validation trails training by" in out
    assert "--json" not in out


def test_json_summary_holds_the_new_facts(capsys, tmp_path, random_letters):
    assert cli.main(["train", str(random_letters), "--out", str(tmp_path / "m.npz"),
                     "--hidden", "8", "--max-steps", "3", "--json", *SMALL]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["bigram_bits_per_token"] > 0
    assert (info["documents"], info["duplicate_documents"]) == (12, 0)
    assert info["valid_documents_in_training"] == 0
    assert info["best_valid_step"] is not None
