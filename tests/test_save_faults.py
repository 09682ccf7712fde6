"""A save that fails does not lose the run: retried, then written somewhere named, in one line.

Real faults where a test can make them (a folder replaced by a file, a file
put at ``--out`` during the run); the others injected at the system call
where they arise (``os.open`` failing with ``EACCES`` for a read-only folder,
``os.fsync`` with ``ENOSPC`` or ``EDQUOT`` for a full disk or quota), since
the tests run as root, whom ``chmod`` does not stop.  After every fault: the
exit status, one line on stderr naming ``--out`` (never a temporary's name)
and where the checkpoint went, that checkpoint loadable with every step, and
the user's files unchanged byte for byte.
"""

import errno
import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path

import pytest
from _toy import toy_corpus

from normrnn import cli
from normrnn.training import TrainConfig, Trainer, load_checkpoint
from normrnn.files import rescue as rescue_module

STEPS = 3
ARGS = ["--hidden", "4", "--batch-size", "2", "--threads", "1", "--max-steps", str(STEPS),
        "--eval-every", "1", "--no-progress"]


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A corpus, an output folder ``out``, a current folder ``work``, a temporary folder."""
    (tmp_path / "data.jsonl").write_text("".join(
        json.dumps({"title": d.title, "text": d.text}) + "\n" for d in toy_corpus(n=12)))
    for name in ("out", "work", "tmp", "plots"):
        (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    monkeypatch.setattr(rescue_module, "RETRY_PAUSES", (0.01, 0.02))
    return tmp_path


def after_step(monkeypatch, step, action):
    """Run ``action()`` right after optimizer step ``step`` (before its save)."""
    real = Trainer.step

    def step_then_act(self):
        real(self)
        if self.state.step == step:
            action()
    monkeypatch.setattr(Trainer, "step", step_then_act)


def train(world, capsys, *extra, plot=True):
    plot_args = ["--plot", str(world / "plots" / "loss.png")] if plot else []
    status = cli.main(["train", str(world / "data.jsonl"), "--out", str(world / "out" / "m.npz"),
                       *ARGS, *plot_args, *extra])
    out, err = capsys.readouterr()
    return status, out, err


def fell_back(world, status, out, err, reason):
    """The one warning line's checkpoint: loadable, every step in it, named in the summary."""
    assert status == 0, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith(f"normrnn: warning: --out {world / 'out' / 'm.npz'} could not be "
                           f"written ({reason}"), line
    assert ".tmp" not in err
    saved = Path(line.split("the checkpoint was saved to ")[1].removesuffix(" instead"))
    assert load_checkpoint(saved).state.step == STEPS
    assert f"checkpoint: {saved}" in out
    return saved


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fail_open_under(monkeypatch, folder, code, times=None):
    """``os.open`` creating a file under ``folder`` fails with ``code`` (``times``: that often)."""
    real, left = os.open, [times]

    def fake(path, flags, *args, **kwargs):
        if (flags & os.O_CREAT and os.fspath(path).startswith(str(folder))
                and left[0] != 0):
            left[0] = None if left[0] is None else left[0] - 1
            raise OSError(code, os.strerror(code), os.fspath(path))
        return real(path, flags, *args, **kwargs)
    monkeypatch.setattr(os, "open", fake)


def fail_fsync_under(monkeypatch, folders, code):
    """``os.fsync`` of a file under any of ``folders`` fails with ``code``: the disk is full."""
    real = os.fsync

    def fake(fd):
        where = os.readlink(f"/proc/self/fd/{fd}")
        if any(where.startswith(str(folder)) for folder in folders):
            raise OSError(code, os.strerror(code))
        return real(fd)
    monkeypatch.setattr(os, "fsync", fake)


# --- the folder stops being writable --------------------------------------------------------
def test_the_output_folder_replaced_by_a_file(world, monkeypatch, capsys):
    def replace_folder():
        shutil.rmtree(world / "out")
        (world / "out").write_bytes(b"a file where the folder was")
    after_step(monkeypatch, 2, replace_folder)
    saved = fell_back(world, *train(world, capsys), "Not a directory")
    assert saved.parent == world / "work"
    assert (world / "out").read_bytes() == b"a file where the folder was"


def test_the_output_folder_replaced_by_a_file_plot_too(world, monkeypatch, capsys):
    """The default plot beside --out falls back too, in a line of its own."""
    def replace_folder():
        shutil.rmtree(world / "out")
        (world / "out").write_bytes(b"a file")
    after_step(monkeypatch, 2, replace_folder)
    status, out, err = train(world, capsys, plot=False)
    assert status == 0, err
    lines = err.splitlines()
    assert len(lines) == 2 and ".tmp" not in err
    assert lines[1].startswith(f"normrnn: warning: the loss plot {world / 'out' / 'm.png'} "
                               "could not be written (Not a directory); it was saved to ")
    plot = Path(lines[1].split("it was saved to ")[1].removesuffix(" instead"))
    assert plot.parent == world / "work" and plot.read_bytes()[:4] == b"\x89PNG"
    assert f"loss plot:  {plot}" in out


def test_the_output_folder_turned_read_only(world, monkeypatch, capsys):
    after_step(monkeypatch, 2, lambda: fail_open_under(monkeypatch, world / "out",
                                                       errno.EACCES))
    saved = fell_back(world, *train(world, capsys), "Permission denied")
    assert saved.parent == world / "work"
    assert load_checkpoint(world / "out" / "m.npz").state.step == 1     # the last it took


