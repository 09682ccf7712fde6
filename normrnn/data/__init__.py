"""Documents, the character tokenizer, and the corpora they come from.

A :class:`Document` is a title and a text; :class:`CharTokenizer` turns it into
``tokens = title + [SEP] + text + [EOT]`` with ``title_length = len(title) + 1``
so the loss covers the text and the end marker only.  Corpora are read from
JSON Lines, a folder of ``.txt`` files or one ``.txt`` file
(:func:`load_corpus`), or built from the standard library's docstrings
(:func:`default_corpus`).
"""

from .corpus import (CorpusError, Document, load_corpus, load_jsonl, load_text_file,
                     load_text_folder)
from .default_corpus import DEFAULT_MODULES, default_corpus
from .split import split_documents
from .tokenizer import EOT, SEP, SPECIAL_TOKENS, UNK, CharTokenizer

__all__ = [
    "Document",
    "CharTokenizer",
    "UNK",
    "SEP",
    "EOT",
    "SPECIAL_TOKENS",
    "CorpusError",
    "load_corpus",
    "load_jsonl",
    "load_text_file",
    "load_text_folder",
    "DEFAULT_MODULES",
    "default_corpus",
    "split_documents",
]
