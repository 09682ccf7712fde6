"""Checkpoints: round trip, atomic writes, and refusal of damaged or edited files."""

import zipfile

import numpy as np
import pytest
from _toy import toy_corpus

from normrnn.training import CheckpointError, TrainConfig, Trainer, load_checkpoint
from normrnn.training import checkpoint as checkpoint_module
from normrnn.training.checkpoint import checksum, read_npz


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "model.npz"
    config = TrainConfig(hidden_size=8, max_steps=6, batch_size=4, n_threads=1, eval_every=3)
    trainer = Trainer.new(toy_corpus(n=30), config, checkpoint_path=path, progress=False)
    trainer.run()
    return path, trainer


def arrays_of(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}




def test_round_trip(saved):
    path, trainer = saved
    ckpt = load_checkpoint(path)
    for name, p in trainer.model.parameters().items():
        np.testing.assert_array_equal(ckpt.model.parameters()[name], p)
    assert ckpt.tokenizer == trainer.tokenizer
    assert ckpt.config == trainer.config
    assert ckpt.state.step == 6 and ckpt.state.rng_state == trainer.state.rng_state
    assert ckpt.state.history.bits == trainer.state.history.bits
    for key, value in trainer.optimizer.state_dict().items():
        np.testing.assert_array_equal(ckpt.optimizer.state_dict()[key], value)


def test_write_is_atomic_and_leaves_no_temporary_file(saved, tmp_path, monkeypatch):
    path, trainer = saved
    copy = tmp_path / "model.npz"
    copy.write_bytes(path.read_bytes())

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint_module.np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        checkpoint_module.write_npz(copy, {"x": np.zeros(3)})
    assert copy.read_bytes() == path.read_bytes()          # the old checkpoint survives
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_truncated_file_is_refused(saved, tmp_path):
    path, _ = saved
    data = path.read_bytes()
    for keep in (0, 100, len(data) // 2, len(data) - 10):
        bad = tmp_path / f"cut{keep}.npz"
        bad.write_bytes(data[:keep])
        with pytest.raises(CheckpointError, match=str(bad)):
            load_checkpoint(bad)


def test_missing_file_and_non_npz_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "none.npz")
    npy = tmp_path / "a.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(CheckpointError, match="not an .npz archive"):
        load_checkpoint(npy)


def tamper(path, tmp_path, change, *, fix_checksum=True):
    arrays = arrays_of(path)
    old_sum = arrays.pop("checksum")
    change(arrays)
    arrays["checksum"] = np.array(checksum(arrays)) if fix_checksum else old_sum
    bad = tmp_path / "tampered.npz"
    np.savez(bad, **arrays)
    return bad


def test_edited_values_fail_the_checksum(saved, tmp_path):
    path, _ = saved

    def nudge(arrays):
        arrays["param.ih"] = arrays["param.ih"] + 1e-9

    with pytest.raises(CheckpointError, match="checksum mismatch"):
        load_checkpoint(tamper(path, tmp_path, nudge, fix_checksum=False))


def test_a_flipped_byte_is_detected(saved, tmp_path):
    path, _ = saved
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("param.hh.npy")
    data[info.header_offset + 200] ^= 0xFF                 # inside the array's bytes
    bad = tmp_path / "flipped.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="flipped.npz"):
        load_checkpoint(bad)


@pytest.mark.parametrize("change, message", [
    (lambda a: a.pop("param.bias"), "missing entry 'param.bias'"),
    (lambda a: a.update({"param.ih": a["param.ih"][:, :-1].copy()}), "'param.ih' must be"),
    (lambda a: a.update({"param.hh": a["param.hh"].astype(np.float32)}), "'param.hh' must be"),
    (lambda a: a.update({"vocab": a["vocab"][:-1].copy()}), "'param.embedding' must be"),
    (lambda a: a.update({"streams.carried": a["streams.carried"][:1].copy()}),
     "'streams.carried' must be"),
    (lambda a: a.update({"optimizer.m.ih": np.zeros(3)}), "bad optimizer state"),
    (lambda a: a.update({"param.hh": np.zeros_like(a["param.hh"])}), "zero row"),
    (lambda a: a.update({"param.bias": np.full_like(a["param.bias"], np.nan)}), "finite"),
    (lambda a: a.update({"format": np.array("something else")}), "not a normrnn checkpoint"),
    (lambda a: a.update({"version": np.array(99)}), "version 99"),
    (lambda a: a.update({"config": np.array("{not json")}), "bad configuration"),
    (lambda a: a.update({"progress": np.array('{"step": 1}')}), "'progress' must have"),
    (lambda a: a.update({"extra": np.zeros(2)}), "unexpected entries"),
])
def test_inconsistent_checkpoint_is_refused_with_a_clear_error(saved, tmp_path, change,
                                                               message):
    path, _ = saved
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(tamper(path, tmp_path, change))
    assert "tampered.npz" in str(info.value)


def test_object_arrays_are_refused_without_unpickling(tmp_path):
    bad = tmp_path / "objects.npz"
    np.savez(bad, checksum=np.array("x"), config=np.array([{"a": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="objects.npz"):
        read_npz(bad)
