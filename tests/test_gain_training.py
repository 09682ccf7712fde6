"""The learned gain outside the kernels: configuration, checkpoints, CLI, PyTorch, n-grams."""

import json

import numpy as np
import pytest
from _toy import toy_corpus, write_folder

import normrnn
from normrnn import cli
from normrnn.training import CheckpointError, TrainConfig, Trainer, load_checkpoint
from normrnn.baselines import NgramModel, ngram_bits_per_token
from normrnn.training.checkpoint import read_npz, write_npz

TRAIN = ["--hidden", "8", "--batch-size", "4", "--threads", "1", "--no-progress"]


def _train(path, gain, steps=4):
    config = TrainConfig(hidden_size=8, gain=gain, max_steps=steps, batch_size=4, n_threads=1,
                         eval_every=2)
    trainer = Trainer.new(toy_corpus(n=30), config, checkpoint_path=path, progress=False)
    trainer.run()
    return trainer


# --- configuration and checkpoints ------------------------------------------------
def test_config_gain_defaults_to_fixed_and_is_checked():
    assert TrainConfig().gain == "fixed"
    old = json.loads(TrainConfig().to_json())
    del old["gain"]                                    # a configuration saved before the gain
    assert TrainConfig.from_json(json.dumps(old)).gain == "fixed"
    with pytest.raises(ValueError, match="gain must be one of"):
        TrainConfig(gain="sometimes")


def test_learned_gain_checkpoint_round_trip(tmp_path):
    path = tmp_path / "learned.npz"
    trainer = _train(path, "learned")
    assert trainer.model.gain_mode == "learned"
    assert not np.all(trainer.model.gain == trainer.model.gain[0])     # it trained
    ckpt = load_checkpoint(path)
    assert ckpt.config.gain == "learned" and ckpt.model.gain_mode == "learned"
    for name, p in trainer.model.parameters().items():
        np.testing.assert_array_equal(ckpt.model.parameters()[name], p)
    for key, value in trainer.optimizer.state_dict().items():
        np.testing.assert_array_equal(ckpt.optimizer.state_dict()[key], value)
    assert any(key.endswith(".gain") for key in ckpt.optimizer.state_dict())


def test_a_checkpoint_from_before_the_gain_loads_as_fixed(tmp_path):
    # written by today's save, then turned into the old format: a configuration
    # without the "gain" field (a fixed model never had a param.gain entry)
    path = tmp_path / "fixed.npz"
    trainer = _train(path, "fixed")
    arrays = read_npz(path)
    assert "param.gain" not in arrays
    config = json.loads(str(arrays["config"]))
    del config["gain"]
    arrays["config"] = np.array(json.dumps(config, sort_keys=True))
    old = tmp_path / "old.npz"
    write_npz(old, arrays)
    ckpt = load_checkpoint(old)
    assert ckpt.config.gain == "fixed" and ckpt.model.gain is None
    for name, p in trainer.model.parameters().items():
        np.testing.assert_array_equal(ckpt.model.parameters()[name], p)


