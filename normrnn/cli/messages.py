"""What the ``normrnn`` command says on stderr when something goes wrong: one line.

A user's mistake (a bad option, a bad path, a bad file) gets one line and a
non-zero status, never a traceback: :func:`fail` prints it and returns the
status for the command to return.
"""

import sys

__all__ = ["USAGE", "fail", "warn", "one_line", "tolerant_output"]

#: The status of options or paths that cannot be used (argparse's own).
USAGE = 2


def fail(message, status=1):
    """Print ``normrnn: error: message`` on stderr; return ``status``."""
    print(f"normrnn: error: {message}", file=sys.stderr)
    return status


def warn(message):
    """Print ``normrnn: warning: message`` on stderr (the command goes on)."""
    print(f"normrnn: warning: {message}", file=sys.stderr, flush=True)


def one_line(exc):
    """``Type: message`` of an exception, its whitespace folded into one line."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def tolerant_output():
    """Print what cannot be encoded to the terminal as ``\\uXXXX`` escapes, never fail.

    A vocabulary may hold characters the terminal's encoding lacks (or lone
    surrogates, which no encoding has): ``sample`` then prints them escaped.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):      # not a text file, or closed
            pass
