"""Every stop signal saves: Ctrl-C, SIGTERM and SIGHUP end a run with its checkpoint written.

Real signals: to a ``normrnn train`` process (``SIGTERM`` from a job
scheduler or ``kill``, ``SIGHUP`` from a closed terminal, Ctrl-C), and
to the training loop in this process while it evaluates a validation set
whose size varies, measuring how long the run takes to stop.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from _cli import cli_env
from _toy import toy_corpus, write_folder

from normrnn.data import Document
from normrnn.training import TrainConfig, Trainer, load_checkpoint
from normrnn.training import trainer as trainer_module
from normrnn.files.output_lock import lock_path

#: the longest a run may take to stop once signalled during its evaluation, in seconds,
#: whatever the validation set's size (it evaluates in chunks of 4,096 tokens)
EVALUATION_STOP_BOUND = 1.5


def one_long_document(valid_tokens):
    """One document whose second half (``valid_tokens`` characters) is the validation set."""
    text = " ".join(d.text for d in toy_corpus(n=300))
    text = (text * (2 * valid_tokens // len(text) + 1))[:2 * valid_tokens]
    return [Document("long", text)]


@pytest.mark.parametrize("valid_tokens", [1_500_000, 6_000_000])
def test_ctrl_c_during_the_evaluation_inside_train(tmp_path, monkeypatch, valid_tokens):
    path = tmp_path / "run.npz"
    trainer = Trainer.new(one_long_document(valid_tokens),
                          TrainConfig(hidden_size=32, batch_size=2, n_threads=1, max_steps=1,
                                      eval_every=1, valid_fraction=0.5),
                          checkpoint_path=path, progress=False)
    assert sum(len(t) for t, _ in trainer.corpus.valid) >= valid_tokens
    evaluating, sent = threading.Event(), []
    real_evaluate = trainer_module.evaluate

    def evaluate(model, documents, **kwargs):
        evaluating.set()
        return real_evaluate(model, documents, **kwargs)
    monkeypatch.setattr(trainer_module, "evaluate", evaluate)

    def press():
        evaluating.wait(120)
        time.sleep(0.3)                          # well inside the evaluation
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)
    threading.Thread(target=press, daemon=True).start()
    with trainer.stop.on_signals():              # what the command does around its run
        result = trainer.run()
    latency = time.perf_counter() - sent[0]
    assert result.reason == "interrupted"
    assert result.state.history.evals == []      # the evaluation was cut, not finished
    assert load_checkpoint(path).state.step == 1  # and the step saved
    print(f"validation set of {valid_tokens} tokens: stopped {latency:.3f} s after Ctrl-C")
    assert latency < EVALUATION_STOP_BOUND, f"stopped {latency:.2f} s after Ctrl-C"


def test_ctrl_c_during_the_evaluation_without_handlers_raises_at_once(tmp_path, monkeypatch):
    # a Python caller that did not ask for on_signals: KeyboardInterrupt, as fast
    path = tmp_path / "run.npz"
    trainer = Trainer.new(one_long_document(1_500_000),
                          TrainConfig(hidden_size=32, batch_size=2, n_threads=1, max_steps=1,
                                      eval_every=1, valid_fraction=0.5),
                          checkpoint_path=path)
    evaluating, sent = threading.Event(), []
    real_evaluate = trainer_module.evaluate

    def evaluate(model, documents, **kwargs):
        evaluating.set()
        return real_evaluate(model, documents, **kwargs)
    monkeypatch.setattr(trainer_module, "evaluate", evaluate)

    def press():
        evaluating.wait(120)
        time.sleep(0.3)
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)
    threading.Thread(target=press, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    latency = time.perf_counter() - sent[0]
    assert not path.exists()                     # nothing saved on the way out
    assert latency < EVALUATION_STOP_BOUND, f"raised {latency:.2f} s after Ctrl-C"


def test_the_library_installs_no_handler_and_ctrl_c_raises(tmp_path):
    # a Python caller's Ctrl-C is a KeyboardInterrupt; the last checkpoint stays as it was
    path = tmp_path / "run.npz"
    trainer = Trainer.new(toy_corpus(n=12), TrainConfig(hidden_size=4, batch_size=2, n_threads=1,
                                                        epochs=None, max_steps=100, eval_every=2),
                          checkpoint_path=path)
    before, seen = signal.getsignal(signal.SIGINT), []

    def press(trainer):
        seen.append(signal.getsignal(signal.SIGINT))
        if trainer.state.step == 3:
            os.kill(os.getpid(), signal.SIGINT)      # delivered here, in the main thread
    trainer.callback = press
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    assert len(seen) == 3 and all(handler is before for handler in seen)
    assert signal.getsignal(signal.SIGINT) is before
    assert trainer.state.step == 3 and not trainer.stop.requested
    assert load_checkpoint(path).state.step == 2


def test_an_evaluation_stopped_before_it_starts_returns_none():
    import threading as t

    from normrnn.training import evaluate
    trainer = Trainer.new(toy_corpus(n=12), TrainConfig(hidden_size=4, batch_size=2,
                                                        n_threads=1, max_steps=1))
    stop = t.Event()
    stop.set()
    assert evaluate(trainer.model, trainer.corpus.valid, stop=stop) is None
    assert evaluate(trainer.model, trainer.corpus.valid) is not None


# --- signals to the command -----------------------------------------------------------------
@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    return write_folder(tmp_path_factory.mktemp("corpus") / "texts", toy_corpus(n=60))


SIGNALS = [(signal.SIGTERM, 143, "stopped by SIGTERM"), (signal.SIGHUP, 129, "stopped by SIGHUP"),
           (signal.SIGINT, 0, "interrupted")]


@pytest.mark.parametrize("signum, status, said", SIGNALS, ids=["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_stop_signal_saves_says_so_and_exits_with_the_conventional_status(
        texts, tmp_path, signum, status, said):
    out = tmp_path / "run.npz"
    process = subprocess.Popen(
        [sys.executable, "-m", "normrnn", "train", str(texts), "--out", str(out),
         "--epochs", "1000", "--eval-every", "5", "--hidden", "8", "--batch-size", "4",
         "--threads", "1", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env())
    try:
        deadline = time.monotonic() + 120
        while not out.exists():                   # training has started: the handlers are in
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no checkpoint within two minutes"
            time.sleep(0.05)
        time.sleep(0.2)                           # a few steps past the last checkpoint
        sent = time.perf_counter()
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=120)
        latency = time.perf_counter() - sent
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == status, stderr
    assert stderr == ""
    assert f"{said}; continue with: normrnn train {texts} --resume {out} --out {out}" in stdout
    assert f"checkpoint: {out}" in stdout
    steps = int(stdout.split(" steps,")[0])
    assert load_checkpoint(out).state.step == steps              # every step saved
    assert not lock_path(out).exists()
    print(f"{signal.Signals(signum).name}: exit {process.returncode} {latency:.2f} s after it "
          f"(checkpoint and plot written)")
