"""Progress of a training run on stderr: tokens, tokens/s, the loss, and the budget left.

On a terminal the line is redrawn in place (``\\r``) a few times a second.
Anywhere else (a file, a pipe, a terminal that reports 0 columns) a plain
line is written every :data:`PLAIN_INTERVAL` seconds and once at the end,
so a log holds a few readable lines rather than thousands of redraws.
"""

import os
import sys
import time

__all__ = ["ProgressBar", "PLAIN_INTERVAL", "budget_fraction", "format_seconds"]

#: Seconds between two plain lines, when the output is not a terminal.
PLAIN_INTERVAL = 5.0

#: Seconds between two redraws on a terminal.
TERMINAL_INTERVAL = 0.2


def format_seconds(seconds):
    """``seconds`` as ``m:ss`` or ``h:mm:ss``.

    Parameters
    ----------
    seconds : float

    Returns
    -------
    str
    """
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _scaled(count):
    """``count`` with a k/M/G suffix: 5.75M."""
    for factor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if count >= factor:
            return f"{count / factor:.3g}{suffix}"
    return f"{count:.0f}"


def budget_fraction(*, tokens, total, elapsed, minutes, step, max_steps):
    """The share of a run's budget used: the largest over the budgets it has.

    Parameters
    ----------
    tokens, total : int or None
        Tokens processed, and the tokens the epochs budget allows (``None``:
        no epochs budget).
    elapsed, minutes : float or None
        Seconds run, and the time budget in minutes (``None``: none).
    step, max_steps : int or None
        Steps taken, and the step budget (``None``: none).

    Returns
    -------
    float or None
        In [0, 1]; ``None`` when the run has no budget at all.
    """
    shares = []
    if total:
        shares.append(tokens / total)
    if minutes:
        shares.append(elapsed / (60.0 * minutes))
    if max_steps:
        shares.append(step / max_steps)
    return min(1.0, max(shares)) if shares else None


def _columns(stream):
    """The terminal's width, or 0 when ``stream`` is not a terminal or reports none."""
    try:
        if not stream.isatty():
            return 0
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 0


