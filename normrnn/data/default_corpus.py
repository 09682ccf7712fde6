"""The embedded corpus: docstrings of Python's standard library.

Built at run time from the interpreter itself, so it needs no download and no
data file: each document's title is a dotted name (``"json"``,
``"json.dumps"``) and its text is that object's docstring.  The modules are a
fixed list of side-effect-free standard-library modules; the exact texts, and
so the numbers a run prints, depend on the Python version.
"""

import importlib
import inspect
import warnings

from .corpus import Document

__all__ = ["DEFAULT_MODULES", "default_corpus"]

#: The standard-library modules whose docstrings make the default corpus.
DEFAULT_MODULES = (
    "abc argparse base64 bisect calendar collections colorsys contextlib copy csv "
    "dataclasses datetime decimal difflib enum fnmatch fractions functools gettext glob "
    "graphlib gzip hashlib heapq hmac html inspect io ipaddress itertools json logging "
    "math numbers operator os pathlib pickle pprint queue random re reprlib sched "
    "secrets shelve shlex shutil statistics string struct subprocess tarfile tempfile "
    "textwrap threading time timeit tokenize traceback types typing unittest "
    "urllib.parse uuid warnings weakref zipfile zlib"
).split()


def _public_members(module):
    """Public functions and classes defined in ``module``, in name order.

    What the module defined, not what other code has put in its place since:
    ``logging.captureWarnings(True)`` (which Sphinx, among others, calls)
    replaces ``warnings.showwarning`` by a function of ``logging``, and the
    corpus must not lose a document because of it.  A module that keeps the
    original of a replaceable name as ``_NAME_orig`` (``warnings`` does) is
    read through it.
    """
    members = vars(module)
    for name, value in sorted(members.items()):
        if name.startswith("_"):
            continue
        value = members.get(f"_{name}_orig", value)
        if not (inspect.isfunction(value) or inspect.isclass(value) or inspect.isbuiltin(value)):
            continue
        if getattr(value, "__module__", None) == module.__name__:
            yield name, value


def _docstring(obj):
    """The object's own docstring, indentation cleaned, or ``""``."""
    doc = getattr(obj, "__doc__", None)
    return inspect.cleandoc(doc) if isinstance(doc, str) else ""


def module_documents(module_name, *, min_length=40):
    """Documents for one module: its docstring and its public members'.

    Parameters
    ----------
    module_name : str
        An importable module name.
    min_length : int, optional
        Docstrings shorter than this many characters are skipped.

    Returns
    -------
    list of Document
        Title ``module_name`` or ``module_name.member``.
    """
    module = importlib.import_module(module_name)
    documents = []
    doc = _docstring(module)
    if len(doc) >= min_length:
        documents.append(Document(module_name, doc))
    for name, value in _public_members(module):
        doc = _docstring(value)
        if len(doc) >= min_length:
            documents.append(Document(f"{module_name}.{name}", doc))
    return documents


def default_corpus(modules=DEFAULT_MODULES, *, min_length=40):
    """The embedded corpus: standard-library docstrings, titled by dotted name.

    Parameters
    ----------
    modules : sequence of str, optional
        Modules to read (a module missing from this interpreter is skipped).
    min_length : int, optional
        Docstrings shorter than this many characters are skipped.

    Returns
    -------
    list of Document
        Several hundred documents (about 280,000 characters on Python 3.11).

    Examples
    --------
    >>> docs = default_corpus(["json"])
    >>> docs[0].title
    'json'
    """
    documents = []
    with warnings.catch_warnings():
        # reading some deprecated aliases (typing.io, ...) warns: not the user's concern
        warnings.simplefilter("ignore", DeprecationWarning)
        for name in modules:
            try:
                documents.extend(module_documents(name, min_length=min_length))
            except ImportError:
                continue
    return documents
