"""Read documents from JSON Lines, a folder of ``.txt`` files, or one ``.txt`` file.

A :class:`Document` is a title that conditions and a text that is scored.
Every reader returns a list of them.  Anything that
cannot be read raises :class:`CorpusError`, whose message names the file and,
where there is one, the line.  Files are UTF-8; a leading byte order mark
(which some Windows editors write) is skipped.

**Size limit.**  A corpus may hold at most :data:`MAX_CORPUS_BYTES` bytes
(256 MB; a folder's files together): more is refused with a
:class:`CorpusError` before it is read, or, for something without a size
(``/dev/zero``, a pipe), as soon as that much has been read.  Every reader
takes ``max_bytes`` to change it; without it, the environment variable
``NORMRNN_MAX_CORPUS_MB`` (megabytes) does, for the ``normrnn`` command too.
"""

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from .._printable import show_path

_BOM = "\ufeff"
_SURROGATE = re.compile("[\ud800-\udfff]")

__all__ = ["Document", "CorpusError", "MAX_CORPUS_BYTES", "load_corpus", "load_jsonl",
           "load_text_folder", "load_text_file", "text_folder_files"]


@dataclass(frozen=True)
class Document:
    """One training example: a title and a text.

    The model reads the title first, then the text; the loss covers only the
    text (and the end-of-text marker), so the title acts as a condition: at
    sampling time a new title is given and the model writes a text for it.

    Parameters
    ----------
    title : str
        The condition, for example a file name stem or a module name.  May be
        empty.
    text : str
        The text to model.  May be empty: the document then teaches the model
        only to end right after the title.

    Examples
    --------
    >>> Document("json", "JSON (JavaScript Object Notation) is ...").title
    'json'
    """

    title: str
    text: str

    def __post_init__(self):
        for name in ("title", "text"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(f"Document.{name} must be a str, got {type(value).__name__}")


#: The most bytes a corpus is read (see the module's documentation).
MAX_CORPUS_BYTES = 256 * 10**6
_READ_BLOCK = 2**20


class CorpusError(ValueError):
    """A corpus file that cannot be read, with the file (and line) in the message.

    Parameters
    ----------
    path : str or Path
        The offending file.
    message : str
        What is wrong.
    line : int or None, optional
        1-based line number, if the problem is on one line.
    """

    def __init__(self, path, message, line=None):
        where = show_path(path) if line is None else f"{show_path(path)}:{line}"
        super().__init__(f"{where}: {message}")
        self.path = Path(path)
        self.line = line


def _decode(path, data, line=None):
    """Decode UTF-8 bytes, turning a decoding error into a :class:`CorpusError`."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if line is None:
            line = data[:exc.start].count(b"\n") + 1
        raise CorpusError(path, f"not valid UTF-8 ({exc.reason} at byte {exc.start})",
                          line) from None


def _limit(max_bytes, path):
    if max_bytes is None:
        text = os.environ.get("NORMRNN_MAX_CORPUS_MB", "").strip()
        if not text:
            return MAX_CORPUS_BYTES
        try:
            megabytes = float(text)
        except ValueError:
            megabytes = -1.0
        if not 0 <= megabytes < 1e12:
            raise CorpusError(path, f"NORMRNN_MAX_CORPUS_MB must be a number of megabytes, "
                              f"got {text!r}")
        return int(megabytes * 10**6)
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise ValueError(f"max_bytes must be a non-negative integer or None, got {max_bytes!r}")
    return max_bytes


def _too_large(path, max_bytes):
    return CorpusError(path, f"larger than the corpus limit of {max_bytes:,} bytes "
                       "(set the environment variable NORMRNN_MAX_CORPUS_MB to read more)")


def _read_bytes(path, max_bytes=None):
    """The file's bytes, or a CorpusError once there are more than ``max_bytes``.

    The size of a regular file is checked before reading; anything else
    (a device, a pipe) is read in blocks, never past the limit.
    """
    max_bytes = _limit(max_bytes, path)
    try:
        with open(path, "rb") as fh:
            info = os.fstat(fh.fileno())
            if stat.S_ISREG(info.st_mode) and info.st_size > max_bytes:
                raise _too_large(path, max_bytes)
            data = bytearray()
            while block := fh.read(min(_READ_BLOCK, max_bytes + 1 - len(data))):
                data += block
                if len(data) > max_bytes:
                    raise _too_large(path, max_bytes)
            return bytes(data)
    except OSError as exc:
        raise CorpusError(path, f"cannot read ({exc.strerror or exc})") from None


def _document_from_json(path, line_number, line):
    """One JSON Lines record as a Document."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(path, f"invalid JSON ({exc.msg}, column {exc.colno})",
                          line_number) from None
    except (ValueError, RecursionError) as exc:     # nested too deep, a number too long
        raise CorpusError(path, f"invalid JSON ({type(exc).__name__}: {exc})",
                          line_number) from None
    if not isinstance(record, dict):
        raise CorpusError(path, f"expected a JSON object with 'title' and 'text', "
                          f"got {type(record).__name__}", line_number)
    for key in ("title", "text"):
        if key not in record:
            raise CorpusError(path, f"missing field {key!r}", line_number)
        if not isinstance(record[key], str):
            raise CorpusError(path, f"field {key!r} must be a string, "
                              f"got {type(record[key]).__name__}", line_number)
        bad = _SURROGATE.search(record[key])
        if bad:       # from an escape like \ud800: cannot be printed or saved as UTF-8
            raise CorpusError(path, f"field {key!r} holds a lone surrogate "
                              f"U+{ord(bad.group()):04X} (not a Unicode character)",
                              line_number)
    return Document(record["title"], record["text"])


