"""`had.memory.tune_malloc`: glibc's malloc keeps the memory of one pass for the next instead of handing it back to
the kernel and page-faulting it in again (LREN scoring a 1 GiB line: docs/scale.md), and a user's own malloc
settings are left alone. Each case runs in a fresh process,
since the settings are the process's."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                                reason="glibc's malloc on Linux")

#: two 20 MB arrays and an 8 MB one made and freed twenty times, as a pass over a tile makes its intermediates:
#: prints whether the settings were made and the page faults of the twenty passes
PASSES = """
import ctypes, resource, sys
# no transparent huge pages in this process: a 20 MB block faulted in as ten 2 MiB pages instead of 4,883 pages
# counted 1,467 faults for glibc as it comes in one run of the suite (29,320 in others), as the kernel had them
ctypes.CDLL(None).prctl(41, 1, 0, 0, 0)  # PR_SET_THP_DISABLE
import numpy as np
from had.memory import tune_malloc
tuned = tune_malloc() if sys.argv[1] == "tuned" else False
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    a = np.ones(2_500_000); b = np.ones(2_500_000); del a, b
start = faults()
for _ in range(20):
    a = np.ones(2_500_000); b = np.ones(2_500_000); c = np.ones(1_000_000); del a, b, c
print(tuned, faults() - start)
"""


def _run(mode: str, **env: str) -> tuple[str, int]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    done = subprocess.run([sys.executable, "-c", PASSES, mode], capture_output=True, text=True, check=True,
                          env={**clean, **env})
    tuned, faults = done.stdout.split()
    return tuned, int(faults)


def test_tuned_malloc_reuses_a_pass_memory_instead_of_faulting_it_in_again():
    plain_set, plain = _run("plain")
    tuned_set, tuned = _run("tuned")
    assert (plain_set, tuned_set) == ("False", "True")
    # glibc as it comes hands memory back and faults it in again pass after pass (29,320 pages measured); tuned,
    # the first pass's heap serves them all (420)
    assert plain > 10_000 and tuned * 10 < plain, (plain, tuned)


def test_a_users_malloc_settings_are_left_alone():
    tuned_set, _ = _run("tuned", MALLOC_TRIM_THRESHOLD_="131072")
    assert tuned_set == "False"
    code = "from had.memory import tune_malloc; print(tune_malloc(), tune_malloc())"
    once = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert once.stdout.split() == ["True", "True"]  # set once, then the same answer
