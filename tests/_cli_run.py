"""Run ``python -m normrnn`` in subprocesses and check what they did to the files around them."""

import hashlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _toy import toy_corpus

ROOT = Path(__file__).resolve().parent.parent
#: tiny runs: a refusal happens before any of these matter
TINY = ["--hidden", "4", "--batch-size", "2", "--threads", "1", "--max-steps", "1",
        "--eval-every", "1", "--no-progress"]


def environment():
    """The environment of a child: this checkout first on the import path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def snapshot(folder):
    """``{relative path: sha256}`` of every regular file under ``folder`` (links not followed)."""
    files = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                files[str(path.relative_to(folder))] = hashlib.sha256(
                    path.read_bytes()).hexdigest()
    return files


@dataclass
class Outcome:
    """What one command did: status, output, and the files before and after."""

    argv: list
    returncode: int
    stdout: str
    stderr: str
    before: dict
    after: dict


def run_in(folder, argv, timeout=300):
    """Run ``normrnn argv`` with ``folder`` as working directory; return its :class:`Outcome`."""
    before = snapshot(folder)
    done = subprocess.run([sys.executable, "-m", "normrnn", *argv], cwd=folder,
                          capture_output=True, text=True, errors="replace", timeout=timeout,
                          env=environment())
    return Outcome(list(argv), done.returncode, done.stdout, done.stderr, before,
                   snapshot(folder))


def run_all(jobs, workers=3):
    """Run ``{key: (folder, argv)}`` concurrently; return ``{key: Outcome}``."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {key: pool.submit(run_in, folder, argv) for key, (folder, argv) in jobs.items()}
        return {key: future.result() for key, future in futures.items()}


def assert_refused(outcome, *fragments):
    """Non-zero exit, exactly one line ``normrnn: error: ...`` on stderr, no file changed."""
    assert outcome.returncode not in (0, None), outcome
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1 and outcome.stderr.endswith("\n"), outcome.stderr
    assert lines[0].startswith("normrnn: error: "), outcome.stderr
    for fragment in fragments:
        assert fragment in lines[0], outcome.stderr
    assert outcome.after == outcome.before, "a file changed although the command was refused"


def assert_succeeded(outcome, may_change=()):
    """Exit 0, and no pre-existing file changed except those in ``may_change``."""
    assert outcome.returncode == 0, outcome.stderr
    for name, digest in outcome.before.items():
        if name not in may_change:
            assert outcome.after.get(name) == digest, f"{name} changed"


def write_jsonl(path, n=12, seed=0):
    """A small JSON Lines corpus."""
    import json
    path.write_text("".join(json.dumps({"title": d.title, "text": d.text}) + "\n"
                            for d in toy_corpus(n=n, seed=seed)), encoding="utf-8")
    return path


def make_checkpoint(path, n=12, seed=0):
    """A real checkpoint of a tiny run on ``write_jsonl``'s corpus; return ``path``."""
    from normrnn.training import TrainConfig, Trainer
    config = TrainConfig(hidden_size=4, batch_size=2, n_threads=1, max_steps=1, eval_every=1)
    Trainer.new(toy_corpus(n=n, seed=seed), config, checkpoint_path=path, progress=False).run()
    return path


def png_bytes():
    """The first bytes of a PNG file (enough for a signature check)."""
    return b"\x89PNG\r\n\x1a\n" + np.zeros(8, np.uint8).tobytes()


def foreign_image(fmt):
    """A real image of format ``fmt`` made by another program (Pillow, or matplotlib unmarked)."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image
    buffer = io.BytesIO()
    if fmt in ("pdf", "svg", "eps", "ps", "svgz"):
        fig = Figure(figsize=(2, 2))
        FigureCanvasAgg(fig)
        fig.add_subplot().plot([1, 3, 2])
        fig.savefig(buffer, format=fmt, metadata={"Creator": "My report tool"})
    else:
        pil = {"jpg": "JPEG", "jpeg": "JPEG", "tif": "TIFF", "tiff": "TIFF"}.get(fmt, fmt.upper())
        Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, format=pil)
    return buffer.getvalue()


def normrnn_plot(path):
    """A plot as normrnn writes it (marked), at ``path``; return ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from normrnn.cli.plot_files import write_figure
    fig = Figure(figsize=(2, 2))
    FigureCanvasAgg(fig)
    fig.add_subplot().plot([3, 2, 1])
    return write_figure(fig, path)
