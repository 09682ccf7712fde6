"""Plot files that say they were made by normrnn, and the check that they were.

Every figure normrnn saves (:func:`write_figure`) carries a mark in the
format's own metadata, naming normrnn: a PNG ``tEXt`` chunk ``Software``, the
PDF ``/Creator`` entry, the SVG creator (Dublin Core), the PostScript
``%%Creator:`` comment, a JPEG or GIF comment, a TIFF description, WebP and
AVIF XMP, a first TeX comment line in PGF.  Formats with nowhere to put a mark
(``raw``, ``rgba``: bare pixels) get none.

:func:`is_normrnn_plot` looks for that mark where the format keeps it: an
output plot is replaced only when it holds one, so a user's picture,
document or photograph that happens to bear the name is never overwritten
(:mod:`normrnn.cli.outputs`).  A file of the right format without the mark
is not a plot normrnn made, whatever its magic bytes.
"""

import gzip
import io
import re
import zlib
from pathlib import Path

from ..files.atomic import atomic_file

__all__ = ["MARK", "creator", "looks_like_plot", "is_normrnn_plot", "savefig_options",
           "write_figure"]

#: the first words of the creator string of every plot normrnn writes
MARK = "normrnn-plot/"

#: how a file of each format begins: (offset, bytes), any of them
_SIGNATURES = {
    "png": [(0, b"\x89PNG\r\n\x1a\n")], "pdf": [(0, b"%PDF")],
    "ps": [(0, b"%!PS")], "eps": [(0, b"%!PS"), (0, b"\xc5\xd0\xd3\xc6")],
    "svg": [(0, b"<?xml"), (0, b"<svg")], "svgz": [(0, b"\x1f\x8b")],
    "jpg": [(0, b"\xff\xd8\xff")], "jpeg": [(0, b"\xff\xd8\xff")],
    "tif": [(0, b"II*\x00"), (0, b"MM\x00*")], "tiff": [(0, b"II*\x00"), (0, b"MM\x00*")],
    "gif": [(0, b"GIF8")], "webp": [(8, b"WEBP")], "avif": [(4, b"ftypavi")],
    "pgf": [(0, b"%% ")],
}

_M = re.escape(MARK.encode())
#: where each format keeps the mark, as a pattern searched in the file's first
#: and last :data:`_WINDOW` bytes (SVGZ: in its first decompressed bytes)
_MARKS = {
    "png": re.compile(rb"tEXtSoftware\x00" + _M),
    "pdf": re.compile(rb"/Creator \(" + _M),
    "svg": re.compile(rb"<dc:title>" + _M), "svgz": re.compile(rb"<dc:title>" + _M),
    "ps": re.compile(rb"%%Creator: " + _M), "eps": re.compile(rb"%%Creator: " + _M),
    "jpg": re.compile(rb"\xff\xfe..+?" + _M, re.DOTALL),
    "jpeg": re.compile(rb"\xff\xfe..+?" + _M, re.DOTALL),
    "gif": re.compile(rb"\x21\xfe." + _M, re.DOTALL),
    "tif": re.compile(_M), "tiff": re.compile(_M),
    "webp": re.compile(rb"XMP .{4}" + _M, re.DOTALL),
    "avif": re.compile(rb"mdat" + _M),      # the XMP item, first in the media data
    "pgf": re.compile(rb"\A%% " + _M),
}
_WINDOW = 1 << 16


def _suffix(path):
    return Path(path).suffix.lower().removeprefix(".")


def creator():
    """The creator string written into every plot: ``normrnn-plot/VERSION matplotlib/VERSION``.

    Returns
    -------
    str
    """
    import matplotlib

    from .. import __version__
    return f"{MARK}{__version__} matplotlib/{matplotlib.__version__}"


