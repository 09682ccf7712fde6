"""One run per output: a second run on the same ``--out`` is refused in one line naming the first.

Two real ``normrnn train`` processes on one checkpoint path, the path spelt
several ways; and the lock itself: held, released however its process ends,
never taken over a file that is not normrnn's.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _cli import cli_env
from _cli_run import TINY, run_in, snapshot, write_jsonl

from normrnn.files.output_lock import OutputBusy, lock_output, lock_path


def test_a_second_holder_is_refused_naming_the_first(tmp_path):
    out = tmp_path / "m.npz"
    with lock_output(out, "--out m.npz"):
        assert lock_path(out).read_text() == f"normrnn output lock\npid {os.getpid()}\n"
        for spelling in (out, tmp_path / "." / "m.npz", tmp_path / "sub" / ".." / "m.npz"):
            (tmp_path / "sub").mkdir(exist_ok=True)
            with pytest.raises(OutputBusy, match=f"process {os.getpid()}") as info:
                with lock_output(spelling, "--out m.npz"):
                    pass
            assert info.value.pid == os.getpid()
            assert "\n" not in str(info.value) and str(info.value).startswith("--out m.npz ")
    assert not lock_path(out).exists()                  # released and removed
    with lock_output(out):                             # and free again
        pass


def test_a_symbolic_link_to_the_output_takes_the_same_lock(tmp_path):
    (tmp_path / "m.npz").write_bytes(b"")
    os.symlink("m.npz", tmp_path / "alias.npz")
    with lock_output(tmp_path / "m.npz"):
        with pytest.raises(OutputBusy):
            with lock_output(tmp_path / "alias.npz"):
                pass


def test_a_lock_left_by_a_killed_run_does_not_block(tmp_path):
    out = tmp_path / "m.npz"
    code = ("import sys, os; from normrnn.files.output_lock import lock_output\n"
            "with lock_output(sys.argv[1]):\n    print('held', flush=True); os._exit(9)")
    done = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True,
                          text=True, env=cli_env())
    assert done.returncode == 9 and done.stdout == "held\n"
    assert lock_path(out).exists()                      # left behind, but nobody holds it
    with lock_output(out):
        pass
    assert not lock_path(out).exists()


def test_a_users_file_bearing_the_locks_name_is_kept(tmp_path):
    out = tmp_path / "m.npz"
    lock_path(out).write_bytes(b"my own notes")
    with pytest.raises(OutputBusy, match="did not write"):
        with lock_output(out):
            pass
    assert lock_path(out).read_bytes() == b"my own notes"


def test_two_train_commands_on_one_out(tmp_path):
    """The second is refused in one line naming the first's pid; the first's run is intact."""
    write_jsonl(tmp_path / "data.jsonl", n=40)
    out = tmp_path / "m.npz"
    first = subprocess.Popen(
        [sys.executable, "-m", "normrnn", "train", "data.jsonl", "--out", "m.npz",
         "--epochs", "1000", "--eval-every", "2", "--hidden", "8", "--batch-size", "4",
         "--threads", "1", "--no-progress"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env())
    try:
        deadline = time.monotonic() + 120
        while not out.exists():
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        for spelling in ("m.npz", str(out), "./m.npz"):
            second = run_in(tmp_path, ["train", "data.jsonl", "--out", spelling, *TINY])
            assert second.returncode == 2
            shown = Path(spelling)                 # as the command shows it
            assert second.stderr == (f"normrnn: error: --out {shown} is being written by "
                                     f"another normrnn run (process {first.pid}); wait for it "
                                     "to end, or give another file name\n")
            def lasting(files):                # the first run's temporaries come and go
                return {name for name in files if not name.endswith(".tmp")}
            assert lasting(second.after) == lasting(second.before)    # nothing new, none gone
        first.send_signal(signal.SIGINT)
        stdout, stderr = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, stderr
    assert "checkpoint: m.npz" in stdout
    assert not lock_path(out).exists()
    again = run_in(tmp_path, ["train", "data.jsonl", "--out", "m.npz", "--resume", "m.npz",
                              "--minutes", "0.001", "--no-progress"])
    assert again.returncode == 0, again.stderr             # free once the first has ended
    assert snapshot(tmp_path).keys() == {"data.jsonl", "m.npz", "m.png"}
