"""Truncated BPTT, evaluation, the trainer, resuming, Ctrl-C, divergence, sampling, plots."""

import math
import os
import signal

import numpy as np
import pytest
from _toy import toy_corpus

import normrnn
from normrnn import reference
from normrnn.cli.plotting import plot_loss_curve
from normrnn.data import EOT
from normrnn.training import (
    TrainConfig,
    Trainer,
    TrainingDiverged,
    chunk_bounds,
    chunk_title_length,
    evaluate,
    load_checkpoint,
    sample,
    unigram_bits_per_token,
    unigram_counts,
)
from normrnn.training import trainer as trainer_module
from normrnn.training.streams import segment_document

RTOL = 1e-10      # float64 sums of a few hundred terms, in another order


def small_model(V=9, H=6, seed=0):
    model = normrnn.NormRNN(V, H, seed=seed)
    model.bias[:] = np.random.default_rng(seed + 1).normal(0, 0.3, H)
    return model


def toy_config(**changes):
    settings = dict(hidden_size=16, epochs=2, optimizer="adam", lr=0.03, batch_size=8,
                    n_threads=1, eval_every=10)
    settings.update(changes)
    return TrainConfig(**settings)


# --- truncated BPTT ---------------------------------------------------------------
def test_chunks_overlap_by_one_token_and_cover_the_document():
    assert chunk_bounds(1, 4) == [(0, 0)]
    assert chunk_bounds(5, 4) == [(0, 4)]
    assert chunk_bounds(10, 4) == [(0, 4), (4, 8), (8, 9)]
    assert chunk_title_length(3, 0, 4) == 3
    assert chunk_title_length(3, 4, 8) == 1          # position 4 was scored by chunk 1
    assert chunk_title_length(7, 4, 8) == 3          # the title goes on into chunk 2
    assert chunk_title_length(20, 4, 8) == 5         # a chunk of title only: nothing scored


def run_chunks(model, tokens, m, bptt, loss_and_grads):
    """Chunked pass: losses, gradients summed, state carried (stop-gradient)."""
    total, grads, state = 0.0, None, None
    for a, b in chunk_bounds(len(tokens), bptt):
        loss, g, state = loss_and_grads(tokens[a:b + 1], chunk_title_length(m, a, b), state)
        total += loss
        grads = g if grads is None else {k: grads[k] + g[k] for k in g}
    return total, grads


def model_chunk(model):
    def run(tokens, m, state):
        loss, grads, last = model.loss_and_grads(tokens, m, initial_state=state,
                                                 return_last_state=True)
        return loss, grads.as_dict(), last
    return run


def reference_chunk(model):
    def run(tokens, m, state):
        loss, grads = reference.loss_and_grads(model.embedding, model.ih, model.hh, model.bias,
                                               tokens, m, initial_state=state)
        states = reference.forward(model.embedding, model.ih, model.hh, model.bias, tokens,
                                   initial_state=state)
        return loss, grads, states[-1]
    return run


@pytest.mark.parametrize("m", [0, 3, 13])
def test_truncated_forward_is_exact(m):
    model = small_model()
    tokens = np.random.default_rng(1).integers(0, 9, 40).astype(np.int32)
    full = model.loss(tokens, m)
    for bptt in (1, 4, 7, 39):
        loss, _ = run_chunks(model, tokens, m, bptt, model_chunk(model))
        assert loss == pytest.approx(full, rel=RTOL)


def test_truncated_bptt_with_one_chunk_is_full_bptt():
    model = small_model()
    tokens = np.random.default_rng(2).integers(0, 9, 30).astype(np.int32)
    _, full = model.loss_and_grads(tokens, 4)
    _, grads = run_chunks(model, tokens, 4, 29, model_chunk(model))
    for name, g in full.items():
        np.testing.assert_allclose(grads[name], g, rtol=RTOL, atol=1e-13)


