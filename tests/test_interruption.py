"""Ctrl-C ends a command within about a second, with status 130 and one line.

Real ``SIGINT`` signals sent to real processes: during the interpreter's
imports, during ``evaluate`` of long documents, during ``sample``.  And the
safety net: an unexpected error is one line too, unless a traceback is asked for.
"""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from _cli import ROOT, cli_env
from _toy import toy_corpus

from normrnn import cli
from normrnn.data import EOT
from normrnn.training import TrainConfig, Trainer

# what the console script installed by pip does, with a mark printed before the
# first import of normrnn; the signals are sent from 50 ms after it: before, the
# interpreter has not reached normrnn's code yet (see normrnn._console)
ENTRY = ("import sys; sys.argv = ['normrnn', *sys.argv[1:]]; print('up', flush=True); "
         "from normrnn._console import main; sys.exit(main())")


def start(*args, entry=False):
    command = ([sys.executable, "-c", ENTRY, *map(str, args)] if entry
               else [sys.executable, "-m", "normrnn", *map(str, args)])
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=cli_env(), cwd=ROOT)


def interrupt(process, after):
    """Send SIGINT ``after`` seconds from now; return (seconds it took to exit, out, err)."""
    time.sleep(after)
    sent = time.perf_counter()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    return time.perf_counter() - sent, out.decode(errors="replace"), err.decode()


def assert_interrupted(process, err):
    assert process.returncode == 130, (process.returncode, err)
    assert err.strip() == "normrnn: interrupted", err




@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "h64.npz"
    Trainer.new(toy_corpus(n=20), TrainConfig(hidden_size=64, max_steps=1, batch_size=4,
                                              n_threads=1),
                checkpoint_path=path, progress=False).run()
    return path