def test_a_full_disk_at_the_final_save(world, monkeypatch, capsys):
    after_step(monkeypatch, STEPS, lambda: fail_fsync_under(monkeypatch, [world / "out"],
                                                            errno.ENOSPC))
    saved = fell_back(world, *train(world, capsys), "No space left on device")
    assert saved.parent == world / "work"
    assert load_checkpoint(world / "out" / "m.npz").state.step == STEPS - 1


def test_a_full_quota_here_and_in_the_current_folder_goes_to_the_temporary_folder(
        world, monkeypatch, capsys):
    after_step(monkeypatch, 2, lambda: fail_fsync_under(
        monkeypatch, [world / "out", world / "work"], errno.EDQUOT))
    saved = fell_back(world, *train(world, capsys), "Disk quota exceeded")
    assert saved.parent == world / "tmp"
    assert list((world / "work").iterdir()) == []                    # no temporary left


def test_a_passing_fault_is_retried_and_the_checkpoint_reaches_out(world, monkeypatch, capsys):
    after_step(monkeypatch, 2, lambda: fail_open_under(monkeypatch, world / "out",
                                                       errno.EACCES, times=1))
    status, out, err = train(world, capsys)
    assert status == 0 and err == ""
    assert load_checkpoint(world / "out" / "m.npz").state.step == STEPS
    assert list((world / "work").iterdir()) == []


def test_nowhere_to_write_is_one_line_naming_out(world, monkeypatch, capsys):
    after_step(monkeypatch, 2, lambda: fail_fsync_under(
        monkeypatch, [world / "out", world / "work", world / "tmp"], errno.ENOSPC))
    status, out, err = train(world, capsys)
    assert status == 1
    assert err.count("\n") == 1 and ".tmp" not in err
    assert err.startswith(f"normrnn: error: --out {world / 'out' / 'm.npz'} could not be "
                          "written (No space left on device), nor a copy in ")
    assert load_checkpoint(world / "out" / "m.npz").state.step == 1   # the last good one


# --- a file put at --out during the run -----------------------------------------------------
def test_a_file_put_at_out_during_the_run_is_kept(world, monkeypatch, capsys):
    notes = b"my notes, copied here while the run went on"
    after_step(monkeypatch, 2, lambda: (world / "out" / "m.npz").write_bytes(notes))
    fell_back(world, *train(world, capsys), "it now holds a file that normrnn did not write")
    assert (world / "out" / "m.npz").read_bytes() == notes


def test_a_file_put_at_out_in_the_instant_before_the_rename_is_kept(world, monkeypatch, capsys):
    """--out is absent when the save starts; a file lands there between the write and the
    rename: it is not replaced (the rename cannot clobber it)."""
    target, notes = world / "out" / "m.npz", b"landed at the last moment"
    real = os.fsync

    def fsync_then_a_file_lands(fd):
        real(fd)
        if not target.exists():
            target.write_bytes(notes)
    monkeypatch.setattr(os, "fsync", fsync_then_a_file_lands)
    fell_back(world, *train(world, capsys), "it now holds a file that normrnn did not write")
    assert target.read_bytes() == notes


def test_a_fallback_is_reused_and_never_replaces_a_users_file(world, monkeypatch, capsys):
    """Saves after the first fallback go to the same file; a name in use is skipped."""
    from normrnn.files.rescue import fallback_name
    taken = world / "work" / fallback_name(world / "out" / "m.npz").format(n=1)
    taken.write_bytes(b"someone's file")
    after_step(monkeypatch, 1, lambda: fail_open_under(monkeypatch, world / "out",
                                                       errno.EACCES))
    saved = fell_back(world, *train(world, capsys), "Permission denied")
    assert saved.name.endswith("-2.npz") and taken.read_bytes() == b"someone's file"
    assert sorted(p.name for p in (world / "work").iterdir()) == sorted([taken.name, saved.name])


# --- the library ----------------------------------------------------------------------------
def test_the_trainer_warns_and_says_where_it_saved(world, monkeypatch):
    path = world / "out" / "m.npz"
    trainer = Trainer.new(toy_corpus(n=12), TrainConfig(hidden_size=4, batch_size=2, n_threads=1,
                                                        max_steps=2, eval_every=1),
                          checkpoint_path=path, progress=False)
    after_step(monkeypatch, 2, lambda: fail_open_under(monkeypatch, world / "out",
                                                       errno.EROFS))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.run()
    assert len(caught) == 1 and "Read-only file system" in str(caught[0].message)
    assert trainer.saved_to.parent == world / "work"
    assert str(trainer.saved_to) in str(caught[0].message)
    assert load_checkpoint(trainer.saved_to).state.step == 2


def test_an_out_that_links_to_a_checkpoint_is_saved_as_before(world, capsys):
    """A symbolic link at --out to a checkpoint: replaced at every save, no fallback."""
    from _cli_run import make_checkpoint
    make_checkpoint(world / "out" / "real.npz")
    os.symlink("real.npz", world / "out" / "m.npz")
    status, out, err = train(world, capsys)
    assert status == 0 and err == ""
    assert load_checkpoint(world / "out" / "m.npz").state.step == STEPS
    assert list((world / "work").iterdir()) == []