def test_truncated_bptt_gradient_matches_the_numpy_reference_and_differs_from_full():
    """Each chunk's gradient treats the carried state as a constant.

    Checked against the independent per-token NumPy BPTT run on the same
    chunks; the truncated gradient is not the full one (the terms that cross a
    boundary are dropped).
    """
    model = small_model()
    tokens = np.random.default_rng(3).integers(0, 9, 30).astype(np.int32)
    _, fast = run_chunks(model, tokens, 4, 6, model_chunk(model))
    _, slow = run_chunks(model, tokens, 4, 6, reference_chunk(model))
    _, full = model.loss_and_grads(tokens, 4)
    for name in normrnn.PARAMETER_NAMES:
        np.testing.assert_allclose(fast[name], slow[name], rtol=1e-9, atol=1e-12)
    assert not np.allclose(fast["hh"], full.hh, rtol=1e-6)


def test_segments_score_every_token_once():
    tokens = np.arange(3, 30, dtype=np.int32)              # title of m = 5, then 22 scored
    units = segment_document(tokens, 5, 8)
    assert [len(t) - m for t, m in units] == [8, 8, 6]
    assert all(list(t[:5]) == list(tokens[:5]) for t, _ in units)
    assert np.concatenate([t[m:] for t, m in units]).tolist() == tokens[5:].tolist()
    assert segment_document(tokens, 5, 22)[0][0] is tokens


# --- evaluation ---------------------------------------------------------------------
def test_evaluate_in_bits_per_token_with_long_documents_chunked():
    model = small_model()
    rng = np.random.default_rng(4)
    docs = [(rng.integers(0, 9, n).astype(np.int32), 2) for n in (5, 12, 50)]
    nats = sum(model.loss(t, m) for t, m in docs)
    result = evaluate(model, docs, chunk_length=8, n_threads=2)
    assert result.tokens == 3 + 10 + 48 and result.documents == 3
    assert result.nats == pytest.approx(nats, rel=RTOL)
    assert result.bits_per_token == pytest.approx(nats / math.log(2) / 61, rel=RTOL)


def test_unigram_baseline_is_the_smoothed_cross_entropy():
    train = [(np.array([0, 3, 3, 4], np.int32), 1)]            # scored: 3, 3, 4
    valid = [(np.array([0, 3, 4], np.int32), 1)]               # scored: 3, 4
    counts = unigram_counts(train, 5)
    assert counts.tolist() == [0, 0, 0, 2, 1]
    p3, p4 = 3 / 8, 2 / 8                                      # add-one over V = 5
    want = -(math.log2(p3) + math.log2(p4)) / 2
    assert unigram_bits_per_token(counts, valid) == pytest.approx(want, rel=1e-12)


# --- the trainer ---------------------------------------------------------------------
def test_training_beats_the_unigram_baseline_by_far():
    result = Trainer.new(toy_corpus(), toy_config(epochs=4), progress=False).run()
    assert result.reason == "epochs" and result.state.epoch == 4
    # toy sentences over ten words: a character model that learns the words
    # needs well under 60% of the unigram's bits
    assert result.valid_bits < 0.6 * result.unigram_bits
    assert result.train_bits < 0.6 * result.unigram_bits


def test_same_seed_same_run_bitwise():
    a = Trainer.new(toy_corpus(), toy_config(max_steps=12, epochs=None), progress=False)
    b = Trainer.new(toy_corpus(), toy_config(max_steps=12, epochs=None), progress=False)
    a.run(), b.run()
    for name, p in a.model.parameters().items():
        np.testing.assert_array_equal(p, b.model.parameters()[name])


def long_corpus():
    return toy_corpus(n=40, words=(10, 30))        # documents longer than bptt below


@pytest.mark.parametrize("stop_at, dtype, n_threads", [(7, "float64", 1), (12, "float64", 2),
                                                       (9, "float32", 2)])
def test_resumed_run_equals_uninterrupted_run_bitwise(tmp_path, stop_at, dtype, n_threads):
    config = toy_config(epochs=2, bptt=16, segment=60, batch_size=4, eval_every=5,
                        dtype=dtype, n_threads=n_threads)
    docs = long_corpus()
    whole = Trainer.new(docs, config, progress=False)
    whole_result = whole.run()

    path = tmp_path / "run.npz"

    def interrupt(trainer):
        if trainer.state.step == stop_at:
            trainer.stop.request()

    first = Trainer.new(docs, config, checkpoint_path=path, progress=False, callback=interrupt)
    assert first.run().reason == "interrupted"
    assert first.streams.carried.any()              # states were being carried
    resumed = Trainer.resume(load_checkpoint(path), docs, checkpoint_path=path, progress=False)
    result = resumed.run()

    assert result.reason == "epochs" and result.state.step == whole_result.state.step
    for name, p in whole.model.parameters().items():
        np.testing.assert_array_equal(resumed.model.parameters()[name], p)
    for key, value in whole.optimizer.state_dict().items():
        np.testing.assert_array_equal(resumed.optimizer.state_dict()[key], value)
    assert resumed.state.history.bits == whole.state.history.bits


