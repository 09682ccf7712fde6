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

``--avx2`` records the same run with every library held at AVX2 by its own
switch (:data:`AVX2_ENVIRONMENT`), as on a CPU without AVX-512, into
``docs/performance/recorded_bench_avx2.json``: the code paths of such a CPU,
on this one's cores and caches.
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
DEFAULT_AVX2 = os.path.join(ROOT, "docs", "performance", "recorded_bench_avx2.json")
COMMAND = ["normrnn", "bench", "--scaling", "--json"]
#: Every library of the run held at AVX2, each by its own switch, as on a CPU
#: without AVX-512: normrnn's kernels, OpenBLAS, PyTorch (ATen, inductor's
#: code, MKL, oneDNN) and XLA's code for JAX.
AVX2_ENVIRONMENT = {"NORMRNN_MAX_LEVEL": "v3", "OPENBLAS_CORETYPE": "Haswell",
                    "ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
                    "ONEDNN_MAX_CPU_ISA": "AVX2", "XLA_FLAGS": "--xla_cpu_max_isa=AVX2"}


def _git_commit(cwd):
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=cwd,
                              capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip() or None


def record(path, *, options=(), cwd=ROOT, environment=None):
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
    environment : dict, optional
        Variables set for the command (such as :data:`AVX2_ENVIRONMENT`),
        written before it in the record's command.

    Returns
    -------
    dict
        What was written: ``command``, ``recorded_utc``, ``platform``,
        ``commit`` and ``results`` (the command's JSON).
    """
    command = [*COMMAND, *options]
    environment = dict(environment or {})
    done = subprocess.run([sys.executable, "-m", "normrnn", *command[1:]], cwd=cwd,
                          stdout=subprocess.PIPE, text=True, check=True,
                          env={**os.environ, **environment})
    prefix = ["env", *(f"{k}={v}" for k, v in environment.items())] if environment else []
    data = {"command": " ".join(prefix + command),
            "recorded_utc": datetime.datetime.now(datetime.timezone.utc)
                                    .strftime("%Y-%m-%d %H:%M UTC"),
            "platform": platform.platform(),
            "commit": _git_commit(cwd),
            "results": json.loads(done.stdout)}
    partial = f"{path}.partial"                   # a run cut short leaves the old record
    with open(partial, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1)
        fh.write("\n")
    os.replace(partial, path)
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
    parser.add_argument("--out", help="the record to write (default: docs/performance/"
                                      "recorded_bench.json)")
    parser.add_argument("--quick", action="store_true", help="minutes, noisy: a trial run")
    parser.add_argument("--peers", metavar="NAMES",
                        help="passed on to normrnn bench --peers (default: its own)")
    parser.add_argument("--avx2", action="store_true",
                        help="hold every library at AVX2, as on a CPU without AVX-512 "
                             "(default --out: docs/performance/recorded_bench_avx2.json)")
    args = parser.parse_args(argv)
    options = (["--quick"] if args.quick else []) + (["--peers", args.peers] if args.peers
                                                     else [])
    out = args.out or (DEFAULT_AVX2 if args.avx2 else DEFAULT)
    record(out, options=options, environment=AVX2_ENVIRONMENT if args.avx2 else None)
    data = load_record(out)
    print(describe_record(data))
    for warning in missing_peers(data["results"]):
        print(f"warning: {warning}", file=sys.stderr)
    print(f"recorded to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
