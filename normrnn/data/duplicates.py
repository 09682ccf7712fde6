"""Documents that repeat: a validation set that holds copies of training documents is not held out."""

from dataclasses import dataclass

__all__ = ["Duplicates", "find_duplicates"]


@dataclass
class Duplicates:
    """How many documents of a split corpus repeat another's text.

    Attributes
    ----------
    repeated : int
        Documents (training and validation) whose scored text equals that of
        an earlier document: copies beyond the first.
    documents : int
        All documents.
    valid_in_train : int
        Validation documents whose scored text is also a training document's.
    valid : int
        Validation documents.
    """

    repeated: int
    documents: int
    valid_in_train: int
    valid: int

    @property
    def held_out(self):
        """Whether no validation document is a copy of a training document."""
        return self.valid_in_train == 0


def _text_key(document):
    tokens, title_length = document
    return bytes(memoryview(tokens[title_length:]).cast("B"))


def find_duplicates(train, valid):
    """Count the repeated documents of a split, encoded corpus.

    Two documents are the same when their scored tokens (text and end marker,
    the part the loss covers) are equal, whatever their titles.

    Parameters
    ----------
    train, valid : list of (ndarray, int)
        Encoded documents ``(tokens, title_length)``, as in
        :class:`~normrnn.data.corpus_setup.EncodedCorpus`.

    Returns
    -------
    Duplicates
    """
    train_keys = [_text_key(d) for d in train]
    valid_keys = [_text_key(d) for d in valid]
    every = train_keys + valid_keys
    seen = set(train_keys)
    return Duplicates(repeated=len(every) - len(set(every)), documents=len(every),
                      valid_in_train=sum(key in seen for key in valid_keys),
                      valid=len(valid_keys))
