"""User-supplied names as text that prints on one line, on any terminal.

Every message that names a file the user gave (a corpus, a checkpoint, an
output, a folder) passes the name through :func:`show_path`, in every layer:
a name holding a newline would split a one-line error, and one holding an
escape sequence (``ESC[31m``) would colour the terminal.
"""

__all__ = ["show_path"]


def show_path(path):
    """``path`` as text that prints on one line on any terminal.

    A name with a control character (a newline, an escape, ...) or one that
    is not valid UTF-8 (read by Python as lone surrogates) is shown as a
    quoted Python string literal with escapes.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str
        ``str(path)``, or its :func:`ascii` form when that would not print as is.
    """
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return ascii(text)
    return text if text.isprintable() else ascii(text)
