"""A training run as the command line runs it: its bar on stderr, and stop signals that save.

The training library prints nothing and installs no signal handler; the
``normrnn train`` and ``normrnn demo`` commands run a
:class:`~normrnn.training.Trainer` through :func:`run_trainer`, which gives it
the console's :class:`~normrnn.cli.progress.ProgressBar` and, for the length
of the run, makes Ctrl-C, ``SIGTERM`` and ``SIGHUP`` ask it to stop after the
current step (:meth:`StopRequest.on_signals
<normrnn.training.interrupt.StopRequest.on_signals>`).
"""

from .progress import ProgressBar

__all__ = ["progress_bar", "run_trainer"]


def progress_bar(trainer, *, shown=True):
    """The console's bar for ``trainer``'s run, with its budgets: percentage and time left.

    Parameters
    ----------
    trainer : Trainer
        Its configuration and state (a resumed run's steps, tokens and time) set the bar.
    shown : bool, optional
        False: a bar that shows nothing.

    Returns
    -------
    ProgressBar
    """
    config, state = trainer.config, trainer.state
    total = (config.epoch_budget * trainer.corpus.train_tokens
             if config.epoch_budget is not None else None)
    return ProgressBar(total, state.tokens, minutes=config.minutes, max_steps=config.max_steps,
                       step=state.step, elapsed=state.elapsed, disable=not shown)


def run_trainer(trainer, *, progress=True):
    """Run ``trainer`` with the bar on stderr; the first stop signal ends it cleanly.

    Within the run, the first Ctrl-C, ``SIGTERM`` or ``SIGHUP`` makes the
    trainer save its checkpoint and return (``trainer.stop.signum`` tells
    which); a second one raises ``KeyboardInterrupt`` at once.

    Parameters
    ----------
    trainer : Trainer
    progress : bool, optional
        Show the progress bar.

    Returns
    -------
    TrainResult
    """
    with trainer.stop.on_signals(), progress_bar(trainer, shown=progress) as bar:
        trainer.progress = bar
        return trainer.run()
