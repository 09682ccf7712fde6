"""A cgroup memory limit caps what is available, whether the cgroup is v2 or v1.

Each test builds a fake cgroup mount point in a temporary folder and points
:data:`normrnn.memory.CGROUP_ROOT` at it.
"""

import pytest

from normrnn import memory

GB = 10**9
V1_UNLIMITED = 9223372036854771712        # what cgroup v1 writes for "no limit" (4 kB pages)


@pytest.fixture
def cgroup(tmp_path, monkeypatch):
    """A fake cgroup root, with plenty of memory on the machine (100 GB)."""
    monkeypatch.setattr(memory, "CGROUP_ROOT", str(tmp_path))
    monkeypatch.setattr(memory, "_meminfo_available", lambda: 100 * GB)
    return tmp_path


def write_v1(root, limit, usage):
    (root / "memory").mkdir()
    (root / "memory" / "memory.limit_in_bytes").write_text(f"{limit}\n")
    (root / "memory" / "memory.usage_in_bytes").write_text(f"{usage}\n")


def write_v2(root, limit, current):
    (root / "memory.max").write_text(f"{limit}\n")
    (root / "memory.current").write_text(f"{current}\n")


def test_a_cgroup_v1_limit_caps_the_available_memory(cgroup):
    write_v1(cgroup, 4 * GB, 1 * GB)
    assert memory.available_memory() == 3 * GB


def test_a_cgroup_v1_limit_refuses_what_does_not_fit(cgroup):
    write_v1(cgroup, 4 * GB, 1 * GB)
    with pytest.raises(MemoryError, match="needs 5 GB of memory, but 3 GB is available"):
        memory.require_memory(5 * GB, "a test", "less")


def test_cgroup_v1_unlimited_is_no_limit(cgroup):
    write_v1(cgroup, V1_UNLIMITED, 1 * GB)
    assert memory.available_memory() == 100 * GB


def test_a_cgroup_v1_usage_above_its_limit_leaves_no_room(cgroup):
    write_v1(cgroup, 2 * GB, 3 * GB)
    assert memory.available_memory() == 0


def test_a_cgroup_v2_limit_caps_the_available_memory(cgroup):
    write_v2(cgroup, 4 * GB, 1 * GB)
    assert memory.available_memory() == 3 * GB


def test_cgroup_v2_max_is_no_limit_and_v1_is_not_read_then(cgroup):
    write_v2(cgroup, "max", 1 * GB)
    write_v1(cgroup, 2 * GB, 1 * GB)       # a hybrid mount: v2 answers first
    assert memory.available_memory() == 100 * GB


def test_no_cgroup_files_leave_the_machine_figure(cgroup):
    assert memory.available_memory() == 100 * GB


def test_an_unreadable_v1_limit_is_no_limit(cgroup):
    write_v1(cgroup, "garbage", 1 * GB)
    assert memory.available_memory() == 100 * GB
