"""Read documents from JSON Lines, a folder of ``.txt`` files, or one ``.txt`` file.

Every reader returns a list of :class:`~normrnn.data.Document`.  Anything that
cannot be read raises :class:`CorpusError`, whose message names the file and,
where there is one, the line.  Files are UTF-8; a leading byte order mark
(which some Windows editors write) is skipped.
"""

import json
import re
from pathlib import Path

from .document import Document

_BOM = "\ufeff"
_SURROGATE = re.compile("[\ud800-\udfff]")

__all__ = ["CorpusError", "load_corpus", "load_jsonl", "load_text_folder", "load_text_file",
           "text_folder_files"]


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
        where = f"{path}:{line}" if line is not None else f"{path}"
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


def _read_bytes(path):
    try:
        return Path(path).read_bytes()
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


def load_jsonl(path):
    """Read a JSON Lines file: one object with string ``title`` and ``text`` per line.

    Blank lines are skipped; other fields are ignored.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    list of Document

    Raises
    ------
    CorpusError
        On a line that is not valid UTF-8 or JSON, not an object, or lacks a
        string ``title`` or ``text`` (or one holds a lone surrogate escape such
        as ``"\\ud800"``, which is not a character); the message names the
        file and line.
    """
    data = _read_bytes(path)
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


def load_text_file(path):
    """Read one UTF-8 ``.txt`` file as one document titled by its file name stem.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    list of Document
        A single document; ``"\\r\\n"`` line ends are read as ``"\\n"``.
        An empty file gives a document with an empty text.
    """
    path = Path(path)
    text = _decode(path, _read_bytes(path)).removeprefix(_BOM).replace("\r\n", "\n")
    return [Document(path.stem, text)]


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


def load_text_folder(path):
    """Read every ``*.txt`` file directly inside a folder, in name order.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    list of Document
        One per file: title = file name stem, text = its content.

    Raises
    ------
    CorpusError
        If the folder holds no ``.txt`` file, or one is not valid UTF-8.
    """
    path = Path(path)
    files = text_folder_files(path)
    if not files:
        raise CorpusError(path, "folder holds no .txt file")
    return [doc for f in files for doc in load_text_file(f)]


def load_corpus(path):
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

    Returns
    -------
    list of Document
    """
    path = Path(path)
    if not path.exists():
        raise CorpusError(path, "no such file or folder")
    if path.is_dir():
        return load_text_folder(path)
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        return load_jsonl(path)
    return load_text_file(path)
