"""Every ``normrnn`` command runs, from ``--help`` to a resumed training run."""

import json
import subprocess
import sys

import numpy as np
import pytest
from _toy import toy_corpus, write_folder

from normrnn import cli
from normrnn.training import load_checkpoint

TRAIN = ["--hidden", "12", "--batch-size", "8", "--threads", "1", "--lr", "0.03",
         "--no-progress"]


@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    return write_folder(tmp_path_factory.mktemp("corpus") / "texts", toy_corpus(n=60))


@pytest.fixture(scope="module")
def checkpoint(texts, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "model.npz"
    assert cli.main(["train", str(texts), "--out", str(out), "--epochs", "2", *TRAIN]) == 0
    return out


def run(capsys, *argv):
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("command", [[], *[[name] for name in cli.COMMANDS]])
def test_help(capsys, command):
    with pytest.raises(SystemExit) as info:
        cli.main([*command, "--help"])
    assert info.value.code == 0
    assert "usage: normrnn" in capsys.readouterr().out


def test_python_dash_m(tmp_path):
    done = subprocess.run([sys.executable, "-m", "normrnn", "--help"], capture_output=True,
                          text=True, check=True)
    for name in cli.COMMANDS:
        assert name in done.stdout


def test_train_writes_checkpoint_plot_and_json(capsys, texts, tmp_path):
    out = tmp_path / "m.npz"
    status, stdout, _ = run(capsys, "train", str(texts), "--out", str(out), "--max-steps", "4",
                            "--json", *TRAIN)
    assert status == 0
    info = json.loads(stdout)
    assert info["steps"] == 4 and info["stopped_by"] == "max_steps"
    assert info["valid_bits_per_token"] < info["unigram_bits_per_token"] + 5
    assert load_checkpoint(out).state.step == 4
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"


def test_resume_through_the_cli_equals_one_run(capsys, texts, tmp_path):
    one, two = tmp_path / "one.npz", tmp_path / "two.npz"
    assert run(capsys, "train", str(texts), "--out", str(one), "--max-steps", "6", *TRAIN)[0] == 0
    assert run(capsys, "train", str(texts), "--out", str(two), "--max-steps", "3", *TRAIN)[0] == 0
    status, stdout, _ = run(capsys, "train", str(texts), "--resume", str(two), "--out", str(two),
                            "--max-steps", "6", "--no-progress")
    assert status == 0 and "6 steps" in stdout
    a, b = load_checkpoint(one), load_checkpoint(two)
    for name, p in a.model.parameters().items():
        np.testing.assert_array_equal(b.model.parameters()[name], p)


def test_resume_refuses_to_change_the_run(capsys, texts, checkpoint, tmp_path):
    status, _, err = run(capsys, "train", str(texts), "--resume", str(checkpoint), "--out",
                         str(tmp_path / "x.npz"), "--hidden", "99", "--no-progress")
    assert status == 2 and "cannot change ['hidden_size']" in err


def test_evaluate_json(capsys, checkpoint, texts):
    status, stdout, _ = run(capsys, "evaluate", str(checkpoint), str(texts), "--json")
    assert status == 0
    info = json.loads(stdout)
    assert info["tokens"] == sum(len(d.text) + 1 for d in toy_corpus(n=60))
    assert info["bits_per_token"] < info["unigram_bits_per_token"]
    status, stdout, _ = run(capsys, "evaluate", str(checkpoint), str(texts))
    assert status == 0 and "bits per token" in stdout


def test_sample_prints_text_reproducibly(capsys, checkpoint):
    argv = ["sample", str(checkpoint), "--title", "doc1", "--seed", "3", "--max-tokens", "40"]
    status, first, _ = run(capsys, *argv)
    assert status == 0 and 1 <= len(first) <= 41
    assert run(capsys, *argv)[1] == first


def test_gradcheck_one_section(capsys):
    status, stdout, _ = run(capsys, "gradcheck", "--section", "row_normalise")
    assert status == 0
    assert "row_normalise" in stdout and "logits" not in stdout


def test_demo_runs_every_part(capsys, tmp_path):
    plot = tmp_path / "demo.png"
    status, stdout, _ = run(capsys, "demo", "--out", str(plot), "--minutes", "0.01",
                            "--hidden", "8", "--no-progress")
    assert status == 0
    for part in ("Gradient check", "Training on the embedded corpus", "Samples",
                 "loss plot written to"):
        assert part in stdout
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_malformed_data_is_a_one_line_error(capsys, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "a", "text": "b"}\nnot json\n')
    status, _, err = run(capsys, "train", str(bad), "--out", str(tmp_path / "m.npz"),
                         "--no-progress")
    assert status == 1 and f"{bad}:2: invalid JSON" in err


def test_damaged_checkpoint_is_a_one_line_error(capsys, checkpoint, tmp_path):
    bad = tmp_path / "cut.npz"
    bad.write_bytes(checkpoint.read_bytes()[:500])
    status, _, err = run(capsys, "sample", str(bad), "--title", "x")
    assert status == 1 and str(bad) in err and "Traceback" not in err
