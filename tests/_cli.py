"""Run ``python -m normrnn`` in a subprocess and check how it ends."""

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def cli_env(**extra):
    """The environment of a child: this checkout first on the path, ``extra`` added."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    env.update(extra)
    return env


def run_cli(*args, env=None, timeout=120, encoding="utf-8"):
    """``normrnn ARGS`` in a child process; returns the CompletedProcess (text)."""
    return subprocess.run([sys.executable, "-m", "normrnn", *map(str, args)],
                          capture_output=True, encoding=encoding, timeout=timeout,
                          env=env or cli_env())


def assert_user_error(done, status=1, *, contains=()):
    """Status ``status``, no traceback, and for status 1 exactly one ``normrnn: error:`` line.

    Status 2 is argparse's: a usage line, then one error line.
    """
    assert done.returncode == status, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    if status == 2:
        assert lines[0].startswith("usage: normrnn") and lines[-1].startswith("normrnn"), lines
        assert ": error: " in lines[-1], lines
    else:
        assert len(lines) == 1 and lines[0].startswith("normrnn: error: "), lines
    for text in contains:
        assert text in done.stderr, done.stderr
