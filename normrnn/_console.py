"""The ``normrnn`` console script and ``python -m normrnn``: Ctrl-C at any moment exits 130.

This module imports nothing at module level: the command's imports (NumPy,
the kernels, the CLI) happen inside :func:`main`, after its Ctrl-C handler is
in place (installed through the built-in ``_signal`` module, which costs no
import).  A Ctrl-C raised in the middle of an import can be lost or disguised
(NumPy turns it into an ``ImportError``; one raised in the import machinery's
own callbacks is printed and ignored), so the handler defers it while an
import runs: it looks again every millisecond and raises ``KeyboardInterrupt``
as soon as the import is done.  A command that ends before then still exits
with 130.

What no package can cover is the interpreter's own start-up, before this
module runs (some 10 to 30 ms).
"""

import _signal

_pending = []
_RECHECK_SECONDS = 0.001


def _importing(frame):
    """Whether ``frame`` runs inside the import machinery."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _on_signal(signum, frame):
    if signum == _signal.SIGINT:
        _pending.append(signum)
    elif not _pending:                # a SIGALRM that is not ours
        return
    if _importing(frame) and hasattr(_signal, "setitimer"):
        _signal.signal(_signal.SIGALRM, _on_signal)
        _signal.setitimer(_signal.ITIMER_REAL, _RECHECK_SECONDS)
        return
    _pending.clear()
    raise KeyboardInterrupt


def main():
    """Run the ``normrnn`` command; return its exit status (130 on Ctrl-C, quietly).

    Returns
    -------
    int
    """
    try:
        _signal.signal(_signal.SIGINT, _on_signal)
        from .cli import main as run
        status = run()
    except KeyboardInterrupt:
        return _interrupted()
    except ImportError:
        if _pending:
            return _interrupted()
        raise
    return _interrupted() if _pending else status


def _interrupted():
    import sys
    try:                      # the decision is taken: a second Ctrl-C must not interrupt it
        _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
        if hasattr(_signal, "setitimer"):
            _signal.setitimer(_signal.ITIMER_REAL, 0)
    except (ValueError, OSError):
        pass
    try:
        print("normrnn: interrupted", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
    return 130
