"""``normrnn exercise``: its options and work are :mod:`normrnn.exercises.command`'s."""

__all__ = ["HELP", "configure", "run"]

HELP = "graded exercises: start DIR, check DIR, solution NAME, grade SUBMISSIONS"


def configure(p):
    """Add the actions of ``normrnn exercise`` to the parser ``p``."""
    from ..exercises.command import configure
    configure(p)


def run(args):
    """Run the chosen action; return the exit status."""
    from ..exercises.command import run
    return run(args)