def savefig_options(fmt):
    """The keyword arguments of ``Figure.savefig`` that mark a plot of format ``fmt``.

    Parameters
    ----------
    fmt : str
        A suffix without the dot, lower case (``"png"``, ``"pdf"``, ...).

    Returns
    -------
    dict
        Empty for formats with no place for a mark (and for PGF, whose mark
        :func:`write_figure` writes itself).
    """
    text = creator()
    if fmt == "png":
        return {"metadata": {"Software": text}}
    if fmt in ("pdf", "svg", "svgz", "ps", "eps"):
        return {"metadata": {"Creator": text}}
    if fmt in ("jpg", "jpeg", "gif"):
        return {"pil_kwargs": {"comment": text}}
    if fmt in ("tif", "tiff"):
        return {"pil_kwargs": {"description": text}}
    if fmt in ("webp", "avif"):
        return {"pil_kwargs": {"xmp": text.encode()}}
    return {}


def write_figure(fig, path, *, replace_any=False, **savefig_kwargs):
    """Save ``fig`` to ``path`` atomically, marked as normrnn's, in the format of its suffix.

    The file replaces ``path`` only if ``path`` is absent or already a plot
    normrnn made (:func:`is_normrnn_plot`), checked again just before the
    rename: a file that appeared at ``path`` since the command started is
    kept, and :class:`~normrnn.files.atomic.ReplaceRefused` is raised.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or Path
    replace_any : bool, optional
        Replace whatever file is at ``path`` (``--force``).
    **savefig_kwargs
        Passed on to ``fig.savefig`` (``dpi``, ...).

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    fmt = _suffix(path)
    headers = [sig for at, sig in _SIGNATURES.get(fmt, []) if at == 0]
    headers += {"webp": [b"RIFF"], "avif": [b"\x00\x00\x00"]}.get(fmt, [])
    guard = None if replace_any else is_normrnn_plot
    with atomic_file(path, headers=headers, may_replace=guard) as f:
        if fmt == "pgf":
            f.write(f"%% {creator()}\n".encode())
        fig.savefig(f, format=fmt, **savefig_options(fmt), **savefig_kwargs)
    return path


def _ends(path):
    """The first and last :data:`_WINDOW` bytes of ``path`` (one string if they overlap)."""
    with open(path, "rb") as f:
        head = f.read(_WINDOW)
        if len(head) < _WINDOW:
            return head, b""
        f.seek(0, io.SEEK_END)
        size = f.tell()
        f.seek(max(_WINDOW, size - _WINDOW))
        return head, f.read(_WINDOW)


def looks_like_plot(path):
    """Whether the file ``path`` begins as an image of its suffix's format does.

    Only the magic bytes: see :func:`is_normrnn_plot` for whether normrnn
    made it.  Formats with no signature (``raw``, ``rgba``) never do.

    Parameters
    ----------
    path : str or Path
        An existing file.

    Returns
    -------
    bool
    """
    try:
        head, _ = _ends(path)
    except OSError:
        return False
    signatures = _SIGNATURES.get(_suffix(path), [])
    return any(head[at:at + len(sig)] == sig for at, sig in signatures)


def _gunzip_head(data):
    """The first decompressed bytes of the gzip stream starting ``data`` (bounded)."""
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, 4 * _WINDOW)
    except (zlib.error, gzip.BadGzipFile):
        return b""


def is_normrnn_plot(path):
    """Whether ``path`` is a plot normrnn wrote: its format's signature and normrnn's mark.

    At most the first and last 64 KiB are read (SVGZ: its first 256 KiB
    once decompressed).

    Parameters
    ----------
    path : str or Path
        An existing file.

    Returns
    -------
    bool
        False for anything unreadable, of another format than its suffix, or
        without the mark :func:`write_figure` writes.
    """
    fmt = _suffix(path)
    if fmt not in _MARKS or not looks_like_plot(path):
        return False
    try:
        head, tail = _ends(path)
    except OSError:
        return False
    if fmt == "svgz":
        head, tail = _gunzip_head(head), b""
    return any(_MARKS[fmt].search(part) for part in (head, tail) if part)
