"""``normrnn bench``: its help, options and work are :mod:`normrnn.bench.command`'s."""

from ..bench.command import HELP, configure, run

__all__ = ["HELP", "configure", "run"]
