"""examples/ddp_train.py: DistributedDataParallel on two CPU processes trains as normrnn does.

The example trains the PyTorch model of :mod:`normrnn.torch` on two ranks
(gloo backend) and checks that they end with bitwise identical parameters.
Here it runs for three steps, and its parameters are compared with normrnn's
own SGD on the same global batches (each step: the summed gradients of the
global batch over the number of ranks, which is what DDP's averaging of the
ranks' summed losses gives): equal to float64 round-off, 1e-12 relative
(sums in other orders, over three small steps).
"""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

import normrnn

torch = pytest.importorskip("torch", reason="the DDP example needs PyTorch "
                                            "(pip install normrnn[torch])")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "ddp_train.py")


def load_example():
    spec = importlib.util.spec_from_file_location("ddp_train", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not (torch.distributed.is_available()
                         and torch.distributed.is_gloo_available()),
                    reason="this PyTorch build has no torch.distributed gloo backend")
def test_ddp_example_ranks_agree_and_match_normrnn_sgd(tmp_path):
    out = tmp_path / "params.npz"
    options = ["--steps", "3", "--batch", "3", "--length", "64", "--hidden", "16",
               "--lr", "1e-3", "--seed", "1"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    done = subprocess.run([sys.executable, EXAMPLE, *options, "--out", str(out)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-1000:] + done.stderr[-2000:]
    assert "ranks end with identical parameters: yes" in done.stdout
    assert done.stdout.count("step ") == 3

    vocab_size, batches = load_example().schedule(steps=3, world_size=2, batch=3, length=64,
                                                  seed=1)
    model = normrnn.NormRNN(vocab_size, 16, seed=1)
    for documents in batches:
        _, grads = model.batch_loss_and_grads(documents)
        for name, g in grads.items():
            getattr(model, name)[...] -= 1e-3 * g / 2          # DDP: the mean over 2 ranks
    trained = np.load(out)
    assert sorted(trained.files) == sorted(model.parameter_names)
    for name, p in model.parameters().items():
        np.testing.assert_allclose(trained[name], p, rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("options, message", [
    (["--world-size", "0"], "--world-size must be at least 1"),
    (["--steps", "0"], "--steps must be at least 1"),
    (["--batch", "-1"], "--batch must be at least 1"),
    (["--hidden", "0"], "--hidden must be at least 1"),
    (["--length", "1"], "--length must be at least 2"),
    (["--lr", "nan"], "--lr must be a positive number"),
    (["--lr", "0"], "--lr must be a positive number"),
    (["--batch", "1000"], "--world-size x --batch must be at most"),
    (["--out", "no/such/folder/params.npz"], "--out: the folder of"),
])
def test_ddp_example_refuses_bad_options_in_one_line(options, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        load_example().main(options)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
