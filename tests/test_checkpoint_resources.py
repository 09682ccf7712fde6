"""Reading and writing checkpoints costs bounded memory, leaves no temporaries, fits long names.

A crafted checkpoint (a zip bomb: a small file whose entries declare hundreds of
megabytes) is refused before any entry is read, in a few kilobytes of traced
memory; temporaries of a killed writer are removed by the next save to the same
path; a 255-byte name (the longest most file systems accept) can be written and
resumed, because temporary names are cut to fit.
"""

import fcntl
import io
import json
import os
import subprocess
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest
from _cli_run import assert_refused, environment, make_checkpoint, run_in
from _toy import toy_corpus

from normrnn.training import CheckpointError, load_checkpoint
from normrnn.files.atomic import remove_stale_temporaries, temporary_prefix
from normrnn.training.checkpoint import checksum, read_npz, write_npz

BOMB_MB = 256                              # declared; the file itself is about 260 kB


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("good") / "good.npz")


def npy(array_header_shape, dtype="<f8"):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": dtype, "fortran_order": False, "shape": array_header_shape})
    return header.getvalue()


@pytest.fixture(scope="module")
def bomb(good, tmp_path_factory):
    """``good`` with ``param.ih`` replaced by BOMB_MB megabytes of deflated zeros."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.npz"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != "param.ih.npy":
                dst.writestr(info.filename, src.read(info))
                continue
            with dst.open("param.ih.npy", "w", force_zip64=True) as out:
                out.write(npy(((BOMB_MB << 20) // 8,)))
                zeros = bytes(1 << 20)
                for _ in range(BOMB_MB):
                    out.write(zeros)
    assert path.stat().st_size < 1 << 20
    return path


def traced_peak(function):
    """Peak traced memory (bytes) while ``function()`` runs (numpy's buffers are traced)."""
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def refused_within(path, limit, message):
    def load():
        with pytest.raises(CheckpointError, match=message):
            load_checkpoint(path)
    peak = traced_peak(load)
    assert peak < limit, f"{peak / 2**20:.1f} MiB traced"
    return peak


# --- zip bombs and lying sizes ------------------------------------------------------------
def test_a_zip_bomb_is_refused_before_anything_is_read(bomb):
    # 0.5 MB crafted files cost 1 GB before this check; now a few kilobytes
    refused_within(bomb, 4 << 20, "entries declare .* bytes in a file of")


def test_a_zip_bomb_through_the_command_is_one_line(bomb):
    outcome = run_in(bomb.parent, ["sample", bomb.name, "--title", "doc1"])
    assert_refused(outcome, "a compressed one is refused")


def test_a_stored_entry_larger_than_the_configuration_implies(good, tmp_path):
    """Uncompressed, so the file really is large, but H = 4 allows a few hundred bytes."""
    big = tmp_path / "big.npz"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(big, "w") as dst:
        for info in src.infolist():
            if info.filename == "param.ih.npy":
                dst.writestr(info.filename, npy((4, 1 << 16)) + bytes(8 << 18))
            else:
                dst.writestr(info, src.read(info))
    refused_within(big, 1 << 20, "'param.ih' is too large to load: it declares 2097152 bytes")


def test_an_npy_header_larger_than_its_entry(good, tmp_path):
    liar = tmp_path / "liar.npz"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(liar, "w") as dst:
        for info in src.infolist():
            data = npy((10**6,)) + bytes(64) if info.filename == "unigram.npy" else src.read(info)
            dst.writestr(info, data)
    refused_within(liar, 1 << 20, "'unigram' is too large to load: its header declares")


def test_a_good_checkpoint_costs_about_its_size(good):
    size = good.stat().st_size
    peak = traced_peak(lambda: load_checkpoint(good))
    assert peak < 4 * size + (256 << 10)


def test_the_checksum_hashes_arrays_without_copying_them():
    arrays = {"x": np.zeros(1 << 20)}                    # 8 MiB
    peak = traced_peak(lambda: checksum(arrays))
    assert peak < 1 << 20
    assert checksum(arrays) == checksum({"x": np.zeros(1 << 20)})


# --- temporaries ---------------------------------------------------------------------------
def save(path):
    write_npz(path, {"x": np.arange(3)})


OURS = ".model.npz.normrnn-0123456789abcdef.tmp"


def test_stale_temporaries_of_the_same_path_are_removed_by_the_next_save(tmp_path):
    target = tmp_path / "model.npz"
    ours = {OURS: b"PK\x03\x04half a checkpoint", ".model.npz.normrnn-fedcba9876543210.tmp": b""}
    for name, content in ours.items():
        (tmp_path / name).write_bytes(content)
    save(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    assert read_npz(target)["x"].tolist() == [0, 1, 2]


#: files a person may name so: the sweep must keep every one, byte for byte
USER_FILES = {
    ".model.npz.old_copy.tmp": b"PK\x03\x04my old copy",     # the pattern of earlier versions
    ".model.npz.20241201.tmp": b"PK\x03\x04a dated backup",
    ".model.npz.0123abcd.tmp": b"PK\x03\x04eight hex digits",
    ".model.npz.k2j_x9q1.tmp": b"notes",
    ".model.npz.normrnn-0123456789abcdef.tmp": b"my notes, not a checkpoint",   # no PK
    ".model.npz.normrnn-0123456789ABCDEF.tmp": b"PK\x03\x04upper-case digits",
    ".model.npz.normrnn-0123456789abcde.tmp": b"PK\x03\x04fifteen digits",
    ".model.npz.normrnn-0123456789abcdef0.tmp": b"PK\x03\x04seventeen digits",
    ".other.npz.normrnn-0123456789abcdef.tmp": b"PK\x03\x04another target's",
    "model.npz.normrnn-0123456789abcdef.tmp": b"PK\x03\x04no leading dot",
    ".model.npz.normrnn-0123456789abcdef.tmp.bak": b"PK\x03\x04a suffix after",
    ".model.npz.notours.tmp": b"PK",
}


@pytest.mark.parametrize("name", sorted(USER_FILES))
def test_the_sweep_keeps_files_a_person_made(tmp_path, name):
    (tmp_path / name).write_bytes(USER_FILES[name])
    save(tmp_path / "model.npz")
    save(tmp_path / "model.npz")
    assert (tmp_path / name).read_bytes() == USER_FILES[name]
    assert remove_stale_temporaries(tmp_path / "model.npz") == []


def test_the_train_command_keeps_files_named_like_temporaries(tmp_path):
    """Through the command: ``.ck.npz.old_copy.tmp`` and ``.ck.npz.20241201.tmp`` survive."""
    (tmp_path / "data.jsonl").write_text("".join(
        json.dumps({"title": d.title, "text": d.text}) + "\n" for d in toy_corpus(n=12)))
    names = {".ck.npz.old_copy.tmp": b"PK\x03\x04copy", ".ck.npz.20241201.tmp": b"backup",
             ".ck.png.normrnn-0123456789abcdef.tmp": b"my drawing"}
    for name, content in names.items():
        (tmp_path / name).write_bytes(content)
    done = run_in(tmp_path, ["train", "data.jsonl", "--out", "ck.npz", "--max-steps", "2",
                             "--eval-every", "1", "--hidden", "4", "--batch-size", "2",
                             "--threads", "1", "--no-progress"])
    assert done.returncode == 0, done.stderr
    for name, content in names.items():
        assert (tmp_path / name).read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*names, "data.jsonl", "ck.npz", "ck.png"])


