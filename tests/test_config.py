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


def test_set_params_marks_only_the_fields_it_sets_as_given():
    """``build_config`` validated a dump of every field, so one ``set_params`` (had fit's ``nodata`` from a file's
    header) made every field count as the user's: lren's float64 fallback after a float32 collapse is taken only
    for a ``gmm_float64`` nobody set, and it was skipped after any set_params."""
    import had

    det = had.get_detector("rx", contamination=0.2)
    det.set_params(seed=3)
    assert det.config.model_fields_set == {"contamination", "seed"}
    from had.config import build_config

    again = build_config(type(det.config), "rx", det.config, contamination=0.3)
    assert again.model_fields_set == det.config.model_fields_set and again.contamination == 0.3
