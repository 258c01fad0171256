"""Registration, the scene table and config errors: no data files needed."""

from __future__ import annotations

import re

import had
import had.plugins
import had_hsi
import pytest
from had.errors import ConfigError, HadError
from had_sdk.testing import DataPluginSuite

SCENE_NAMES = {
    "sandiego_plane", "hydice", "hydice-ii", "abu-airport-1", "abu-airport-3", "abu-beach-1", "abu-beach-3",
    "abu-beach-4", "abu-urban-1", "abu-urban-2", "abu-urban-4", "muufl-crop",
}


def test_every_scene_and_hsi_file_is_registered():
    names = set(had.plugins.names("datasource"))
    assert SCENE_NAMES | {"hsi-file"} <= names
    assert "hsi" not in had.plugins.load_errors()
    for name in SCENE_NAMES:
        entry = had.plugins.entry("datasource", name)
        assert entry.plugin == "hsi"
        assert entry.defaults == {"scene": name}
        assert entry.describe()


def test_scene_table_lists_the_known_scenes():
    assert set(had_hsi.SCENES) == SCENE_NAMES
    for name, scene in had_hsi.SCENES.items():
        assert scene.name == name
        assert scene.file.relpath.startswith("hsi/") and scene.file.relpath.endswith(".mat")
        assert re.fullmatch(r"[0-9a-f]{64}", scene.file.sha256)
        assert scene.file.url.startswith("https://raw.githubusercontent.com/")
        assert " " not in scene.file.url
        assert scene.file.citation
        assert len(scene.shape) == 3 and scene.n_anomalies > 0
    assert (had_hsi.SCENES["muufl-crop"].data_key, had_hsi.SCENES["muufl-crop"].map_key) == ("hsi_sub", "gtImg_sub")
    assert set(had_hsi.LREN_MAPS) == {"sandiego_plane", "hydice", "abu-beach-4"}
    for known in had_hsi.LREN_MAPS.values():
        assert known.relpath.startswith("hsi/lren-results/") and known.relpath.endswith(".lren-map.mat")
        assert "/xdjiangkai/LREN/" in known.url and "detection_results" in known.url and " " not in known.url
    assert len(had_hsi.known_files()) == len(SCENE_NAMES) + 3


class TestHSIDataPlugin(DataPluginSuite):
    """The SDK's data kit: listing imports no loader, an unknown scene is a ConfigError naming the known ones,
    each file is well formed, agrees with HAD_DATA_DIR's SHA256SUMS, and is refused when missing or altered."""

    plugin = "hsi"
    files = {name: scene.file for name, scene in had_hsi.SCENES.items()}
    other_files = list(had_hsi.LREN_MAPS.values())
    loader_modules = ("had_hsi.lren",)


def test_unknown_scene_names_the_known_ones_from_the_class_too():
    from had_hsi import HSIScene

    with pytest.raises(ConfigError, match="hydice"):
        HSIScene(scene="atlantis")


def test_unknown_lren_map_is_a_typed_error():
    with pytest.raises(had_hsi.UnknownSceneError, match="sandiego_plane") as info:
        had_hsi.lren_published_map("abu-urban-4")
    assert isinstance(info.value, HadError) and isinstance(info.value, KeyError)
