"""A benchmark result kept in a file, with the command and the machine that made it.

The docs' performance page shows a recorded run rather than timing the
machine that happens to build the docs.  :func:`record` runs ``normrnn bench
--scaling --json`` in a fresh process and writes its JSON, wrapped with the
exact command, the date and a description of the machine;
:func:`load_record` reads such a file back into the form
:func:`~normrnn.bench.format_report` and :func:`~normrnn.bench.plot_results`
take.  ``python benchmarks/record.py`` records the docs' copy.
"""

import datetime
import json
import platform
import subprocess
import sys

COMMAND = ["normrnn", "bench", "--scaling", "--json"]
"""The command whose output a record holds (run as ``python -m normrnn bench ...``)."""


def restore(results):
    """Undo :func:`~normrnn.bench.jsonable`'s one change: integer keys made strings.

    Parameters
    ----------
    results : dict or list or scalar
        Results read back from JSON, or any part of them.

    Returns
    -------
    dict or list or scalar
        The same content, with keys made of digits turned back into ``int``
        (the thread counts of the thread benchmark).
    """
    if isinstance(results, dict):
        return {(int(k) if isinstance(k, str) and k.isdigit() else k): restore(v)
                for k, v in results.items()}
    if isinstance(results, list):
        return [restore(v) for v in results]
    return results


def _git_commit(cwd):
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=cwd,
                              capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip() or None


def record(path, *, quick=False, cwd=None):
    """Run the benchmark in a fresh process and write its record to ``path``.

    Parameters
    ----------
    path : str
        The JSON file to write.
    quick : bool, optional
        Add ``--quick`` (seconds instead of minutes; for trying the machinery,
        not for publishing).
    cwd : str, optional
        Where the command runs (and whose git commit the record names).

    Returns
    -------
    dict
        What was written: ``command``, ``recorded_utc``, ``platform``,
        ``commit`` and ``results`` (the command's JSON).
    """
    command = COMMAND + (["--quick"] if quick else [])
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


def load_record(path):
    """Read a file written by :func:`record`.

    Parameters
    ----------
    path : str
        The JSON file.

    Returns
    -------
    dict
        As written, with ``results`` restored (:func:`restore`) so that
        :func:`~normrnn.bench.format_report` and
        :func:`~normrnn.bench.plot_results` accept it.
    """
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    missing = {"command", "recorded_utc", "platform", "results"} - set(data)
    if missing:
        raise ValueError(f"path: {path!r} is not a benchmark record "
                         f"(missing {', '.join(sorted(missing))})")
    data["results"] = restore(data["results"])
    return data


def describe_record(data):
    """Where a record comes from, in a few lines: command, date, commit, machine.

    Parameters
    ----------
    data : dict
        As returned by :func:`load_record`.

    Returns
    -------
    str
    """
    machine = data["results"]["machine"]
    commit = f" at commit {data['commit']}" if data.get("commit") else ""
    return "\n".join([
        f"$ {data['command']}",
        f"recorded {data['recorded_utc']}{commit}",
        f"on {machine['cpu']}, {machine['cores']} cores, {data['platform']}",
    ])
