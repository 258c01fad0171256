"""Config errors say how to fix what the user gave (or left out)."""

from __future__ import annotations

import pytest

from had.errors import ConfigError


def test_a_required_field_left_out_says_how_to_give_it_not_to_report_a_default():
    """`had fit rx hsi-file` blamed "the plugin's own default ... report it to its authors" for a path never given."""
    from had.config import HadConfig, build_config

    class FileConfig(HadConfig):
        path: str
        rows: int

    with pytest.raises(ConfigError, match=r"path: Field required: give the file \(--data path=FILE") as info:
        build_config(FileConfig, "data source x-file", {"rows": 3})
    assert "report it to its authors" not in str(info.value)
    with pytest.raises(ConfigError, match=r"rows: Field required: give it \(--set/--data rows=\.\.\."):
        build_config(FileConfig, "data source x-file", {"path": "a"})