@pytest.fixture(scope="module")
def long_documents(tmp_path_factory):
    """Two documents of 6,000,000 characters: many seconds of evaluation, even forward only."""
    text = " ".join(d.text for d in toy_corpus(n=200))
    text = (text * (6_000_000 // len(text) + 1))[:6_000_000]
    path = tmp_path_factory.mktemp("long") / "long.jsonl"
    path.write_text("".join(json.dumps({"title": f"long {i}", "text": text}) + "\n"
                            for i in range(2)))
    return path


@pytest.mark.parametrize("delay", [0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.45, 0.6, 0.8])
def test_ctrl_c_during_imports_exits_130_quietly(checkpoint, long_documents, delay):
    # a command that runs for seconds after its imports, so that every delay
    # falls before it ends: during the imports, or soon after them
    process = start("evaluate", checkpoint, long_documents, entry=True)
    assert process.stdout.readline() == b"up\n"
    _, out, err = interrupt(process, delay)
    assert out == "", "the evaluation ended before the signal: make the documents longer"
    assert_interrupted(process, err)


@pytest.mark.parametrize("threads", [1, 2])
def test_ctrl_c_during_evaluate_of_long_documents(checkpoint, long_documents, threads):
    process = start("evaluate", checkpoint, long_documents, "--threads", threads)
    latency, out, err = interrupt(process, 2.5)
    assert out == "", "the evaluation ended before the signal: make the documents longer"
    assert_interrupted(process, err)
    assert latency < 2.0, f"exited {latency:.2f} s after Ctrl-C"


@pytest.fixture(scope="module")
def endless_checkpoint(tmp_path_factory):
    """A model that never writes the end marker: states near 1, E[EOT] pointing away."""
    path = tmp_path_factory.mktemp("endless") / "endless.npz"
    trainer = Trainer.new(toy_corpus(n=8), TrainConfig(hidden_size=8, max_steps=1, batch_size=2,
                                                       n_threads=1),
                          checkpoint_path=path, progress=False)
    trainer.run()
    model = trainer.model
    model.ih[...], model.bias[...] = 0.0, 20.0          # a_t near 20: s_t = f(a_t) near 1
    model.embedding[EOT] = -5.0                          # logit of EOT near -40
    trainer.save()
    return path


def test_sample_streams_and_ctrl_c_keeps_what_was_printed(endless_checkpoint):
    process = start("sample", endless_checkpoint, "--title", "doc1", "--max-tokens", "1000000",
                    "--temperature", "0.01", "--seed", "0")
    first = process.stdout.read(20)                      # arrives long before the end
    assert len(first) == 20
    latency, rest, err = interrupt(process, 0.3)
    assert_interrupted(process, err)
    assert latency < 2.0
    assert len(first) + len(rest.encode()) > 20 and rest.endswith("\n")


def test_an_absurd_sample_length_is_refused():
    done = subprocess.run([sys.executable, "-m", "normrnn", "sample", "x.npz", "--title", "t",
                           "--max-tokens", "1000000000000"], capture_output=True, text=True,
                          env=cli_env())
    assert done.returncode == 2 and "must be at most 1,000,000" in done.stderr


# --- the safety net -------------------------------------------------------------------------
def broken_command(monkeypatch):
    def run(args):
        raise RuntimeError("something\nunexpected")
    monkeypatch.setitem(cli.COMMANDS, "gradcheck", cli.Command("broken", lambda p: None, run))


def test_the_safety_net_prints_one_line(monkeypatch, capsys):
    broken_command(monkeypatch)
    monkeypatch.delenv(cli.TRACEBACK_VARIABLE, raising=False)
    assert cli.main(["gradcheck"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("normrnn: error: unexpected RuntimeError: "
                                                   "something unexpected")
    assert "--debug" in err and "NORMRNN_TRACEBACK=1" in err


@pytest.mark.parametrize("how", ["--debug first", "--debug last", "environment"])
def test_a_traceback_when_asked(monkeypatch, how):
    broken_command(monkeypatch)
    monkeypatch.delenv(cli.TRACEBACK_VARIABLE, raising=False)
    argv = {"--debug first": ["--debug", "gradcheck"], "--debug last": ["gradcheck", "--debug"],
            "environment": ["gradcheck"]}[how]
    if how == "environment":
        monkeypatch.setenv(cli.TRACEBACK_VARIABLE, "1")
    with pytest.raises(RuntimeError, match="something"):
        cli.main(argv)


def test_the_safety_net_in_a_real_process():
    code = ("import sys; from normrnn import cli\n"
            "def run(args): raise ZeroDivisionError('division by zero')\n"
            "cli.COMMANDS['gradcheck'] = cli.Command('x', lambda p: None, run)\n"
            "sys.exit(cli.main(sys.argv[1:]))")
    env = cli_env()
    env.pop(cli.TRACEBACK_VARIABLE, None)
    done = subprocess.run([sys.executable, "-c", code, "gradcheck"], capture_output=True,
                          text=True, env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("normrnn: error: unexpected ZeroDivisionError")
    done = subprocess.run([sys.executable, "-c", code, "--debug", "gradcheck"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 1 and "Traceback" in done.stderr


def test_evaluate_gives_the_same_result_as_before(checkpoint):
    """Interruptible evaluation changed nothing: the loss of each chunked document is the sum."""
    from normrnn.training import evaluate, load_checkpoint
    from normrnn.training.evaluation import document_loss
    ckpt = load_checkpoint(checkpoint)
    docs = [ckpt.tokenizer.encode_document(d) for d in toy_corpus(n=5)]
    long = np.concatenate([docs[0][0]] * 400)
    whole = sum(ckpt.model.loss(long[a:b + 1], 0 if a == 0 else 1,
                                initial_state=None if a == 0 else state)
                for a, b, state in _chunks(ckpt.model, long, 4096))
    assert document_loss(ckpt.model, long, 0) == whole
    for threads in (1, 2):
        result = evaluate(ckpt.model, [(long, 0), *docs], n_threads=threads)
        assert result.nats == (ckpt.model.batch_loss(docs, n_threads=threads)
                               + whole)


def _chunks(model, tokens, length):
    from normrnn.training.streams import chunk_bounds
    state = None
    for a, b in chunk_bounds(len(tokens), length):
        yield a, b, state
        state = model.loss_and_grads(tokens[a:b + 1], 0 if a == 0 else 1,
                                     initial_state=state, return_last_state=True)[2]
