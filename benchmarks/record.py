"""Record the benchmark the docs' performance page shows: ``python benchmarks/record.py``.

Runs ``normrnn bench --scaling --json`` in a fresh process (half an hour or
more on two cores: ``torch.compile`` compiles for each B, minutes each, in
each of the four groups of dtype and threads; the command says its own
estimate on stderr before it starts) and
writes its output, with the exact command, the date, the git commit and the
machine, to ``docs/performance/recorded_bench.json``.  Run it on a quiet
machine, with PyTorch and JAX installed (``pip install ".[bench]"``) so that
the peers are timed: it warns about a peer that was not.  The report says how
busy the machine was while it ran.  Then commit the file; the page's tables,
ratios and plots are drawn from it when the docs are built.  ``--quick`` (and
``--peers``, passed on) try the machinery in minutes (noisy numbers, not for
the docs); ``--out PATH`` writes elsewhere.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

from normrnn.bench.recorded import describe_record, load_record

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = os.path.join(ROOT, "docs", "performance", "recorded_bench.json")
COMMAND = ["normrnn", "bench", "--scaling", "--json"]


def _git_commit(cwd):
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=cwd,
                              capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip() or None


def record(path, *, options=(), cwd=ROOT):
    """Run the benchmark in a fresh process and write its record to ``path``.

    Parameters
    ----------
    path : str
        The JSON file to write.
    options : sequence of str, optional
        More options of ``normrnn bench`` (``--quick``, ``--peers ...``), kept
        in the record's command.
    cwd : str, optional
        Where the command runs (and whose git commit the record names).

    Returns
    -------
    dict
        What was written: ``command``, ``recorded_utc``, ``platform``,
        ``commit`` and ``results`` (the command's JSON).
    """
    command = [*COMMAND, *options]
    done = subprocess.run([sys.executable, "-m", "normrnn", *command[1:]], cwd=cwd,
                          stdout=subprocess.PIPE, text=True, check=True)
    data = {"command": " ".join(command),
            "recorded_utc": datetime.datetime.now(datetime.timezone.utc)
                                    .strftime("%Y-%m-%d %H:%M UTC"),
            "platform": platform.platform(),
            "commit": _git_commit(cwd),
            "results": json.loads(done.stdout)}
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1)
        fh.write("\n")
    return data


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
    parser.add_argument("--quick", action="store_true", help="minutes, noisy: a trial run")
    parser.add_argument("--peers", metavar="NAMES",
                        help="passed on to normrnn bench --peers (default: its own)")
    args = parser.parse_args(argv)
    options = (["--quick"] if args.quick else []) + (["--peers", args.peers] if args.peers
                                                     else [])
    record(args.out, options=options)
    data = load_record(args.out)
    print(describe_record(data))
    for warning in missing_peers(data["results"]):
        print(f"warning: {warning}", file=sys.stderr)
    print(f"recorded to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
