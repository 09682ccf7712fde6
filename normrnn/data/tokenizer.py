"""A character-level tokenizer with a title separator and an end marker.

The encoding of a :class:`~normrnn.data.Document` is::

    tokens       = title characters + [SEP] + text characters + [EOT]
    title_length = len(title) + 1

so the model reads the title and the separator without being scored on them,
and is scored on every text character and on the end marker: it learns what to
write after a title, and when to stop.

**Unknown characters.** The vocabulary is the set of characters seen when the
tokenizer is built (optionally only those seen at least ``min_count`` times).
Any other character is encoded as the reserved token ``UNK`` (id 0) and
decoded as U+FFFD, the Unicode replacement character. Encoding never fails on
text.
"""

from collections import Counter

import numpy as np

from .. import _validate
from .corpus import Document

__all__ = ["CharTokenizer", "UNK", "SEP", "EOT", "SPECIAL_TOKENS"]

#: Id of the unknown-character token.
UNK = 0
#: Id of the separator between title and text.
SEP = 1
#: Id of the end-of-text marker.
EOT = 2
#: Printable names of the reserved tokens, by id.
SPECIAL_TOKENS = ("<unk>", "<sep>", "<eot>")

_REPLACEMENT = "\ufffd"


class CharTokenizer:
    """Map characters to token ids and back.

    Ids 0, 1, 2 are reserved for ``UNK``, ``SEP`` and ``EOT``; the characters
    follow, in the order given.

    Parameters
    ----------
    chars : iterable of str
        Distinct single characters, the vocabulary.

    Attributes
    ----------
    chars : tuple of str
        The characters; character ``chars[i]`` has id ``i + 3``.
    """

    def __init__(self, chars):
        chars = tuple(chars)
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"vocabulary entries must be single characters, got {c!r}")
        if len(set(chars)) != len(chars):
            raise ValueError("vocabulary characters must be distinct")
        self.chars = chars
        self._ids = {c: i + len(SPECIAL_TOKENS) for i, c in enumerate(chars)}

    @classmethod
    def from_documents(cls, documents, *, min_count=1):
        """Build the vocabulary from the titles and texts of ``documents``.

        Parameters
        ----------
        documents : iterable of Document
        min_count : int, optional
            Characters seen fewer times become ``UNK`` (so the model learns a
            probability for rare characters).  The default keeps every one.

        Returns
        -------
        CharTokenizer
            Characters sorted by code point, so the same corpus always gives
            the same ids.
        """
        counts = Counter()
        for doc in documents:
            if not isinstance(doc, Document):
                raise TypeError(f"documents must hold Document objects, got {type(doc).__name__}")
            counts.update(doc.title)
            counts.update(doc.text)
        return cls(sorted(c for c, n in counts.items() if n >= min_count))

    @property
    def vocab_size(self):
        """V: the reserved tokens plus the characters."""
        return len(SPECIAL_TOKENS) + len(self.chars)

    def __eq__(self, other):
        return isinstance(other, CharTokenizer) and self.chars == other.chars

    def __hash__(self):
        return hash(self.chars)

    def __repr__(self):
        return f"CharTokenizer(vocab_size={self.vocab_size})"

    def encode(self, text):
        """Token ids of ``text``, unknown characters as ``UNK``.

        Parameters
        ----------
        text : str

        Returns
        -------
        ndarray of int32, shape (len(text),)
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        get = self._ids.get
        return np.fromiter((get(c, UNK) for c in text), dtype=np.int32, count=len(text))

    def decode(self, ids):
        """The text of token ids.

        ``UNK`` decodes as U+FFFD; ``SEP`` and ``EOT`` as ``"<sep>"`` and
        ``"<eot>"``, so nothing is hidden.

        Parameters
        ----------
        ids : iterable of int

        Returns
        -------
        str

        Raises
        ------
        TypeError
            If ``ids`` is a string or holds something other than integers.
        ValueError
            If an id is outside [0, ``vocab_size``).
        """
        if isinstance(ids, (str, bytes)):
            raise TypeError(f"ids must be a sequence of integer token ids, got {type(ids).__name__}")
        out = []
        for i in ids:
            i = _validate.in_range(i, "token id", 0, self.vocab_size)
            if i == UNK:
                out.append(_REPLACEMENT)
            elif i < len(SPECIAL_TOKENS):
                out.append(SPECIAL_TOKENS[i])
            else:
                out.append(self.chars[i - len(SPECIAL_TOKENS)])
        return "".join(out)

    def encode_title(self, title):
        """The prefix that conditions a text: title characters, then ``SEP``.

        Parameters
        ----------
        title : str

        Returns
        -------
        ndarray of int32, shape (len(title) + 1,)
        """
        if not isinstance(title, str):
            raise TypeError(f"title must be a str, got {type(title).__name__}")
        return np.append(self.encode(title), np.int32(SEP)).astype(np.int32)

    def encode_document(self, document):
        """Tokens and title length of a document.

        Parameters
        ----------
        document : Document

        Returns
        -------
        tokens : ndarray of int32
            Title, ``SEP``, text, ``EOT``.
        title_length : int
            ``len(title) + 1``: the positions that condition but are not scored.
        """
        if not isinstance(document, Document):
            raise TypeError(f"document must be a Document, got {type(document).__name__}")
        tokens = np.concatenate([self.encode_title(document.title),
                                 self.encode(document.text), np.array([EOT], np.int32)])
        return tokens, len(document.title) + 1

    def to_array(self):
        """The characters as an int32 array of Unicode code points.

        Code points rather than a NumPy string array, which would silently
        drop a NUL character (NumPy strips trailing NULs from strings).

        Returns
        -------
        ndarray of int32, shape (len(chars),)
        """
        return np.array([ord(c) for c in self.chars], dtype=np.int32)

    @classmethod
    def from_array(cls, codepoints):
        """Inverse of :meth:`to_array`; raises ``ValueError`` on a bad array.

        Parameters
        ----------
        codepoints : ndarray of int32, shape (n,)

        Returns
        -------
        CharTokenizer
        """
        arr = np.asarray(codepoints)
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise ValueError("vocabulary must be a 1-D integer array of code points, "
                             f"got dtype {arr.dtype} and shape {arr.shape}")
        if arr.size and (arr.min() < 0 or arr.max() > 0x10FFFF):
            raise ValueError("vocabulary holds a value that is not a Unicode code point")
        return cls(chr(int(c)) for c in arr)
