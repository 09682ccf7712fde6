"""A small synthetic corpus with strong character structure, for fast training tests."""

import numpy as np

from normrnn.data import Document

WORDS = ["the", "cat", "sat", "on", "mat", "dog", "ran", "to", "a", "hat"]


def toy_corpus(n=150, seed=0, words=(4, 14)):
    """``n`` documents of random sentences over a ten-word vocabulary."""
    rng = np.random.default_rng(seed)
    return [Document(f"doc{i}", " ".join(rng.choice(WORDS, size=rng.integers(*words))) + ".")
            for i in range(n)]


def write_folder(path, documents):
    """Write documents as ``title.txt`` files into ``path``; return ``path``."""
    path.mkdir(parents=True, exist_ok=True)
    for doc in documents:
        (path / f"{doc.title}.txt").write_text(doc.text, encoding="utf-8")
    return path
