"""Sizes that cannot fit are refused before allocation; input is read up to a limit.

Commands: one ``normrnn: error:`` line naming the memory needed and the
memory available (status 1).  The model: a ``MemoryError`` naming both and
the remedy, raised before the arrays exist.  Large scratch memory is released
after a call.  Corpus files are read up to a limit, never whole first.
"""

import tracemalloc

import numpy as np
import pytest
from _cli import assert_user_error, cli_env, run_cli
from _toy import toy_corpus, write_folder
from helpers import make_model

import normrnn.batching
import normrnn.memory
from normrnn.data import CorpusError, load_corpus
from normrnn.memory import bytes_per_token, document_memory
from normrnn.training import TrainConfig
from normrnn.training.config import require_training_memory, training_memory


@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    return write_folder(tmp_path_factory.mktemp("corpus") / "texts", toy_corpus(n=20))


@pytest.mark.parametrize("command", [
    ["train", "TEXTS", "--out", "OUT", "--hidden", "1000000000", "--no-progress"],
    ["train", "TEXTS", "--out", "OUT", "--batch-size", "1000000000000", "--no-progress"],
    ["train", "TEXTS", "--out", "OUT", "--hidden", "200000", "--no-progress"],
    ["demo", "--hidden", "1000000000", "--no-progress", "--out", "PLOT"],
], ids=["hidden", "batch-size", "hidden-320GB", "demo-hidden"])
def test_commands_refuse_sizes_that_do_not_fit(texts, tmp_path, command):
    out, plot = tmp_path / "model.npz", tmp_path / "loss.png"
    args = [{"TEXTS": texts, "OUT": out, "PLOT": plot}.get(a, a) for a in command]
    done = run_cli(*args)
    assert_user_error(done, 1, contains=["needs", "of memory, but", "is available"])
    assert not out.exists() and not plot.exists()


def test_the_cost_per_token_is_what_the_bench_measures():
    # normrnn.bench.footprint compares its measurement with (4 H + V) x 8 bytes
    assert bytes_per_token(96, 128) == (4 * 128 + 96) * 8
    assert bytes_per_token(96, 128, np.float32) == (4 * 128 + 96) * 4
    T = 5_000_000
    assert document_memory(96, 128, T) == pytest.approx(T * (4 * 128 + 96) * 8, rel=1e-3)


def test_training_memory_grows_with_every_size():
    base = TrainConfig(hidden_size=16, batch_size=4, n_threads=1)
    small = training_memory(base, 30)
    for change in [dict(hidden_size=32), dict(batch_size=400), dict(bptt=2048),
                   dict(n_threads=2)]:
        assert training_memory(TrainConfig(**{**vars(base), **change}), 30) > small
    require_training_memory(base, 30)                      # fits: no error


@pytest.fixture
def little_memory(monkeypatch):
    """Pretend the machine has 100 MB available."""
    monkeypatch.setattr(normrnn.memory, "available_memory", lambda: 100 * 10**6)


@pytest.mark.parametrize("call", ["loss_and_grads", "states", "batch"])
def test_a_long_document_is_refused_before_allocating(little_memory, call):
    model = make_model(V=96, H=128)
    tokens = np.zeros(400_000, dtype=np.int32)           # 400,000 x 4864 bytes: 1.9 GB
    calls = {"loss_and_grads": lambda: model.loss_and_grads(tokens, 0),
             "states": lambda: model.states(tokens),
             "batch": lambda: model.batch_loss_and_grads([(tokens, 0), (tokens[:9], 0)],
                                                         n_threads=2)}
    tracemalloc.start()
    try:
        with pytest.raises(MemoryError) as info:
            calls[call]()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert "400,000 tokens" in message and "4.86 kB per token" in message
    assert "100 MB is available" in message and "initial_state" in message
    assert peak < 10 * 2**20                             # nothing of that size was allocated


@pytest.mark.parametrize("call", ["loss", "batch_loss"])
def test_the_loss_alone_needs_no_memory_per_token(little_memory, call):
    # forward only: one state row per document and a block of logits, whatever
    # the length; the 400,000 tokens that loss_and_grads refuses above run here
    model = make_model(V=96, H=128)
    tokens = np.arange(400_000, dtype=np.int32) % 96
    run = {"loss": lambda: model.loss(tokens, 0),
           "batch_loss": lambda: model.batch_loss([(tokens, 0), (tokens[:9], 0)], n_threads=2)}
    run[call]()                                          # the workspace, made once
    tracemalloc.start()
    try:
        loss = run[call]()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.isfinite(loss)
    # checking and gathering the tokens costs a few bytes per token (int32
    # copies, boolean masks); nothing of H or V numbers per token (4,864 bytes)
    assert peak < 2**20 + 16 * len(tokens)


def test_large_scratch_memory_is_released_small_is_kept():
    model = make_model(V=96, H=128)
    model.loss_and_grads(np.arange(300) % 96, 1)
    kept = normrnn.batching._local.workspace
    assert kept is not None
    model.loss_and_grads(np.arange(300) % 96, 1)
    assert normrnn.batching._local.workspace is kept         # reused
    model.loss_and_grads(np.arange(20_000) % 96, 1)      # 97 MB of scratch space
    assert getattr(normrnn.batching._local, "workspace", None) is None


# --- bounded reading ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["txt", "jsonl", "folder", "device"])
def test_reading_stops_at_the_limit(tmp_path, kind):
    if kind == "device":
        path = "/dev/zero"
    elif kind == "folder":
        path = tmp_path / "texts"
        path.mkdir()
        for i in range(3):
            (path / f"{i}.txt").write_text("x" * 400)
    else:
        path = tmp_path / f"big.{kind}"
        path.write_text('{"title": "t", "text": "%s"}\n' % ("x" * 1200))
    tracemalloc.start()
    try:
        with pytest.raises(CorpusError, match="larger than the corpus limit of 1,000 bytes"):
            load_corpus(path, max_bytes=1000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20
    if kind != "device":
        assert load_corpus(path, max_bytes=10**4)            # a larger limit reads it


def test_the_environment_variable_sets_the_limit_for_the_command(tmp_path, texts):
    big = tmp_path / "big.jsonl"
    big.write_text('{"title": "t", "text": "%s"}\n' % ("x" * 2_000_000))
    done = run_cli("train", big, "--out", tmp_path / "m.npz", "--max-steps", "1",
                   env=cli_env(NORMRNN_MAX_CORPUS_MB="1"))
    assert_user_error(done, 1, contains=["larger than the corpus limit of 1,000,000 bytes",
                                         "NORMRNN_MAX_CORPUS_MB"])
    done = run_cli("train", big, "--out", tmp_path / "m.npz", "--max-steps", "1",
                   env=cli_env(NORMRNN_MAX_CORPUS_MB="many"))
    assert_user_error(done, 1, contains=["NORMRNN_MAX_CORPUS_MB must be a number"])


def test_dev_zero_as_data(tmp_path, texts):
    done = run_cli("train", "/dev/zero", "--out", tmp_path / "m.npz",
                   env=cli_env(NORMRNN_MAX_CORPUS_MB="20"))
    assert_user_error(done, 1, contains=["/dev/zero: larger than the corpus limit"])