def test_a_learned_checkpoint_without_its_gain_is_refused(tmp_path):
    path = tmp_path / "learned.npz"
    _train(path, "learned", steps=2)
    arrays = read_npz(path)
    del arrays["param.gain"]
    write_npz(path, arrays)
    with pytest.raises(CheckpointError, match="missing entry 'param.gain'"):
        load_checkpoint(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_checkpoint_with_a_non_finite_gain_is_refused(tmp_path, bad):
    path = tmp_path / "learned.npz"
    _train(path, "learned", steps=2)
    arrays = read_npz(path)
    arrays["param.gain"] = arrays["param.gain"].copy()
    arrays["param.gain"][0] = bad
    write_npz(path, arrays)
    with pytest.raises(CheckpointError, match="gain must be finite"):
        load_checkpoint(path)


def test_a_checkpoint_with_zero_and_negative_gains_loads(tmp_path):
    path = tmp_path / "learned.npz"
    _train(path, "learned", steps=2)
    arrays = read_npz(path)
    arrays["param.gain"] = np.array([0.0, -0.5] + [0.1] * 6)
    write_npz(path, arrays)
    ckpt = load_checkpoint(path)
    np.testing.assert_array_equal(ckpt.model.gain[:2], [0.0, -0.5])
    assert np.isfinite(ckpt.model.loss([3, 4, 5, 6], 1))


# --- the command line -----------------------------------------------------------
@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    return write_folder(tmp_path_factory.mktemp("corpus") / "texts", toy_corpus(n=40))


def test_train_gain_learned_and_resume_keeps_it(capsys, texts, tmp_path):
    out = tmp_path / "m.npz"
    assert cli.main(["train", str(texts), "--out", str(out), "--max-steps", "2", "--gain",
                     "learned", *TRAIN]) == 0
    assert load_checkpoint(out).model.gain_mode == "learned"
    capsys.readouterr()
    # the gain defines the run, like --hidden: a resume may not change it
    status = cli.main(["train", str(texts), "--out", str(out), "--resume", str(out),
                       "--max-steps", "3", "--gain", "fixed", *TRAIN])
    err = capsys.readouterr().err
    assert status == 2 and "cannot change ['gain']" in err and "Traceback" not in err
    assert cli.main(["train", str(texts), "--out", str(out), "--resume", str(out),
                     "--max-steps", "3", "--gain", "learned", *TRAIN]) == 0
    assert load_checkpoint(out).state.step == 3


def test_train_refuses_an_unknown_gain(capsys, texts, tmp_path):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", str(texts), "--out", str(tmp_path / "m.npz"), "--gain", "big"])
    assert info.value.code == 2
    assert "invalid choice: 'big'" in capsys.readouterr().err


# --- PyTorch ------------------------------------------------------------------------
def test_torch_carries_the_gain_both_ways_and_agrees():
    torch = pytest.importorskip("torch")
    from normrnn.torch import from_torch, to_torch
    model = normrnn.NormRNN(11, 6, seed=0, gain="learned")
    model.bias[:] = np.random.default_rng(1).normal(0, 0.3, 6)
    model.gain[:] = [0.5, -0.3, 0.0, 1.2, 0.2, -0.8]
    tokens = np.random.default_rng(2).integers(0, 11, 30).astype(np.int32)
    module = to_torch(model)
    assert isinstance(module.gain, torch.nn.Parameter)
    loss, grads = model.loss_and_grads(tokens, 3)
    t_loss = module(tokens, 3)
    t_loss.backward()
    # two float64 implementations, different sum orders (as test_torch_bridge)
    assert t_loss.item() == pytest.approx(loss, rel=1e-12)
    for name, g in grads.items():
        np.testing.assert_allclose(getattr(module, name).grad.numpy(), g, rtol=1e-9, atol=1e-12)
    back = from_torch(module)
    assert back.gain_mode == "learned"
    for name, p in model.parameters().items():
        np.testing.assert_array_equal(back.parameters()[name], p)
    fixed = from_torch(to_torch(normrnn.NormRNN(11, 6, seed=0)))
    assert fixed.gain is None and to_torch(fixed).gain is None


def test_torch_module_refuses_a_non_finite_gain_on_the_way_back():
    pytest.importorskip("torch")
    from normrnn.torch import from_torch, to_torch
    module = to_torch(normrnn.NormRNN(11, 6, seed=0, gain="learned"))
    with __import__("torch").no_grad():
        module.gain[2] = float("nan")
    with pytest.raises(ValueError, match="gain must be finite"):
        from_torch(module)


# --- n-gram baselines ------------------------------------------------------------------
def test_ngram_probabilities_sum_to_one_and_higher_orders_fit_better():
    rng = np.random.default_rng(0)
    V = 6
    docs = [(np.tile(rng.permutation(V - 1), 6).astype(np.int32), 2) for _ in range(10)]
    for order in (1, 2, 3):
        model = NgramModel(docs, order, V)
        for context in ([1, 2], [5, 5], [0, 4]):
            total = sum(2.0 ** model.log2_probabilities([(np.array(context + [w]), 2)])[0]
                        for w in range(V))
            assert total == pytest.approx(1.0, abs=1e-12)
    bits = [ngram_bits_per_token(docs, docs, n, V) for n in (1, 2, 3)]
    assert bits[0] > bits[1] > bits[2]
    # an unseen token costs a finite amount
    assert np.isfinite(ngram_bits_per_token(docs, [(np.array([5, 5, 5], np.int32), 0)], 3, V))


def test_ngram_unigram_level_is_close_to_the_laplace_unigram():
    from normrnn.training.evaluation import unigram_bits_per_token, unigram_counts
    rng = np.random.default_rng(1)
    V = 20
    train = [(rng.integers(0, V, 400).astype(np.int32), 3) for _ in range(20)]
    test = [(rng.integers(0, V, 400).astype(np.int32), 3) for _ in range(5)]
    laplace = unigram_bits_per_token(unigram_counts(train, V), test)
    assert ngram_bits_per_token(train, test, 1, V) == pytest.approx(laplace, abs=0.02)


def test_ngram_refuses_bad_orders():
    with pytest.raises(ValueError, match="order must be a positive integer"):
        NgramModel([], 0, 5)
    with pytest.raises(ValueError, match="vocab_size must be a positive integer"):
        NgramModel([], 2, 0)


# --- the demo -------------------------------------------------------------------------
@pytest.mark.parametrize("gain", ["fixed", "learned"])
def test_demo_prints_a_bigram_baseline_and_what_the_recurrence_carries(capsys, tmp_path, gain):
    status = cli.main(["demo", "--out", str(tmp_path / "demo.png"), "--minutes", "0.01",
                       "--hidden", "8", "--no-progress", "--gain", gain])
    stdout = " ".join(capsys.readouterr().out.split())      # undo the line wrapping
    assert status == 0
    assert "unigram" in stdout and "bigram" in stdout and "(Kneser-Ney)" in stdout
    assert "Validation loss with S zeroed" in stdout and "the recurrence is worth" in stdout
    if gain == "fixed":
        assert "normrnn demo --gain learned" in stdout
    else:
        assert "the learned gains put the rows of S at norms" in stdout


def test_zeroing_s_in_the_demo_is_a_zero_gain():
    from normrnn.cli.demo import _without_recurrence
    model = normrnn.NormRNN(7, 5, seed=0)
    zeroed = _without_recurrence(model)
    assert model.gain is None and zeroed.gain_mode == "learned"
    np.testing.assert_array_equal(zeroed.scaled_hh(), np.zeros((5, 5)))
    # the state then depends on the last token only
    np.testing.assert_array_equal(zeroed.states([1, 2, 3])[2], zeroed.states([4, 2, 3])[2])
