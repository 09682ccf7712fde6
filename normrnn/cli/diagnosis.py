"""What a finished training run's numbers say, in words, and what to change.

:func:`diagnose` reads the summary of ``normrnn train``
(:func:`normrnn.cli.train.summary`) and names what it sees:

* **duplicates**: validation documents that are copies of training documents
  make the validation loss a training loss;
* **overfitting**: validation trails training by more than
  :data:`OVERFIT_MARGIN` bits per token;
* where the validation loss stands against the **unigram** and **bigram**
  baselines (a model that remembers nothing, and one that remembers the
  previous character).
"""

__all__ = ["OVERFIT_MARGIN", "diagnose"]

#: Bits per token by which validation may trail training before the run is called
#: overfitting.  Validation documents are new text, so some gap is expected.
OVERFIT_MARGIN = 0.1


def _duplicates(info):
    lines = []
    if info["duplicate_documents"]:
        lines.append(f"{info['duplicate_documents']} of the {info['documents']} documents "
                     "repeat another document's text.")
    if info["valid_documents_in_training"]:
        lines.append(f"{info['valid_documents_in_training']} of the "
                     f"{info['valid_documents']} validation documents are also training "
                     "documents: validation is then not held out, and its loss is partly "
                     "a training loss.  Remove the copies from DATA.")
    return lines


def _gap(info):
    return info["valid_bits_per_token"] - info["train_bits_per_token"]


def _overfitting(info):
    gap = _gap(info)
    if not gap > OVERFIT_MARGIN:
        return []
    text = (f"Overfitting: validation trails training by {gap:.3f} bits/token (more than "
            f"{OVERFIT_MARGIN}): the model learns the training documents rather than what "
            "carries over to new text.")
    best, step = info.get("best_valid_bits_per_token"), info.get("best_valid_step")
    if best is not None and best < info["valid_bits_per_token"] - 0.01:
        text += (f"  Validation was best, {best:.4f}, at step {step}: fewer --epochs "
                 f"(or --max-steps {step}) would have stopped there.")
    text += "  Try more documents, a smaller --hidden, or a shorter budget."
    return [text]


def _baselines(info):
    valid, unigram = info["valid_bits_per_token"], info["unigram_bits_per_token"]
    bigram = info.get("bigram_bits_per_token")
    overfitting = _gap(info) > OVERFIT_MARGIN      # then training longer does not help
    if valid >= unigram:
        return ["Validation is no better than the unigram baseline" + (
            "." if overfitting else ": the model has not learnt yet.  Train longer "
            "(--epochs, --minutes) or raise --lr.")]
    if bigram is not None and valid >= bigram:
        return ["Validation is between the unigram and bigram baselines: the model uses "
                "less than the previous character so far." + ("" if overfitting else
                "  Train longer (--epochs, --minutes); with --gain learned the state can "
                "remember more.")]
    return []


def diagnose(info):
    """Sentences on what a run's numbers show, most serious first.

    Parameters
    ----------
    info : dict
        :func:`normrnn.cli.train.summary` of the run.

    Returns
    -------
    list of str
        Empty when nothing is worth a word.
    """
    return _duplicates(info) + _overfitting(info) + _baselines(info)
