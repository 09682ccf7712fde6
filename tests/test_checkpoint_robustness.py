"""Checkpoint files that are damaged, edited or hostile are refused by name, never half-used.

tests/test_checkpoint.py covers the round trip, truncation, a flipped byte,
inconsistent entries and object arrays; tests/fuzz/fuzz_training.py fuzzes
random damage.  Here: damage to the zip structure itself, a pickle payload,
entries that are well-formed but unusable, and what the command prints.
"""

import io
import json
import os
import struct
import zipfile

import numpy as np
import pytest
from _toy import toy_corpus

from normrnn import cli
from normrnn.training import CheckpointError, TrainConfig, Trainer, load_checkpoint
from normrnn.training.checkpoint import checksum


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "good.npz"
    config = TrainConfig(hidden_size=5, max_steps=4, batch_size=3, n_threads=1, eval_every=2,
                         bptt=8, segment=30)
    Trainer.new(toy_corpus(n=12), config, checkpoint_path=path, progress=False).run()
    return path


def arrays_of(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def write(path, arrays, *, fix_checksum=True):
    """Save ``arrays``; with ``fix_checksum``, as a tamperer would, with a valid checksum."""
    arrays = {k: v for k, v in arrays.items() if k != "checksum"}
    if fix_checksum:
        arrays["checksum"] = np.array(checksum(arrays))
    np.savez(path, **arrays)
    return path


def refused(path, message):
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    text = str(info.value)
    assert text.startswith(f"{path}: "), text
    assert message in text, text
    return text


# --- the zip structure ------------------------------------------------------------------
def central_entry(data, name):
    """Offset of the central-directory entry of member ``name``."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = [i.filename for i in z.infolist()]
    offset = data.index(b"PK\x05\x06")                      # end of central directory
    start = struct.unpack("<I", data[offset + 16:offset + 20])[0]
    for member in names:
        if member == name:
            return start
        n, m, k = struct.unpack("<HHH", data[start + 28:start + 34])
        start += 46 + n + m + k
    raise AssertionError(name)


@pytest.mark.parametrize("field, value, what", [
    (8, 0x01, "encrypted"),                      # general-purpose flag: encrypted
    (8, 0x40, "strong encryption"),              # flag bit 6
    (10, 99, "compression method"),              # an unknown compression method
])
def test_damaged_zip_directory_is_refused(good, tmp_path, field, value, what):
    """zipfile raises RuntimeError/NotImplementedError here, not BadZipFile."""
    data = bytearray(good.read_bytes())
    entry = central_entry(bytes(data), "param.hh.npy")
    if field == 8:
        data[entry + field] |= value
    else:
        data[entry + field:entry + field + 2] = struct.pack("<H", value)
    bad = tmp_path / "damaged.npz"
    bad.write_bytes(bytes(data))
    refused(bad, "not a readable .npz archive")


def test_a_member_whose_header_declares_a_huge_array(good, tmp_path):
    """An .npy header may claim terabytes; the loader must refuse it, not run out of memory."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**7, 10**7)})
    bad = tmp_path / "huge.npz"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, header.getvalue() + b"\0" * 16 if info.filename == "param.ih.npy"
                         else data)
    refused(bad, "too large to load")


def test_a_member_that_is_not_an_array_and_a_missing_member(good, tmp_path):
    extra = tmp_path / "extra.npz"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(extra, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("readme.txt", b"not an array")
    refused(extra, "checksum mismatch")
    missing = tmp_path / "missing.npz"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(missing, "w") as dst:
        for info in src.infolist():
            if info.filename != "param.bias.npy":
                dst.writestr(info, src.read(info))
    refused(missing, "checksum mismatch")
    # the same member removed by someone who also recomputes the checksum
    arrays = arrays_of(good)
    del arrays["param.bias"]
    refused(write(tmp_path / "missing2.npz", arrays), "missing entry 'param.bias'")


def test_duplicate_member_names_are_not_silently_merged(good, tmp_path):
    bad = tmp_path / "duplicate.npz"
    arrays = arrays_of(good)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        payload = io.BytesIO()
        np.save(payload, np.zeros_like(arrays["param.ih"]))
        with pytest.warns(UserWarning, match="Duplicate name"):
            dst.writestr("param.ih.npy", payload.getvalue())
    refused(bad, "")


@pytest.mark.parametrize("make", [
    lambda p: p.write_bytes(b""),
    lambda p: p.write_bytes(b"PK\x05\x06" + b"\0" * 18),         # an empty zip
    lambda p: p.write_text("model = {'ih': [[1, 2], [3, 4]]}"),
    lambda p: p.mkdir(),
], ids=["empty-file", "empty-zip", "text", "folder"])
def test_things_that_are_not_checkpoints(tmp_path, make):
    path = tmp_path / "model.npz"
    make(path)
    text = refused(path, "")
    # numpy's own message for a non-zip file advises loading it with pickle: not ours
    assert "pickle" not in text


# --- hostile content ----------------------------------------------------------------------
class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):               # what unpickling would run
        return os.mkdir, (self.marker,)