def test_a_temporary_that_a_live_writer_holds_is_kept(tmp_path):
    target = tmp_path / "model.npz"
    live = tmp_path / ".model.npz.normrnn-00000000feedbeef.tmp"
    with open(live, "wb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        assert remove_stale_temporaries(target) == []
        save(target)
        assert live.exists()
    assert remove_stale_temporaries(target) == [live]


KILLED_WRITER = """
import os, sys
import numpy as np
from normrnn.training import checkpoint
def die(f, **arrays):
    f.write(b"PK" + bytes(1000)); f.flush()
    os._exit(9)                                  # killed in the middle of a save
np.savez = die
checkpoint.write_npz(sys.argv[1], {"x": np.zeros(3)})
"""


def test_a_killed_writer_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    target = tmp_path / "model.npz"
    save(target)
    before = target.read_bytes()
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(target)],
                          env=environment(), capture_output=True, timeout=120)
    assert done.returncode == 9
    left = [p.name for p in tmp_path.iterdir() if p.name != "model.npz"]
    assert len(left) == 1 and left[0].startswith(".model.npz.") and left[0].endswith(".tmp")
    assert target.read_bytes() == before                  # the kill lost nothing
    save(target)
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


# --- long names -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["m" * 251 + ".npz", "é" * 125 + ".npz", "m" * 250 + ".npz",
                                  "x.npz"],
                         ids=["255-bytes", "254-bytes-utf8", "254-bytes", "short"])
def test_temporary_names_fit_whatever_the_name(tmp_path, name):
    target = tmp_path / name
    assert len(temporary_prefix(target)) + 8 + len(".tmp") <= 255
    save(target)
    save(target)                                            # replaces, cleaning first
    assert read_npz(target)["x"].tolist() == [0, 1, 2]
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_a_255_byte_checkpoint_name_trains_and_resumes_through_the_command(tmp_path):
    name = "r" * 251 + ".npz"
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps({"title": d.title, "text": d.text}) + "\n"
                            for d in toy_corpus(n=12)))
    args = ["--hidden", "4", "--batch-size", "2", "--threads", "1", "--no-progress",
            "--plot", "p.png"]
    first = run_in(tmp_path, ["train", "data.jsonl", "--out", name, "--max-steps", "1", *args])
    assert first.returncode == 0, first.stderr
    second = run_in(tmp_path, ["train", "data.jsonl", "--out", name, "--resume", name,
                               "--max-steps", "2", "--no-progress"])
    assert second.returncode == 0, second.stderr
    assert load_checkpoint(tmp_path / name).state.step == 2
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_the_write_check_at_start_up_leaves_nothing_behind(tmp_path):
    from normrnn.files.atomic import check_writable
    check_writable(tmp_path / "a" / "b" / "m.npz")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OSError, match="longer than"):
        check_writable(tmp_path / ("z" * 256))
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError, match="not a folder"):
        check_writable(tmp_path / "file" / "m.npz")
    if os.geteuid() != 0:                  # root may write anywhere: chmod cannot block it
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(OSError, match="cannot create a file there"):
            check_writable(locked / "m.npz")
