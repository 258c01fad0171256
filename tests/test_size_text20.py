"""The memory checks say their sizes in the largest binary unit they reach: in GiB alone (``{x / 2**30:,.1f}``), a
need of 30 MiB against 10 MiB available read "needs 0.0 GiB and 0.0 GiB are available", which told the user
nothing (and looked as if nothing were needed)."""

from __future__ import annotations

import pytest

from had import memory

MiB, GiB = 2**20, 2**30


@pytest.mark.parametrize("nbytes,text", [(0, "0 bytes"), (1023, "1023 bytes"), (1024, "1.0 KiB"),
                                         (1536, "1.5 KiB"), (30 * MiB, "30.0 MiB"), (512 * MiB, "512.0 MiB"),
                                         (GiB, "1.0 GiB"), (3 * GiB // 2, "1.5 GiB"),
                                         (int(14_901.2 * GiB), "14,901.2 GiB")])
def test_size_text(nbytes, text):
    assert memory.size_text(nbytes) == text


def test_check_fits_says_mib_where_gib_read_zero(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 10 * MiB)
    with pytest.raises(MemoryError) as info:
        memory.check_fits("a 3x4 scene", 30 * MiB, "fit a window of it")
    assert str(info.value) == "a 3x4 scene needs 30.0 MiB and 10.0 MiB are available; fit a window of it"
    memory.check_fits("a 3x4 scene", 10 * MiB, "fit a window of it")  # exactly what is available: fits


def test_check_fits_in_kib_and_gib(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 3 * 1024)
    with pytest.raises(MemoryError, match=r"^x needs 12\.5 KiB and 3\.0 KiB are available; less$"):
        memory.check_fits("x", 12_800, "less")
    monkeypatch.setattr(memory, "available_memory", lambda: 2 * GiB)
    with pytest.raises(MemoryError, match=r"^x needs 3\.2 GiB and 2\.0 GiB are available; less$"):
        memory.check_fits("x", int(3.25 * GiB), "less")


def test_check_training_fits_says_mib(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 10 * MiB)
    with pytest.raises(MemoryError) as info:
        memory.check_training_fits("tiny", 2_000_000)  # 4 copies of 4 bytes: 32,000,000 bytes = 30.5 MiB
    assert str(info.value) == ("tiny: the network has 2,000,000 parameters, 30.5 MiB to train (4 copies: weights, "
                               "gradients, optimiser moments), more than the 10.0 MiB available; lower its sizes "
                               "(--set)")
    memory.check_training_fits("tiny", 10 * MiB // 16)  # exactly the 10 MiB: fits


def test_a_size_just_below_a_unit_is_said_in_that_unit():
    from had.atomic import size_text

    assert size_text(2**20 - 1) == "1.0 MiB" and size_text(2**30 - 1) == "1.0 GiB"
    assert size_text(2**20 - 2**16) == "960.0 KiB"
    assert size_text(1) == "1 byte" and size_text(2) == "2 bytes"