@pytest.mark.parametrize("key", ["config", "param.ih", "checksum"])
def test_pickle_payload_is_refused_and_never_run(good, tmp_path, key):
    marker = tmp_path / "pwned"
    arrays = arrays_of(good)
    arrays[key] = np.array([Payload(str(marker))], dtype=object)
    bad = tmp_path / "pickle.npz"
    np.savez(bad, **arrays)                          # a checksum cannot cover pickled bytes
    with zipfile.ZipFile(bad) as z:                 # the payload really is in the file
        assert b"mkdir" in z.read(f"{key}.npy")
    refused(bad, "")
    assert not marker.exists()


# --- well-formed entries, unusable values (checksum recomputed) -----------------------------
def with_json(arrays, key, **changes):
    record = json.loads(str(arrays[key]))
    record.update(changes)
    return dict(arrays, **{key: np.array(json.dumps(record))})


@pytest.mark.parametrize("name, shape", [
    ("embedding", lambda V, H: (V + 1, H)), ("embedding", lambda V, H: (V, H, 1)),
    ("ih", lambda V, H: (H, H + 1)), ("hh", lambda V, H: (H,)),
    ("bias", lambda V, H: (H, 1)), ("bias", lambda V, H: ()),
])
def test_every_wrongly_shaped_parameter_is_named(good, tmp_path, name, shape):
    arrays = arrays_of(good)
    V, H = arrays["param.embedding"].shape
    arrays[f"param.{name}"] = np.ones(shape(V, H))
    refused(write(tmp_path / "shape.npz", arrays), f"entry 'param.{name}' must be")


@pytest.mark.parametrize("change, message", [
    (lambda a: with_json(a, "config", hidden_size=10**6), "'param.embedding' must be"),
    (lambda a: with_json(a, "config", lr=float("inf")), "lr must be finite"),
    (lambda a: with_json(a, "config", optimizer=["adam"]), "optimizer must be one of"),
    (lambda a: with_json(a, "config", valid_fraction="0.1"), "valid_fraction must lie"),
    (lambda a: with_json(a, "progress", elapsed="an hour"), "elapsed must be"),
    (lambda a: with_json(a, "progress", elapsed=-5.0), "elapsed must be"),
    (lambda a: with_json(a, "progress", step=2**70), "below 2**63"),
    (lambda a: with_json(a, "progress", step=True), "non-negative integers"),
    (lambda a: with_json(a, "progress", fingerprint=None), "fingerprint must be a string"),
    (lambda a: with_json(a, "progress", next_index=False), "next index is out of range"),
    (lambda a: dict(a, unigram=-a["unigram"] - 1), "negative count"),
    (lambda a: dict(a, **{"optimizer.v.hh": -np.ones_like(a["optimizer.v.hh"])}),
     "cannot be negative"),
], ids=["huge-hidden", "inf-lr", "list-optimizer", "str-fraction", "str-elapsed",
        "negative-elapsed", "huge-step", "bool-step", "null-fingerprint", "bool-next-index",
        "negative-unigram",
        "negative-adam-v"])
def test_unusable_values_are_refused_at_load(good, tmp_path, change, message):
    refused(write(tmp_path / "edited.npz", change(arrays_of(good))), message)


def test_a_stream_position_past_its_document_is_refused_at_resume(good, tmp_path):
    """Positions depend on the corpus, so resume (which has it) checks them."""
    arrays = arrays_of(good)
    arrays["streams.pos"] = np.where(arrays["streams.doc"] >= 0, 10**6, 0)
    bad = write(tmp_path / "pos.npz", arrays)
    assert (arrays["streams.doc"] >= 0).any()
    checkpoint = load_checkpoint(bad)
    with pytest.raises(ValueError, match="stands at position 1000000 .* not the same corpus"):
        Trainer.resume(checkpoint, toy_corpus(n=12), progress=False)


def test_the_command_reports_each_refusal_in_one_line(good, tmp_path, capsys):
    data = bytearray(good.read_bytes())
    data[central_entry(bytes(data), "param.hh.npy") + 8] |= 0x01
    bad = tmp_path / "encrypted.npz"
    bad.write_bytes(bytes(data))
    status = cli.main(["sample", str(bad), "--title", "doc1"])
    err = capsys.readouterr().err
    assert status == 1 and err.startswith(f"normrnn: error: {bad}: ")
    assert err.count("\n") == 1 and "Traceback" not in err
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "a.txt").write_text("some text")
    status = cli.main(["train", str(texts), "--resume", str(bad), "--out", str(tmp_path / "o.npz"),
                       "--no-progress"])
    err = capsys.readouterr().err
    assert status == 1 and str(bad) in err and "Traceback" not in err
