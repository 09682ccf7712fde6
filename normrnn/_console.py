"""The ``normrnn`` console script and ``python -m normrnn``: Ctrl-C at any moment exits 130.

This module imports nothing at module level: the command's imports (NumPy,
the kernels, the CLI) happen inside :func:`main`, after its Ctrl-C handler is
in place (installed through the built-in ``_signal`` module, which costs no
import).  A Ctrl-C raised in the middle of an import can be lost or disguised
(one raised in the import machinery's own callbacks is printed and ignored;
NumPy turns one during its import into an ``ImportError``).  So the handler
defers a Ctrl-C that lands in the import machinery itself, looking again every
millisecond until a module's own code runs, and raises ``KeyboardInterrupt``
there, again every 50 ms until it ends the command (library code that
swallows one cannot lose it); an ``ImportError`` after a Ctrl-C counts as the
interruption.  A command that ends before then still exits with 130.

What no package can cover is the interpreter's own start-up, before this
module runs (some 10 to 30 ms).
"""

import _signal

_received = []          # every Ctrl-C
_RECHECK_SECONDS = 0.001
_RETRY_SECONDS = 0.05


def _in_import_machinery(frame):
    """Whether ``frame`` is the import machinery's own code (not a module being run)."""
    return frame is not None and frame.f_code.co_filename.startswith("<frozen importlib")


def _alarm(seconds):
    if hasattr(_signal, "setitimer"):
        _signal.signal(_signal.SIGALRM, _on_signal)
        _signal.setitimer(_signal.ITIMER_REAL, seconds)
        return True
    return False


def _on_signal(signum, frame):
    if signum == _signal.SIGINT:
        _received.append(signum)
    elif not _received:               # a SIGALRM that is not ours
        return
    if _in_import_machinery(frame) and _alarm(_RECHECK_SECONDS):
        return                        # look again in a millisecond
    _alarm(_RETRY_SECONDS)            # again, should library code swallow this one
    raise KeyboardInterrupt


def _quiet():
    """Stop the alarms and ignore further Ctrl-C: the command is ending."""
    try:
        _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
        if hasattr(_signal, "setitimer"):
            _signal.setitimer(_signal.ITIMER_REAL, 0)
            _signal.signal(_signal.SIGALRM, _signal.SIG_IGN)
    except (ValueError, OSError):
        pass


def main():
    """Run the ``normrnn`` command; return its exit status (130 on Ctrl-C, quietly).

    Returns
    -------
    int
        The command's status; after a Ctrl-C the process ends here with 130.
    """
    try:
        _signal.signal(_signal.SIGINT, _on_signal)
        from .cli import main as run
        status = run()
    except KeyboardInterrupt:
        return _interrupted()
    except ImportError:
        if _received:
            return _interrupted()
        raise
    if not _received:
        return status
    return _interrupted(printed=status == 130)           # 130: the command said so


def _interrupted(printed=False):
    """Print the one line, then end the process with status 130 at once.

    At once, through ``os._exit`` after flushing the output: a Ctrl-C that
    landed while an extension module ran Python code makes the interpreter
    end itself by SIGINT at exit, whatever status it was given.  Every
    ``finally`` block has run by now; what is skipped is interpreter
    teardown.
    """
    _quiet()
    import os
    import sys
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is sys.stderr and not printed:
                print("normrnn: interrupted", file=stream)
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(130)
