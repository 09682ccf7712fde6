"""Property-based fuzzing of the path arguments of ``normrnn train`` (run in a subprocess).

Each example builds a folder holding the training data (a JSON Lines file and
a folder of ``.txt`` files), a checkpoint, a plot, files of other kinds, a
folder, a symbolic and a hard link to the data, then runs ``normrnn train``
with ``--out``, ``--plot`` and ``--resume`` drawn from those, from devices,
from new names (up to past the 255-byte limit), from places under a regular
file, with or without ``--force``.  The properties:

* the command exits 0, or non-zero with exactly one line ``normrnn: error: ...``
  on stderr (never a traceback);
* no file that existed before changes or disappears, unless the command
  succeeded and it was an output replaced by one of the same kind (a
  checkpoint by a checkpoint, an image by an image) or ``--force`` was given
  for it; the data is never among them;
* no temporary file is left behind, and devices stay devices.
"""

import contextlib
import io
import json
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _cli_run import TINY, normrnn_plot, snapshot  # noqa: E402
from _toy import toy_corpus  # noqa: E402

from normrnn import cli  # noqa: E402
from normrnn.training import TrainConfig, Trainer  # noqa: E402
from normrnn.training.checkpoint import is_checkpoint  # noqa: E402
from normrnn.cli.plot_files import is_normrnn_plot  # noqa: E402

SETTINGS = settings(max_examples=80, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
DOCS = toy_corpus(n=10)

_MASTER = Path(tempfile.mkdtemp(prefix="normrnn-fuzz-paths-"))
Trainer.new(DOCS, TrainConfig(hidden_size=4, batch_size=2, n_threads=1, max_steps=1,
                              eval_every=1), checkpoint_path=_MASTER / "ck.npz",
            progress=False).run()
CHECKPOINT = (_MASTER / "ck.npz").read_bytes()
PNG = b"\x89PNG\r\n\x1a\n" + bytes(16)
normrnn_plot(_MASTER / "ours.png")
OURS = (_MASTER / "ours.png").read_bytes()


def build(folder):
    """The files every example starts from."""
    (folder / "data.jsonl").write_text("".join(
        json.dumps({"title": d.title, "text": d.text}) + "\n" for d in DOCS))
    (folder / "texts").mkdir()
    for d in DOCS[:4]:
        (folder / "texts" / f"{d.title}.txt").write_text(d.text)
    (folder / "ck.npz").write_bytes(CHECKPOINT)
    (folder / "ck.png").write_bytes(CHECKPOINT)           # a checkpoint named like a plot
    (folder / "plot.png").write_bytes(PNG)                # another program's, signature only
    (folder / "ours.png").write_bytes(OURS)               # a plot normrnn made
    (folder / "notes.txt").write_text("my notes\n")
    (folder / "notes.npz").write_text("not a checkpoint\n")
    (folder / "fake.png").write_text("not an image\n")
    (folder / "sub").mkdir()
    os.symlink("data.jsonl", folder / "link.npz")
    os.link(folder / "data.jsonl", folder / "hard.npz")


NAMED = ["data.jsonl", "./data.jsonl", "sub/../data.jsonl", "texts", "texts/doc0.txt",
         "texts/doc1.txt", "ck.npz", "ck.png", "plot.png", "ours.png", "notes.txt", "notes.npz",
         "fake.png",
         "sub", "link.npz", "hard.npz", "/dev/null", "/dev/full", "notes.txt/x.npz",
         "new.npz", "new.png", "new.pdf", "new.svg", "new.txt", "new", "a/b/c.npz",
         "sub/m.npz", "sub/m.png"]
LONG = st.builds(lambda n, suffix: "L" * n + suffix, st.integers(240, 258),
                 st.sampled_from([".npz", ".png", ".pdf", ""]))
ABSOLUTE = st.sampled_from(NAMED).map(lambda name: ("ABS", name))
PATH = st.one_of(st.sampled_from(NAMED), LONG, ABSOLUTE,
                 st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"],
                                       exclude_characters="/\\"), min_size=1, max_size=12))


def resolve(path, folder):
    if isinstance(path, tuple):
        return str(folder / path[1]) if not path[1].startswith("/") else path[1]
    return path


def file_kind(path):
    """What the file ``path`` holds: "checkpoint", "image" (a plot normrnn made) or "other"."""
    return "checkpoint" if is_checkpoint(path) else "image" if is_normrnn_plot(path) else "other"


def files(folder):
    """``{relative path: (sha256, kind)}`` of every regular file, links not followed."""
    return {name: (digest, file_kind(folder / name)) for name, digest in snapshot(folder).items()}


def relative(path, folder):
    """``path`` (as given, relative to ``folder``) as a key of :func:`files`, or ``None``."""
    try:
        return str(Path(os.path.realpath(folder / path)).relative_to(os.path.realpath(folder)))
    except ValueError:
        return None


@SETTINGS
@given(data=st.sampled_from(["data.jsonl", "texts", ("ABS", "data.jsonl")]),
       out=PATH, plot=st.one_of(st.none(), PATH),
       resume=st.one_of(st.none(), st.none(), st.sampled_from(["ck.npz", "ck.png", "OUT"]), PATH),
       force=st.booleans())
def test_no_path_destroys_a_file(data, out, plot, resume, force):
    folder = Path(tempfile.mkdtemp(prefix="ex-", dir=_MASTER))
    cwd = os.getcwd()
    try:
        build(folder)
        os.chdir(folder)
        out_, plot_, resume_ = (resolve(p, folder) for p in (out, plot, resume))
        resume_ = out_ if resume_ == "OUT" else resume_
        argv = ["train", resolve(data, folder), *TINY, f"--out={out_}"]
        argv += [f"--plot={plot_}"] if plot_ is not None else []
        argv += [f"--resume={resume_}"] if resume_ is not None else []
        argv += ["--force"] if force else []
        before = files(folder)
        err, std = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
            try:
                status = cli.main(argv)
            except SystemExit as exc:                # argparse: usage line + error line
                status = exc.code
        after = files(folder)
        message = err.getvalue()
        event("exit 0" if status == 0 else f"exit {status}: " + next(
            (what for what in ("same file", "is a ", "not a normrnn", "image", "cannot write",
                               "matplotlib", "differs", ".npz", "not a folder")
             if what in message), "other"))
        if status != 0:
            assert message.count("\n") == 1 and message.startswith("normrnn: error: "), \
                (argv, message)
        assert "Traceback" not in message
        outputs = {relative(p, folder) for p in (out_, plot_ or Path(out_).with_suffix(".png")
                                                 if Path(out_).name else out_)}
        for name, (digest, kind) in before.items():
            now = after.get(name)
            assert now is not None, (argv, f"{name} disappeared", message)
            if now[0] == digest:
                continue
            assert status == 0, (argv, f"{name} changed by a refused command")
            assert name in outputs, (argv, f"{name} changed but was not an output")
            read = (name.startswith("texts" + os.sep) if data == "texts"
                    else name in ("data.jsonl", "hard.npz"))
            assert not read, (argv, "the data changed")
            assert force or now[1] == kind != "other", (argv, f"{name}: {kind} -> {now[1]}")
        assert not [p for p in folder.rglob("*.tmp")], argv
        for device in ("/dev/null", "/dev/full"):
            assert stat.S_ISCHR(os.stat(device).st_mode)
    finally:
        os.chdir(cwd)
        shutil.rmtree(folder, ignore_errors=True)


def teardown_module():
    shutil.rmtree(_MASTER, ignore_errors=True)