# load_jsonl, load_text_file and load_text_folder take the same (path, *,
# max_bytes) and each documents them in full: their docstrings read alike on purpose.

def load_jsonl(path, *, max_bytes=None):
    """Read a JSON Lines file: one object with string ``title`` and ``text`` per line.

    Blank lines are skipped; other fields are ignored.

    Parameters
    ----------
    path : str or Path
    max_bytes : int or None, optional
        Refuse a file larger than this (default :data:`MAX_CORPUS_BYTES`).

    Returns
    -------
    list of Document

    Raises
    ------
    CorpusError
        On a file larger than ``max_bytes``; on a line that is not valid
        UTF-8 or JSON, not an object, or lacks a string ``title`` or
        ``text`` (or one holds a lone surrogate escape such as
        ``"\\ud800"``, which is not a character); the message names the file
        and line.
    """
    data = _read_bytes(path, max_bytes)
    documents = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        line = _decode(path, raw, number)
        if number == 1:
            line = line.removeprefix(_BOM)
        if line.strip():
            documents.append(_document_from_json(path, number, line))
    if not documents:
        raise CorpusError(path, "no documents (the file is empty)")
    return documents


def title_from_name(path):
    """The title a file name gives: its stem, with bytes that are not UTF-8 as U+FFFD.

    A file name is bytes on most systems, and Python keeps bytes that are not
    UTF-8 as lone surrogates, which are not characters: they could enter the
    vocabulary, and neither be printed nor saved as text.  They become the
    replacement character instead, as ``bytes.decode(errors="replace")`` does.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str
    """
    stem = Path(path).stem
    return os.fsencode(stem).decode("utf-8", errors="replace") if _SURROGATE.search(stem) else stem


def load_text_file(path, *, max_bytes=None):
    """Read one UTF-8 ``.txt`` file as one document titled by its file name stem.

    Parameters
    ----------
    path : str or Path
    max_bytes : int or None, optional
        Refuse a file larger than this (default :data:`MAX_CORPUS_BYTES`).

    Returns
    -------
    list of Document
        A single document; ``"\\r\\n"`` line ends are read as ``"\\n"``.
        An empty file gives a document with an empty text.  The title is
        :func:`title_from_name`: undecodable bytes of the name become U+FFFD.
    """
    path = Path(path)
    text = _decode(path, _read_bytes(path, max_bytes)).removeprefix(_BOM).replace("\r\n", "\n")
    return [Document(title_from_name(path), text)]


def text_folder_files(path):
    """The files :func:`load_text_folder` reads: every ``*.txt`` file directly inside, sorted.

    Parameters
    ----------
    path : str or Path
        A folder.

    Returns
    -------
    list of Path
    """
    return sorted(p for p in Path(path).iterdir() if p.suffix == ".txt" and p.is_file())


def load_text_folder(path, *, max_bytes=None):
    """Read every ``*.txt`` file directly inside a folder, in name order.

    Parameters
    ----------
    path : str or Path
    max_bytes : int or None, optional
        Refuse files larger than this together (default :data:`MAX_CORPUS_BYTES`).

    Returns
    -------
    list of Document
        One per file: title = file name stem, text = its content.

    Raises
    ------
    CorpusError
        If the folder holds no ``.txt`` file, one is not valid UTF-8, or they
        hold more than ``max_bytes`` bytes together.
    """
    path = Path(path)
    files = text_folder_files(path)
    if not files:
        raise CorpusError(path, "folder holds no .txt file")
    limit = _limit(max_bytes, path)
    left, documents = limit, []
    for f in files:
        try:
            documents += load_text_file(f, max_bytes=left)
        except CorpusError as exc:
            if str(exc).startswith(f"{f}: larger than the corpus limit"):
                raise _too_large(path, limit) from None
            raise
        left -= f.stat().st_size
    return documents


def load_corpus(path, *, max_bytes=None):
    """Read documents from ``path``, choosing the reader by what it is.

    ======================  =================================================
    ``path``                read as
    ======================  =================================================
    a folder                :func:`load_text_folder`
    ``*.jsonl``/``*.json``  :func:`load_jsonl`
    ``*.txt`` (any other)   :func:`load_text_file`
    ======================  =================================================

    Parameters
    ----------
    path : str or Path
    max_bytes : int or None, optional
        The most bytes to read (default :data:`MAX_CORPUS_BYTES`).

    Returns
    -------
    list of Document
    """
    path = Path(path)
    if not path.exists():
        raise CorpusError(path, "no such file or folder")
    if path.is_dir():
        return load_text_folder(path, max_bytes=max_bytes)
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        return load_jsonl(path, max_bytes=max_bytes)
    return load_text_file(path, max_bytes=max_bytes)
