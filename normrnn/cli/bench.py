"""``normrnn bench``: the benchmark's one entry point, and all it says on the terminal.

The measuring is :mod:`normrnn.bench`'s, which prints nothing: it calls back
with progress and with each part as it is measured.  This module imports
nothing heavy until it runs, so ``normrnn --help`` stays fast.
"""

import argparse
import sys
import time

from .._printable import show_path

__all__ = ["HELP", "configure", "run"]

HELP = ("time a training step against NumPy and PyTorch, batches against the strong "
        "peers (PyTorch eager, torch.compile, JAX), and check the speed targets")


def configure(parser):
    """Add the options of ``normrnn bench`` to a parser.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The ``bench`` sub-parser.
    """
    parser.add_argument("--quick", action="store_true",
                        help="fewer and shorter measurements, and peers on B = 16 and 64 "
                             "only: a few minutes on an idle machine, noisier")
    parser.add_argument("--scaling", action="store_true",
                        help="also sweep H (32..512) and T (64..4096); implied by --plot")
    parser.add_argument("--plot", metavar="PATH",
                        help="write the plots (one step, and the sweeps) to this PNG file")
    parser.add_argument("--json", metavar="PATH", nargs="?", const="-",
                        help="write the results as JSON to PATH; to stdout, instead of "
                             "the table, when PATH is left out")
    parser.add_argument("--no-torch", action="store_true",
                        help="leave out PyTorch even if it is installed")
    parser.add_argument("--no-jax", action="store_true",
                        help="leave out the JAX peer even if JAX is installed")
    parser.add_argument("--peers", metavar="NAMES", type=_peer_names,
                        help="what is timed on batches besides normrnn, comma-separated, from "
                             "torch, torch-compile, torch-autotune, jax, bridge (default: "
                             "torch, torch-compile, jax, bridge; with --quick all but "
                             "torch-compile, whose first compile takes minutes), or none")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing --plot that is not a plot normrnn made, "
                             "or --json file that is not a normrnn bench report")


def _peer_names(text):
    """``--peers``: comma-separated names -> keys of PEER_LABELS (``none``: empty)."""
    from ..bench.peers import PEER_OPTIONS

    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["none"]:
        return ()
    unknown = [n for n in names if n not in PEER_OPTIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown peer {unknown[0] if unknown else text!r}: choose from "
            f"{', '.join(PEER_OPTIONS)}, or none")
    return tuple(PEER_OPTIONS[n] for n in names)


def _check_outputs(args):
    """One line and status 2 for an unusable --plot or --json path (before measuring)."""
    from pathlib import Path

    from .outputs import Output, OutputError, check_outputs
    outputs = [Output(Path(args.plot), "plot", "--plot")] if args.plot else []
    if args.json and args.json != "-":
        outputs.append(Output(Path(args.json), "json", "--json"))
    try:
        check_outputs(outputs, force=args.force)
    except OutputError as exc:
        print(f"normrnn: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _say(start, expected):
    """Progress on stderr: each measurement as it starts, with the time spent and expected."""
    from .progress import format_seconds

    def say(message):
        spent = format_seconds(time.monotonic() - start)
        print(f"normrnn bench [{spent} of about {format_seconds(expected)}]: {message} ...",
              file=sys.stderr, flush=True)
    return say


def _announce(args, config, timed):
    """Say on stderr how long the run should take, and how to stop it; return the seconds."""
    from ..bench.estimate import expected_seconds
    from ..bench.machine import cpu_info, vector_level
    from .progress import format_seconds
    parts = expected_seconds(config, use_torch=not args.no_torch, peers=timed,
                             scaling=args.scaling or bool(args.plot))
    total = sum(parts.values())
    detail = ", ".join(f"{name} {format_seconds(s)}" for name, s in parts.items())
    print(f"normrnn bench: expected to take about {format_seconds(total)} on an idle machine "
          f"({detail}); longer when other programs run.  Each table is printed as soon as "
          "it is measured; Ctrl-C stops and prints what was measured.",
          file=sys.stderr, flush=True)
    from ..kernel_choice import LEVEL_VARIABLE, level_limit
    cpu = cpu_info()
    limit = level_limit()
    held = f", normrnn's kernels held at {limit} by {LEVEL_VARIABLE}" if limit else ""
    print(f"normrnn bench: on {cpu['name']} (family {cpu['family']}, model {cpu['model']}), "
          f"vector level {vector_level(cpu['flags'])[0]}{held}; the machine part at the end "
          "says which kernels ran", file=sys.stderr, flush=True)
    return total


def _print_part(stream):
    """``on_part`` of :func:`~normrnn.bench.run_benchmark`: print each table as it is measured."""
    from ..bench.report import format_part

    def on_part(name, results):
        lines = format_part(results, name)
        if lines and name != "targets":        # the targets come last, after the machine
            print("\n".join(line.rstrip() for line in lines) + "\n", file=stream, flush=True)
    return on_part


def _write_outputs(args, results):
    import json

    from ..bench.report import jsonable
    if args.plot and "interrupted" not in results:
        import matplotlib

        matplotlib.use("Agg")
        from ..bench.plot import plot_results
        from .plot_files import write_figure

        write_figure(plot_results(results), args.plot, replace_any=args.force, dpi=120)
    if args.json and args.json != "-":
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(jsonable(results), fh, indent=1)


def run(args):
    """Run ``normrnn bench`` with parsed options.

    Before measuring, it says on stderr how long it expects to take; it
    reports each measurement as it starts (stderr) and prints each table as
    soon as it is measured (stdout), the machine and the targets last.

    Parameters
    ----------
    args : argparse.Namespace
        With the options of :func:`configure`.

    Returns
    -------
    int
        0; 2 for an output path that cannot be used; 130 after Ctrl-C, once
        the tables measured so far are printed (and written, with ``--json``).
        A target that is not met is reported, not an error: timings depend
        on the machine and on what else runs on it.
    """
    import json

    if _check_outputs(args):
        return 2

    from ..bench import report
    from ..bench.report import format_part, jsonable, peer_choice, run_benchmark

    config = report.QUICK if args.quick else report.FULL
    timed, _ = peer_choice(quick=args.quick, use_torch=not args.no_torch,
                           use_jax=not args.no_jax, peers=args.peers)
    start = time.monotonic()
    expected = _announce(args, config, timed)
    to_stdout = args.json == "-"
    results = run_benchmark(quick=args.quick, use_torch=not args.no_torch,
                            use_jax=not args.no_jax, peers=args.peers,
                            scaling=args.scaling or bool(args.plot),
                            progress=_say(start, expected),
                            on_part=None if to_stdout else _print_part(sys.stdout),
                            config=config)
    _write_outputs(args, results)
    if to_stdout:
        json.dump(jsonable(results), sys.stdout, indent=1)
        print()
    else:
        for name in ("machine", "targets"):
            lines = format_part(results, name)
            if lines:
                print("\n".join(line.rstrip() for line in lines) + "\n")
        for path, what in ((args.plot, "plots"), (args.json, "results")):
            if path and not (what == "plots" and "interrupted" in results):
                print(f"{what} written to {show_path(path)}")
    from .progress import format_seconds
    took = format_seconds(time.monotonic() - start)
    if "interrupted" in results:
        print(f"normrnn bench: interrupted during the {results['interrupted']} part after "
              f"{took}; the tables printed are what was measured", file=sys.stderr)
        return 130
    print(f"normrnn bench: finished in {took}", file=sys.stderr)
    return 0
