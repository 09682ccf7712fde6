"""Run the grading child (:mod:`normrnn.exercises.child`) under limits, and read it.

Each exercise gets a child process of its own, and its own limits:

* **time**: the child and everything it started are ended after ``seconds``,
  whatever they do (an ignored ``SIGALRM``, an endless loop in C, a
  non-daemon thread, a ``sleep 150`` left running);
* **processes**: the child runs in a session of its own
  (``start_new_session``); the grading process watches every process of that
  session, of its process group, descended from it, or carrying the child's
  environment marker, and ends them all when the child is done, when there
  are more than :data:`MAX_PROCESSES` of them (a fork bomb), or when they hold
  more than the memory limit.  ``RLIMIT_NPROC`` is set too, but it does not
  bind root, and this count does;
* **memory**: a hard ``RLIMIT_AS`` (soft = hard) in the child, which a
  process run by root can raise again, so the resident memory of all the
  child's processes is watched as well;
* **output**: what the learner prints is kept up to :data:`OUTPUT_KEPT` bytes
  (its head and its tail); the rest is read and dropped;
* the grading process never waits on a pipe: it polls, and stops reading as
  soon as the child has ended, whatever descendants still hold the pipes.

A process that detaches itself (``setsid``), leaves its parent to die, and
executes a program with a clean environment escapes this watch (a cgroup
would hold it; none is assumed).  Its time is still not the grade's: the
grading process never waits for it.

The child is started as ``python -I -B child.py`` (``-B``: no
``__pycache__`` written into the learner's folder) with the folder of the
:mod:`normrnn` that runs this module on its path, so the learner's working
folder or ``PYTHONPATH`` never decides which grader runs; if the child cannot
start, that is the grader's failure (:class:`GraderBroken`), never the
learner's.
"""

import json
import os
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["GraderBroken", "Run", "run_child", "MAX_PROCESSES", "OUTPUT_KEPT"]

#: Processes the learner's code may have at once, its own included.
MAX_PROCESSES = 32
#: Bytes of the learner's printed output kept: the head and the tail, half each.
OUTPUT_KEPT = 32_000
#: Bytes the channel may carry for one exercise.
CHANNEL_BYTES = 64 << 20
#: Seconds between two looks at the child's processes.
POLL = 0.05

_CHILD = Path(__file__).resolve().parent / "child.py"
_PACKAGE = str(Path(__file__).resolve().parent.parent.parent)


class GraderBroken(RuntimeError):
    """The grading child could not start: the grader's fault, not the learner's."""


@dataclass
class Run:
    """What one grading child sent and how it ended.

    Attributes
    ----------
    lines : list
        The channel's lines, parsed (a line that is not JSON is kept as the
        :class:`str` it was).
    output : str
        The learner's printed output (head and tail when long).
    ended : str
        ``""`` when the child finished by itself with status 0; otherwise why
        it ended (``"exit status 1"``, ``"killed by signal 9"``, ``"stopped
        after 60 s"``, ``"more than 32 processes"``, ...).
    """

    lines: list = field(default_factory=list)
    output: str = ""
    ended: str = ""


class _Kept:
    """Bytes up to a cap: the first half, and a rolling last half."""

    def __init__(self, cap):
        self.cap, self.head, self.tail, self.dropped = cap, bytearray(), bytearray(), 0

    def add(self, data):
        room = self.cap // 2 - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        self.tail += data
        if len(self.tail) > self.cap // 2:
            cut = len(self.tail) - self.cap // 2
            self.dropped += cut
            del self.tail[:cut]

    def text(self):
        middle = f"\n[... {self.dropped} bytes of output left out ...]\n" if self.dropped else ""
        return (bytes(self.head).decode(errors="replace") + middle
                + bytes(self.tail).decode(errors="replace"))


def _stat(pid):
    """(ppid, pgrp, session) of ``pid``, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return int(fields[1]), int(fields[2]), int(fields[3])
    except (OSError, IndexError, ValueError):
        return None


def _marked(pid, marker):
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return marker in handle.read()
    except OSError:
        return False


def _processes(root, marker=None):
    """The pids of ``root``'s session and group, their descendants, and (if given)
    every process whose environment holds ``marker``."""
    if not os.path.isdir("/proc"):
        return [root]
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _stat(int(entry))
            if found is not None:
                stats[int(entry)] = found
    chosen = {pid for pid, (_, group, session) in stats.items()
              if pid == root or group == root or session == root}
    grew = True
    while grew:
        more = {pid for pid, (parent, _, _) in stats.items() if parent in chosen} - chosen
        chosen |= more
        grew = bool(more)
    if marker is not None:
        chosen |= {pid for pid in stats if pid not in chosen and pid != os.getpid()
                   and _marked(pid, marker)}
    chosen.discard(os.getpid())
    return sorted(chosen)


def _resident(pids):
    size = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as handle:
                size += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            pass
    return size


def _end_all(root, marker):
    """SIGKILL ``root``'s process group and every process :func:`_processes` finds, until none is left."""
    for _ in range(50):
        try:
            os.killpg(root, signal.SIGKILL)
        except OSError:
            pass
        pids = [p for p in _processes(root, marker) if p != root or _stat(p) is not None]
        alive = [p for p in pids if _stat(p) is not None and not _zombie(p)]
        if not alive:
            return
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)


