"""Run the full benchmark and keep its results: ``python benchmarks/run.py``.

The same as ``normrnn bench --plot benchmarks/results/bench.png --json
benchmarks/results/bench.json``: the table and targets on stdout, the plots
and the machine-readable results in ``benchmarks/results/`` (not committed:
every number there belongs to the machine and the moment that made it).
Options are passed on to ``normrnn bench`` (``--quick``, ``--no-torch``).
"""

import os
import sys

from normrnn.bench import main

HERE = os.path.dirname(os.path.abspath(__file__))


def run(argv=None):
    """Run ``normrnn bench`` with its outputs in ``benchmarks/results/``.

    Parameters
    ----------
    argv : list of str, optional
        More options for ``normrnn bench`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status.
    """
    out = os.path.join(HERE, "results")
    os.makedirs(out, exist_ok=True)
    argv = sys.argv[1:] if argv is None else argv
    return main(["--plot", os.path.join(out, "bench.png"),
                 "--json", os.path.join(out, "bench.json"), *argv])


if __name__ == "__main__":
    sys.exit(run())
