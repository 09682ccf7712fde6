"""Record the benchmark the docs' performance page shows: ``python benchmarks/record.py``.

Runs ``normrnn bench --scaling --json`` (several minutes, the peers included)
and writes its output, with the exact command, the date, the git commit and
the machine, to ``docs/performance/recorded_bench.json``.  Run it on a quiet
machine, with PyTorch and JAX installed (``pip install ".[bench]"``) so that
the peers are timed: it warns about a peer that was not.  The report says how
busy the machine was while it ran.  Then commit the file; the page's tables,
ratios and plots are drawn from it when the docs are built.
``--quick`` tries the machinery in seconds (noisy numbers, not for the docs);
``--out PATH`` writes elsewhere.
"""

import argparse
import os
import sys

from normrnn.bench.recorded import describe_record, load_record, record

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = os.path.join(ROOT, "docs", "performance", "recorded_bench.json")


def missing_peers(results):
    """What the record lacks of the peers: one message per peer not timed, and why.

    Parameters
    ----------
    results : dict
        A benchmark's results.

    Returns
    -------
    list of str
    """
    peers = results.get("peers")
    if not peers:
        return ["the peers were not run"]
    missing = {}
    for dtype in ("float64", "float32"):
        for group in peers.get(dtype, {}).values():
            for name, row in group["rows"].items():
                if row["status"] != "ok":
                    missing.setdefault(name, row.get("reason") or row.get("error")
                                       or row["status"])
    return [f"{name} was not timed: {why}" for name, why in missing.items()]


def main(argv=None):
    """Record the benchmark into the docs (or ``--out``).

    Parameters
    ----------
    argv : list of str, optional
        Options (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status, 0: a benchmark run that fails raises
        ``subprocess.CalledProcessError`` instead.
    """
    parser = argparse.ArgumentParser(prog="python benchmarks/record.py",
                                     description=__doc__.split("\n\n")[1])
    parser.add_argument("--out", default=DEFAULT, help="the record to write")
    parser.add_argument("--quick", action="store_true", help="seconds, noisy: a trial run")
    args = parser.parse_args(argv)
    record(args.out, quick=args.quick, cwd=ROOT)
    data = load_record(args.out)
    print(describe_record(data))
    for warning in missing_peers(data["results"]):
        print(f"warning: {warning}", file=sys.stderr)
    print(f"recorded to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
