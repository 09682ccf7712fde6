"""Record the benchmark the docs' performance page shows: ``python benchmarks/record.py``.

Runs ``normrnn bench --scaling --json`` (a few minutes) and writes its output,
with the exact command, the date, the git commit and the machine, to
``docs/performance/recorded_bench.json``.  Run it on a quiet machine: the
report says how busy the machine was while it ran.  Then commit the file; the
page's table and plots are drawn from it when the docs are built.
``--quick`` tries the machinery in seconds (noisy numbers, not for the docs);
``--out PATH`` writes elsewhere.
"""

import argparse
import os
import sys

from normrnn.bench.recorded import describe_record, load_record, record

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = os.path.join(ROOT, "docs", "performance", "recorded_bench.json")


def main(argv=None):
    """Record the benchmark into the docs (or ``--out``).

    Parameters
    ----------
    argv : list of str, optional
        Options (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status.
    """
    parser = argparse.ArgumentParser(prog="python benchmarks/record.py",
                                     description=__doc__.split("\n\n")[1])
    parser.add_argument("--out", default=DEFAULT, help="the record to write")
    parser.add_argument("--quick", action="store_true", help="seconds, noisy: a trial run")
    args = parser.parse_args(argv)
    record(args.out, quick=args.quick, cwd=ROOT)
    print(describe_record(load_record(args.out)))
    print(f"recorded to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