def _zombie(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return True


def _ended(status):
    return "" if status == 0 else (f"killed by signal {-status}" if status < 0
                                   else f"exit status {status}")


def run_child(request, *, folder, seconds, memory, script=None):
    """Run one grading child on ``request`` and collect what it sends.

    Parameters
    ----------
    request : dict
        The request (see :mod:`normrnn.exercises.child`); ``channel`` and
        ``package`` are filled in here.
    folder : Path
        The learner's folder, the child's working folder.
    seconds : float
        Wall-clock seconds for the whole child, imports included.
    memory : int
        Bytes the child may add to what it holds after its imports.
    script : Path, optional
        The child to run (default: :mod:`normrnn.exercises.child`; the Cython
        track runs its own).

    Returns
    -------
    Run

    Raises
    ------
    GraderBroken
        The child ended before it was ready to run learner code.
    """
    channel_read, channel_write = os.pipe()
    output_read, output_write = os.pipe()
    marker = "NORMRNN_GRADING=" + secrets.token_hex(8)
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL",
                                                        "TMPDIR", "OMP_NUM_THREADS")}
    env.update({"MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1",
                marker.split("=")[0]: marker.split("=")[1]})
    request = {**request, "channel": channel_write, "package": _PACKAGE, "memory": memory}
    with tempfile.TemporaryFile() as stdin:
        stdin.write(json.dumps(request).encode())
        stdin.seek(0)
        try:
            process = subprocess.Popen([sys.executable, "-I", "-B", str(script or _CHILD)], stdin=stdin,
                                       stdout=output_write, stderr=output_write,
                                       pass_fds=(channel_write,), cwd=folder, env=env,
                                       start_new_session=True)
        finally:
            os.close(channel_write)
            os.close(output_write)
    try:
        return _watch(process, channel_read, output_read, marker.encode(), seconds, memory)
    finally:
        if process.returncode is None:              # _watch did not finish: end it all here
            _end_all(process.pid, marker.encode())
            process.wait()
        os.close(channel_read)
        os.close(output_read)


def _watch(process, channel_read, output_read, marker, seconds, memory):
    kept, channel, run = _Kept(OUTPUT_KEPT), bytearray(), Run()
    deadline = time.monotonic() + seconds
    open_fds = [channel_read, output_read]
    poll = select.poll()                              # not select(): any fd number will do
    for fd in open_fds:
        poll.register(fd, select.POLLIN)
    looked = 0.0
    while True:
        ready = [fd for fd, _ in poll.poll(POLL * 1000)]
        for fd in ready:
            data = os.read(fd, 1 << 20)
            if not data:
                open_fds.remove(fd)
                poll.unregister(fd)
            elif fd == output_read:
                kept.add(data)
            else:
                channel += data
        if len(channel) > CHANNEL_BYTES:
            run.ended = f"sent more than {CHANNEL_BYTES >> 20} MB to the grader"
            break
        if b'{"done": true}\n' in channel or process.poll() is not None:
            _drain(open_fds, kept, channel, output_read)
            break
        if time.monotonic() > deadline:
            run.ended = f"stopped after {seconds:g} s"
            break
        if time.monotonic() - looked < POLL:
            continue
        looked = time.monotonic()
        pids = _processes(process.pid)
        if len(pids) > MAX_PROCESSES:
            run.ended = f"started more than {MAX_PROCESSES} processes"
            break
        if _resident(pids) > memory:
            run.ended = f"held more than {memory / 2**30:.3g} GiB of memory"
            break
    _end_all(process.pid, marker)
    status = process.wait()
    if not run.ended and b'{"done": true}\n' not in channel:
        run.ended = _ended(status) or "exit status 0"
    run.output = kept.text()
    run.lines = [_parse(line) for line in bytes(channel).split(b"\n") if line.strip()]
    if not any(line == {"ready": True} for line in run.lines):
        if not run.ended.startswith(("stopped", "started", "held")):
            last = (run.output.strip().splitlines() or [""])[-1]
            raise GraderBroken(f"the grading process could not start ({run.ended}): {last}")
    return run


def _drain(open_fds, kept, channel, output_read):
    """Read what is already in the pipes, never waiting for more."""
    for fd in list(open_fds):
        poll = select.poll()
        poll.register(fd, select.POLLIN)
        while poll.poll(0):
            data = os.read(fd, 1 << 20)
            if not data:
                break
            if fd == output_read:
                kept.add(data)
            else:
                channel += data
            if len(channel) > CHANNEL_BYTES:
                return


def _parse(line):
    try:
        return json.loads(line)
    except (ValueError, RecursionError):              # not JSON, or nested to no end
        return line.decode(errors="replace")
