"""Ctrl-C, ``SIGTERM`` and ``SIGHUP`` as a request to stop cleanly after the current step.

A closed terminal sends ``SIGHUP``; a job scheduler, ``kill`` and a machine
shutting down send ``SIGTERM``.  Within :meth:`StopRequest.on_signals` each
of them, like Ctrl-C, only sets a flag that the training loop and its
evaluation look at: the run then saves its checkpoint and returns.  A second
signal stops at once (``KeyboardInterrupt``).  The library never installs
these handlers by itself: the caller chooses to, as the ``normrnn`` command
does (:func:`normrnn.cli.training_run.run_trainer`).
"""

import signal
import threading
from contextlib import contextmanager

__all__ = ["StopRequest", "STOP_SIGNALS"]

#: the signals that ask a run to stop cleanly (those this platform has)
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))


class StopRequest:
    """A flag the training loop checks between steps, and the evaluation between chunks.

    Attributes
    ----------
    event : threading.Event
        Set by :meth:`request` or by the first signal inside :meth:`on_signals`;
        worker threads may wait on it or test it.
    signum : int or None
        The signal that asked to stop (``None``: none, or :meth:`request`).
    """

    def __init__(self):
        self.event = threading.Event()
        self.signum = None

    @property
    def requested(self):
        """Whether a stop was asked for."""
        return self.event.is_set()

    def request(self):
        """Ask the loop to stop after the current step."""
        self.event.set()

    def _handler(self, signum, frame):
        if self.requested:            # a second signal: stop now
            raise KeyboardInterrupt
        self.signum = signum
        self.event.set()

    @contextmanager
    def on_signals(self, signals=STOP_SIGNALS):
        """Within the block, the first of ``signals`` sets the flag instead of its usual effect.

        Only in the main thread (where Python delivers signals); elsewhere the
        block runs with the handlers unchanged.

        Parameters
        ----------
        signals : sequence of int, optional
            Default :data:`STOP_SIGNALS`: ``SIGINT``, ``SIGTERM``, ``SIGHUP``.
        """
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {signum: signal.signal(signum, self._handler) for signum in signals}
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, signal.SIG_DFL if handler is None else handler)

    def on_sigint(self):
        """:meth:`on_signals` for Ctrl-C alone."""
        return self.on_signals((signal.SIGINT,))