class ProgressBar:
    """Progress of a run, on stderr.

    Under a budget (epochs, minutes or steps) it shows the percentage done
    and the time left; without one, the tokens and elapsed time only.

    Parameters
    ----------
    total : int or None
        Tokens the epochs budget allows (``None`` when there is no epochs budget).
    initial : int
        Tokens already processed (a resumed run).
    minutes : float or None, optional
        The run's time budget.
    max_steps : int or None, optional
        The run's step budget.
    step : int, optional
        Steps already taken (a resumed run); every :meth:`update` is one more.
    elapsed : float, optional
        Seconds already run (a resumed run: the time budget counts them).
    disable : bool, optional
        Show nothing.
    file : file, optional
        Where to write (default ``sys.stderr``).
    """

    def __init__(self, total, initial, *, minutes=None, max_steps=None, step=0, elapsed=0.0,
                 disable=False, file=None):
        self.total, self.tokens, self.initial = total, initial, initial
        self.minutes, self.max_steps, self.step = minutes, max_steps, step
        self.step_at_start = step
        self.elapsed_before = elapsed
        self.file = sys.stderr if file is None else file
        self.disable = disable
        self.columns = _columns(self.file)
        self._start = time.monotonic()
        self._last_write = None
        self._last_shown = (step, None)      # (step, validation loss) of the last line
        self._train_bits = self._valid = None
        self._width = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def set_valid(self, bits):
        """Record the latest validation loss, shown from now on."""
        self._valid = bits

    def __call__(self, *, step, tokens, train_bits, valid_bits):
        """The ``progress`` callback of :class:`~normrnn.training.Trainer`.

        Parameters
        ----------
        step, tokens : int
            Steps taken and tokens processed so far.
        train_bits, valid_bits : float or None
            The running training loss and the latest validation loss (None: none yet).
        """
        if valid_bits is not None:
            self.set_valid(valid_bits)
        self.update(tokens, train_bits, step=step)

    def update(self, tokens, train_bits, *, step=None):
        """``tokens`` processed so far, at ``step`` (default: one more); show the running loss."""
        self.tokens, self.step = tokens, self.step + 1 if step is None else step
        if train_bits is not None:
            self._train_bits = train_bits
        now = time.monotonic()
        interval = TERMINAL_INTERVAL if self.columns else PLAIN_INTERVAL
        if self._last_write is None or now - self._last_write >= interval:
            self._write(now)

    def close(self):
        """Write the last state, and end the line on a terminal."""
        if self.disable:
            return
        if (self.step, self._valid) != self._last_shown:      # not what is already shown
            self._write(time.monotonic())
        if self.columns and self._last_write is not None:
            self.file.write("\n")
            self.file.flush()

    def fraction(self, now=None):
        """The share of the budget used (``None`` without a budget); see :func:`budget_fraction`."""
        now = time.monotonic() if now is None else now
        return budget_fraction(tokens=self.tokens, total=self.total,
                               elapsed=self.elapsed_before + now - self._start,
                               minutes=self.minutes, step=self.step, max_steps=self.max_steps)

    def seconds_left(self, now=None):
        """The time left until the first budget is reached, estimated at the session's rate.

        Returns
        -------
        float or None
            ``None`` without a budget, or before anything was processed.
        """
        now = time.monotonic() if now is None else now
        session = now - self._start
        estimates = []
        if self.minutes:
            estimates.append(60.0 * self.minutes - self.elapsed_before - session)
        done = self.fraction(now)
        if done is not None and done > 0 and session > 0:
            started = self._started_fraction()
            if done > started:
                estimates.append(session * (1.0 - done) / (done - started))
        return max(0.0, min(estimates)) if estimates else None

    def _started_fraction(self):
        """The share of the budget used when this session began."""
        return budget_fraction(tokens=self.initial, total=self.total,
                               elapsed=self.elapsed_before, minutes=self.minutes,
                               step=self.step_at_start, max_steps=self.max_steps) or 0.0

    def line(self, now=None, *, bar_width=0):
        """The progress as one line of text (no ``\\r``, no newline).

        Parameters
        ----------
        now : float, optional
            :func:`time.monotonic` of the moment shown.
        bar_width : int, optional
            Characters of a drawn bar after the percentage (0: none).

        Returns
        -------
        str
            ``train  42% 5.75Mtok 333ktok/s loss 2.454 bit/tok valid 2.802
            0:14 elapsed, 0:20 left``, the percentage and time left only
            under a budget.
        """
        now = time.monotonic() if now is None else now
        session = now - self._start
        parts = ["train"]
        done = self.fraction(now)
        if done is not None:
            parts.append(f"{100 * done:3.0f}%")
            if bar_width:
                filled = int(done * bar_width)
                parts[-1] += "|" + "#" * filled + " " * (bar_width - filled) + "|"
        rate = (self.tokens - self.initial) / session if session > 0 else 0.0
        parts.append(f"{_scaled(self.tokens)}tok {_scaled(rate)}tok/s")
        if self._train_bits is not None:
            parts.append(f"loss {self._train_bits:.3f} bit/tok")
        if self._valid is not None:
            parts.append(f"valid {self._valid:.3f}")
        timing = f"{format_seconds(self.elapsed_before + session)} elapsed"
        left = self.seconds_left(now)
        if left is not None:
            timing += f", {format_seconds(left)} left"
        parts.append(timing)
        return " ".join(parts)

    def _write(self, now):
        if self.disable:
            return
        if self.columns:
            text = self.line(now, bar_width=20 if self.columns >= 100 else 0)
            text = text[:self.columns - 1]
            pad = max(0, self._width - len(text))
            self.file.write("\r" + text + " " * pad)
            self._width = len(text)
        else:
            self.file.write(self.line(now) + "\n")
        self.file.flush()
        self._last_write = now
        self._last_shown = (self.step, self._valid)
