"""Ctrl-C as a request to stop cleanly after the current step."""

import signal
import threading
from contextlib import contextmanager

__all__ = ["StopRequest"]


class StopRequest:
    """A flag the training loop checks between steps.

    Attributes
    ----------
    requested : bool
        Set by :meth:`request` or by the first Ctrl-C inside :meth:`on_sigint`.
    """

    def __init__(self):
        self.requested = False

    def request(self):
        """Ask the loop to stop after the current step."""
        self.requested = True

    def _handler(self, signum, frame):
        if self.requested:            # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.requested = True

    @contextmanager
    def on_sigint(self):
        """Within the block, the first SIGINT sets the flag instead of raising.

        Only in the main thread (where Python delivers signals); elsewhere the
        block runs with the handler unchanged.
        """
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self._handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)
