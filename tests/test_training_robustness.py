"""Interrupted and diverging runs lose nothing: the last good checkpoint survives and resumes.

tests/test_training.py covers one Ctrl-C (checkpoint written, resume bit for
bit) and a NaN loss.  Here: a second Ctrl-C, Ctrl-C during a checkpoint
write, a real SIGINT to the ``normrnn train`` process, a non-finite gradient,
an update that overflows (undone), divergence through the command, and files
that cannot be written.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from _toy import toy_corpus, write_folder

from normrnn import cli
from normrnn.training import (
    TrainConfig,
    Trainer,
    TrainingDiverged,
    load_checkpoint,
)
from normrnn.training import checkpoint as checkpoint_module
from normrnn.training import trainer as trainer_module

ARGS = ["--hidden", "8", "--batch-size", "4", "--threads", "1", "--lr", "0.03",
        "--no-progress"]


def config(**changes):
    settings = {"hidden_size": 8, "optimizer": "adam", "lr": 0.03, "batch_size": 4,
                "n_threads": 1, "eval_every": 2, "bptt": 16, "segment": 60}
    settings.update(changes)
    return TrainConfig(**settings)


def snapshot(trainer):
    return ({k: v.copy() for k, v in trainer.model.parameters().items()},
            trainer.optimizer.state_dict())


def assert_same(trainer, saved):
    params, optimizer = saved
    for name, p in trainer.model.parameters().items():
        np.testing.assert_array_equal(p, params[name])
    for key, value in trainer.optimizer.state_dict().items():
        np.testing.assert_array_equal(value, optimizer[key])


# --- Ctrl-C ------------------------------------------------------------------------------
def test_second_ctrl_c_aborts_at_once_keeping_the_last_checkpoint(tmp_path):
    path = tmp_path / "run.npz"
    pressed = []

    def press(trainer):
        if trainer.state.step == 2:
            good = path.read_bytes()              # written by the evaluation at step 2
            pressed.append(good)
            os.kill(os.getpid(), signal.SIGINT)   # first: "stop after this step"
            os.kill(os.getpid(), signal.SIGINT)   # second: "stop now"

    trainer = Trainer.new(toy_corpus(), config(epochs=3), checkpoint_path=path,
                          progress=False, callback=press)
    with pytest.raises(KeyboardInterrupt), trainer.stop.on_signals():   # as the command runs it
        trainer.run()
    assert path.read_bytes() == pressed[0]          # not overwritten on the way out
    assert load_checkpoint(path).state.step == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]     # no temporary file


def test_ctrl_c_while_a_checkpoint_is_written_keeps_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "run.npz"
    trainer = Trainer.new(toy_corpus(), config(max_steps=2), checkpoint_path=path,
                          progress=False)
    trainer.run()
    good = path.read_bytes()
    real_savez = np.savez

    def interrupted(file, **arrays):
        real_savez(file, **{k: arrays[k] for k in list(arrays)[:3]})   # half a file ...
        raise KeyboardInterrupt                                      # ... then Ctrl-C

    monkeypatch.setattr(checkpoint_module.np, "savez", interrupted)
    trainer.config.max_steps = 4
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]


def test_the_temporary_file_is_renamed_within_its_folder(tmp_path, monkeypatch):
    """os.replace is atomic only within one file system: the temporary file sits beside."""
    renames = []
    real_replace = os.replace

    def record(src, dst):
        renames.append((os.path.dirname(src), os.path.dirname(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(checkpoint_module.os, "replace", record)
    checkpoint_module.write_npz(tmp_path / "sub" / "x.npz", {"a": np.zeros(2)})
    assert renames == [(str(tmp_path / "sub"), str(tmp_path / "sub"))]


@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    return write_folder(tmp_path_factory.mktemp("corpus") / "texts", toy_corpus(n=60))


def test_sigint_to_the_train_command_writes_a_checkpoint_and_exits_cleanly(texts, tmp_path,
                                                                          capsys):
    out = tmp_path / "run.npz"
    process = subprocess.Popen(
        [sys.executable, "-m", "normrnn", "train", str(texts), "--out", str(out),
         "--epochs", "1000", "--eval-every", "1", *ARGS],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not out.exists():                   # training has started: the handler is in
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no checkpoint within two minutes"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert f"interrupted; continue with: normrnn train {texts} --resume {out} --out {out}" \
        in stdout
    step = load_checkpoint(out).state.step
    assert step >= 1
    # and the printed command continues from there
    status = cli.main(["train", str(texts), "--resume", str(out), "--out", str(out),
                       "--max-steps", str(step + 2), "--no-progress"])
    assert status == 0, capsys.readouterr().err
    assert load_checkpoint(out).state.step == step + 2


# --- divergence -----------------------------------------------------------------------------
def test_non_finite_gradient_with_finite_loss_is_refused_before_the_update(tmp_path,
                                                                         monkeypatch):
    path = tmp_path / "run.npz"
    trainer = Trainer.new(toy_corpus(), config(max_steps=2), checkpoint_path=path,
                          progress=False)
    trainer.run()
    good, before = path.read_bytes(), snapshot(trainer)
    real = trainer_module.chunks_loss_and_grads

    def poisoned(*args):
        loss, grads, states, scored = real(*args)
        grads.ih[0, 0] = np.inf
        return loss, grads, states, scored

    monkeypatch.setattr(trainer_module, "chunks_loss_and_grads", poisoned)
    trainer.config.max_steps = 4
    with pytest.raises(TrainingDiverged, match=r"gradient is not finite at step 3: the step "
                       r"was not applied; the last good checkpoint is .*run\.npz"):
        trainer.run()
    assert path.read_bytes() == good and trainer.state.step == 2
    assert_same(trainer, before)


@pytest.mark.parametrize("value, why", [(np.inf, "hh must be finite"),
                                        (1e300, "hh has a row whose norm overflows")])
def test_an_update_that_overflows_is_undone(monkeypatch, value, why):
    """Finite loss and gradient, but the update overflows: parameters and optimizer restored.

    Also when the parameters stay finite but too large to use (a row norm of hh
    overflows): the next step would refuse them.  After the cause is removed the
    run goes on exactly as if the bad step had never been tried.
    """
    trainer = Trainer.new(toy_corpus(), config(max_steps=2), progress=False)
    trainer.run()
    before = snapshot(trainer)
    real_step = trainer.optimizer.step

    def overflowing(grads):
        real_step(grads)
        trainer.model.hh[1, :2] = value

    monkeypatch.setattr(trainer.optimizer, "step", overflowing)
    trainer.config.max_steps = 5
    with pytest.raises(TrainingDiverged, match=f"the update made the parameters unusable "
                       f"\\({why}.*\\) at step 3: the step was not applied"):
        trainer.run()
    assert trainer.state.step == 2
    assert_same(trainer, before)

    monkeypatch.setattr(trainer.optimizer, "step", real_step)
    trainer.run()
    clean = Trainer.new(toy_corpus(), config(max_steps=5), progress=False)
    clean.run()
    for name, p in clean.model.parameters().items():
        np.testing.assert_array_equal(trainer.model.parameters()[name], p)


def test_divergence_through_the_command_keeps_and_names_the_checkpoint(texts, tmp_path,
                                                                      monkeypatch, capsys):
    out = tmp_path / "run.npz"
    assert cli.main(["train", str(texts), "--out", str(out), "--max-steps", "2", *ARGS]) == 0
    good = out.read_bytes()
    real = trainer_module.chunks_loss_and_grads

    def nan_loss(*args):
        _, grads, states, scored = real(*args)
        return float("nan"), grads, states, scored

    monkeypatch.setattr(trainer_module, "chunks_loss_and_grads", nan_loss)
    capsys.readouterr()
    status = cli.main(["train", str(texts), "--resume", str(out), "--out", str(out),
                       "--max-steps", "4", "--no-progress"])
    err = capsys.readouterr().err
    assert status == 1
    assert err == (f"normrnn: error: the loss is nan at step 3: the step was not applied; "
                   f"the last good checkpoint is {out}. Try a smaller --lr or --clip.\n")
    assert out.read_bytes() == good

    monkeypatch.setattr(trainer_module, "chunks_loss_and_grads", real)
    assert cli.main(["train", str(texts), "--resume", str(out), "--out", str(out),
                     "--max-steps", "4", "--lr", "0.01", "--no-progress"]) == 0
    assert load_checkpoint(out).state.step == 4


def test_divergence_before_any_checkpoint_says_so(tmp_path, monkeypatch):
    path = tmp_path / "run.npz"
    trainer = Trainer.new(toy_corpus(), config(max_steps=3), checkpoint_path=path,
                          progress=False)
    monkeypatch.setattr(trainer_module, "chunks_loss_and_grads",
                        lambda *args: (float("inf"), None, {}, 1))
    with pytest.raises(TrainingDiverged, match=f"loss is inf at step 1: .* no checkpoint had "
                       f"been written to {path} yet"):
        trainer.run()
    assert not path.exists()


# --- files that cannot be written ------------------------------------------------------------
def test_out_that_is_a_folder_is_refused_before_training(texts, tmp_path, capsys):
    folder = tmp_path / "runs"
    folder.mkdir()
    status = cli.main(["train", str(texts), "--out", str(folder), *ARGS])
    err = capsys.readouterr().err
    assert status == 2 and f"--out {folder} is a folder" in err
    assert list(folder.iterdir()) == []


def test_an_unwritable_plot_goes_elsewhere_in_one_line_and_the_checkpoint_is_kept(
        texts, tmp_path, capsys, monkeypatch):
    """A plot that cannot be written at the end (a folder made there during the run).

    A folder given as --plot is refused at start-up (tests/test_cli_paths.py); here
    the start-up check is skipped, as if the folder had appeared while training.  The
    plot goes to the current folder, said in one line; the folder is left as it was.
    """
    monkeypatch.setattr("normrnn.cli.outputs.check_outputs", lambda *a, **k: None)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    out, plot = tmp_path / "run.npz", tmp_path / "plot.png"
    plot.mkdir()                                   # savefig cannot write a folder
    status = cli.main(["train", str(texts), "--out", str(out), "--max-steps", "2",
                       "--plot", str(plot), *ARGS])
    err = capsys.readouterr().err
    assert status == 0, err
    assert err.startswith(f"normrnn: warning: the loss plot {plot} could not be written ")
    assert "Traceback" not in err and err.count("\n") == 1
    (written,) = (tmp_path / "work").iterdir()
    assert f"it was saved to {written} instead" in err and written.suffix == ".png"
    assert plot.is_dir() and list(plot.iterdir()) == []
    assert load_checkpoint(out).state.step == 2