def test_ctrl_c_writes_a_checkpoint_and_stops_cleanly(tmp_path):
    path = tmp_path / "run.npz"

    def press_ctrl_c(trainer):
        if trainer.state.step == 3:
            os.kill(os.getpid(), signal.SIGINT)

    trainer = Trainer.new(toy_corpus(), toy_config(), checkpoint_path=path, progress=False,
                          callback=press_ctrl_c)
    with trainer.stop.on_signals():               # as the command runs it
        result = trainer.run()
    assert result.reason == "interrupted" and result.state.step == 3
    assert load_checkpoint(path).state.step == 3
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_nan_loss_stops_with_a_message_and_keeps_the_last_good_checkpoint(tmp_path,
                                                                          monkeypatch):
    path = tmp_path / "run.npz"
    trainer = Trainer.new(toy_corpus(), toy_config(eval_every=4), checkpoint_path=path,
                          progress=False)
    trainer.config.max_steps = 4
    trainer.run()
    good = path.read_bytes()
    before = {k: v.copy() for k, v in trainer.model.parameters().items()}

    real = trainer_module.chunks_loss_and_grads

    def poisoned(*args):
        loss, grads, states, scored = real(*args)
        return float("nan"), grads, states, scored

    monkeypatch.setattr(trainer_module, "chunks_loss_and_grads", poisoned)
    trainer.config.max_steps = 8
    with pytest.raises(TrainingDiverged, match=r"loss is nan at step 5.*last good checkpoint"):
        trainer.run()
    assert path.read_bytes() == good
    for name, p in trainer.model.parameters().items():
        np.testing.assert_array_equal(p, before[name])


def test_budget_in_minutes_and_steps():
    result = Trainer.new(toy_corpus(), toy_config(epochs=None, minutes=1e-9),
                         progress=False).run()
    assert result.reason == "minutes" and result.state.step == 1
    result = Trainer.new(toy_corpus(), toy_config(epochs=None, max_steps=3),
                         progress=False).run()
    assert result.reason == "max_steps" and result.state.step == 3


def test_config_refuses_bad_values():
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="hidden_size"):
        TrainConfig(hidden_size=0)
    with pytest.raises(ValueError, match="valid_fraction"):
        TrainConfig(valid_fraction=1.0)
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=1.5)
    assert TrainConfig.from_json(TrainConfig(lr=0.5).to_json()) == TrainConfig(lr=0.5)


# --- sampling and plotting -----------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    trainer = Trainer.new(toy_corpus(), toy_config(epochs=3), progress=False)
    return trainer, trainer.run()


def test_sampling_is_reproducible_with_a_seed(trained):
    trainer, _ = trained
    a = sample(trainer.model, trainer.tokenizer, "doc1", max_tokens=80, seed=5)
    b = sample(trainer.model, trainer.tokenizer, "doc1", max_tokens=80, seed=5)
    c = sample(trainer.model, trainer.tokenizer, "doc1", max_tokens=80, seed=6)
    assert a == b and a != c
    assert len(a) <= 80
    assert sample(trainer.model, trainer.tokenizer, "doc1", max_tokens=0, seed=5) == ""


def test_sampling_stops_at_the_end_marker(trained):
    trainer, _ = trained
    model = trainer.model.copy()
    model.bias[:] = 50.0                                 # every state ~ f(50) ~ 1
    model.embedding[:] = 0.0
    model.embedding[EOT] = 50.0                          # so EOT has probability ~ 1
    assert sample(model, trainer.tokenizer, "doc1", max_tokens=50, seed=0) == ""


def test_plot_is_a_png(trained, tmp_path):
    _, result = trained
    path = plot_loss_curve(result.state.history, tmp_path / "sub" / "loss.png",
                           unigram_bits=result.unigram_bits)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
