"""The memory a process may still take counts its container's and its shell's limits, not only the machine's
``MemAvailable`` (a flight-line probe of 7 December 2026: bs3lnet under ``prlimit --as=5e9`` was not refused before
its fit, which the README promises, and ended in numpy's "Unable to allocate")."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest

from had import mat_reader

GiB = 2**30


def _write(root, name, text):
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_cgroup_v2_limit_counts_its_page_cache_as_free(tmp_path):
    _write(tmp_path, "memory.max", f"{4 * GiB}\n")
    _write(tmp_path, "memory.current", f"{3 * GiB}\n")
    _write(tmp_path, "memory.stat", f"anon {2 * GiB}\nfile {GiB}\nkernel 0\n")
    assert mat_reader.cgroup_headroom(str(tmp_path)) == 2 * GiB
    _write(tmp_path, "memory.stat", f"anon {GiB}\nfile {2 * GiB}\nshmem {GiB}\n")  # tmpfs: not dropped
    assert mat_reader.cgroup_headroom(str(tmp_path)) == 2 * GiB
    _write(tmp_path, "memory.max", "max\n")
    assert mat_reader.cgroup_headroom(str(tmp_path)) is None


def test_a_cgroup_v1_limit_and_none(tmp_path):
    _write(tmp_path, "memory/memory.limit_in_bytes", f"{2 * GiB}\n")
    _write(tmp_path, "memory/memory.usage_in_bytes", f"{int(1.5 * GiB)}\n")
    _write(tmp_path, "memory/memory.stat", f"cache 5\ntotal_inactive_file {GiB // 4}\ntotal_active_file {GiB // 4}\n")
    assert mat_reader.cgroup_headroom(str(tmp_path)) == GiB
    _write(tmp_path, "memory/memory.limit_in_bytes", "9223372036854771712\n")  # v1's "no limit"
    assert mat_reader.cgroup_headroom(str(tmp_path)) is None
    assert mat_reader.cgroup_headroom(str(tmp_path / "nowhere")) is None


def test_the_processs_own_group_and_those_above_it_are_read(tmp_path):
    """Was: the group at the mount alone, so a limit on the process's own group below it (a systemd service's
    MemoryMax, a scheduler's job group) was never found and a fit was killed instead of refused."""
    own = tmp_path / "cgroup"
    own.write_text("0::/system.slice/had.service\n")
    service = "system.slice/had.service"
    _write(tmp_path, f"{service}/memory.max", f"{4 * GiB}\n")
    _write(tmp_path, f"{service}/memory.current", f"{3 * GiB}\n")
    _write(tmp_path, f"{service}/memory.stat", "file 0\n")
    assert mat_reader.cgroup_headroom(str(tmp_path), str(own)) == GiB
    _write(tmp_path, "system.slice/memory.max", f"{5 * GiB}\n")  # the slice above: less left there
    _write(tmp_path, "system.slice/memory.current", f"{int(4.5 * GiB)}\n")
    assert mat_reader.cgroup_headroom(str(tmp_path), str(own)) == GiB // 2
    own.write_text("0::/elsewhere\n")  # a path not under the mount (a container's own root): the mount alone
    assert mat_reader.cgroup_headroom(str(tmp_path), str(own)) is None
    # cgroup v1 (and a hybrid mount): the memory controller's line
    own.write_text("4:memory:/process_api/job42\n0::/\n")
    _write(tmp_path, "memory/memory.limit_in_bytes", "9223372036854771712\n")  # no limit at the mount
    _write(tmp_path, "memory/process_api/job42/memory.limit_in_bytes", f"{2 * GiB}\n")
    _write(tmp_path, "memory/process_api/job42/memory.usage_in_bytes", f"{GiB}\n")
    _write(tmp_path, "memory/process_api/job42/memory.stat", f"total_inactive_file {GiB // 2}\n")
    assert mat_reader.cgroup_headroom(str(tmp_path), str(own)) == int(1.5 * GiB)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc/self/status are Linux's")
def test_an_address_space_limit_refuses_a_fit_before_the_work():
    """Under ``ulimit -v`` (the process's size plus 512 MiB), the memory available is at most that headroom and a
    fit needing 2 GiB is refused with its fix, before any of it is allocated."""
    code = textwrap.dedent("""
        import resource
        from had import memory, mat_reader
        size = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (size + 512 * 2**20, resource.RLIM_INFINITY))
        assert mat_reader.available_memory() <= 512 * 2**20, mat_reader.available_memory()
        try:
            memory.check_fits("a fit", 2 * 2**30, "fit it on a window (--data rows=...,cols=...)")
        except MemoryError as exc:
            print(exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    said = re.match(r"a fit needs 2\.0 GiB and (\d+\.\d) MiB are available; fit it on a window \(--data rows",
                    out.stdout)  # under the 512 MiB limit: in MiB
    assert said and float(said.group(1)) <= 512, out.stdout
