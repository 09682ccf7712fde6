"""Hold out part of a corpus for validation."""

import numpy as np

from .corpus import Document

__all__ = ["split_documents"]


def _split_text(document, valid_fraction):
    """Cut one document's text in two at a line break near the cut point."""
    text = document.text
    cut = int(round(len(text) * (1.0 - valid_fraction)))
    newline = text.rfind("\n", 0, cut)
    if newline > len(text) // 2:
        cut = newline + 1
    return [Document(document.title, text[:cut])], [Document(document.title, text[cut:])]


def split_documents(documents, *, valid_fraction=0.1, seed=0):
    """Split documents into a training and a validation list.

    Whole documents are held out: a random ``valid_fraction`` of them (at
    least one), chosen with ``seed``, keeping the corpus order within each
    list.  A corpus of a single document (for example one ``.txt`` file) is
    instead cut in two: the first ``1 - valid_fraction`` of its text trains,
    the rest validates (the cut moved back to a line break when one is in the
    second half).

    Parameters
    ----------
    documents : sequence of Document
    valid_fraction : float, optional
        In (0, 1).
    seed : int, optional
        Seed of the choice of held-out documents.

    Returns
    -------
    train, valid : list of Document
        Both non-empty.
    """
    documents = list(documents)
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must lie in (0, 1), got {valid_fraction!r}")
    if not documents:
        raise ValueError("cannot split an empty corpus")
    if len(documents) == 1:
        return _split_text(documents[0], valid_fraction)
    n_valid = min(len(documents) - 1, max(1, int(round(valid_fraction * len(documents)))))
    held_out = set(np.random.default_rng(seed).choice(len(documents), n_valid, replace=False)
                   .tolist())
    train = [d for i, d in enumerate(documents) if i not in held_out]
    valid = [d for i, d in enumerate(documents) if i in held_out]
    return train, valid
