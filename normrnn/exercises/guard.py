"""Calling a learner's function without letting it take the grader down.

Bad code is expected input.  :func:`call` turns every way a function can fail
into a :class:`Failure` with one clear sentence:

* an exception, ``SystemExit`` included (``sys.exit()`` or ``exit()`` in the
  learner's code), with the file and line it came from;
* ``NotImplementedError``: the exercise is not started;
* running longer than a time limit, when called on the main thread of a
  Unix process (a ``SIGALRM`` timer interrupts Python code; it cannot stop a
  single C call that never returns: ``normrnn exercise check`` runs each
  exercise in a child process with a time and memory limit for that);
* ``MemoryError`` (an allocation numpy refuses);
* ``RecursionError``.

What it cannot stop in-process: an allocation the operating system grants
and then kills the process for, a crash inside C code, ``os._exit``.  The
command line's child processes cover those.
"""

import signal
import threading
import traceback
from contextlib import contextmanager
from pathlib import Path

__all__ = ["Failure", "NotStarted", "call"]


class Failure(Exception):
    """The learner's function could not be graded; ``str()`` says why."""


class NotStarted(Failure):
    """The learner's function raises ``NotImplementedError``: not started."""


class _TimeLimit(BaseException):
    """Raised by the alarm: a BaseException, so ``except Exception`` in learner code
    does not swallow it."""


@contextmanager
def _time_limit(seconds):
    usable = (seconds is not None and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def ring(signum, frame):
        raise _TimeLimit

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _where(exc):
    """``file:line`` of the innermost frame outside normrnn, or ``""``."""
    package = Path(__file__).resolve().parent.parent
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename)
        try:
            path.resolve().relative_to(package)
        except ValueError:
            code = f": {frame.line}" if frame.line else ""
            return f" (at {path.name}, line {frame.lineno}{code})"
    return ""


def call(fn, args, *, name, timeout=10.0):
    """``fn(*args)``, any failure turned into :class:`Failure`.

    Parameters
    ----------
    fn : callable
    args : tuple
    name : str
        The function's name, for the messages.
    timeout : float or None, optional
        Seconds before the call is interrupted (main thread on Unix only).

    Returns
    -------
    object
        What ``fn`` returned.

    Raises
    ------
    NotStarted
        ``fn`` raised ``NotImplementedError``.
    Failure
        Anything else went wrong.
    """
    try:
        with _time_limit(timeout):
            return fn(*args)
    except Failure:
        raise                                   # already a sentence (a nested call)
    except NotImplementedError:
        raise NotStarted("not started (raises NotImplementedError)") from None
    except _TimeLimit:
        raise Failure(f"{name} ran for more than {timeout:g} s and was stopped "
                      "(an endless loop?)") from None
    except MemoryError as exc:
        raise Failure(f"{name} ran out of memory (MemoryError{': ' + str(exc) if str(exc) else ''})"
                      f"{_where(exc)}") from None
    except RecursionError as exc:
        raise Failure(f"{name} recursed too deeply (RecursionError){_where(exc)}") from None
    except SyntaxError as exc:
        where = f" ({Path(exc.filename).name}, line {exc.lineno})" if exc.filename else ""
        raise Failure(f"{name}: SyntaxError: {exc.msg}{where}") from None
    except SystemExit as exc:
        raise Failure(f"{name} tried to exit the program (SystemExit {exc.code!r})"
                      f"{_where(exc)}") from None
    except Exception as exc:
        raise Failure(f"{name} raised {type(exc).__name__}: {exc}{_where(exc)}") from None
