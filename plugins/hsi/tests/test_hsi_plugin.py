"""Registration, the scene table and config errors: no data files needed."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import had
import had.plugins
import had_hsi
import pytest
from had.errors import ConfigError, HadError

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


@pytest.mark.realdata
def test_known_sha256_match_the_data_dir_sums(real_file):
    sums = real_file("SHA256SUMS").read_text().split("\n")
    expected = {line.split()[1].removeprefix("./"): line.split()[0] for line in sums if line.strip()}
    for known in had_hsi.known_files():
        assert expected[known.relpath] == known.sha256, known.relpath


def test_listing_the_plugin_does_not_import_the_loaders():
    code = (
        "import sys, had, had.plugins\n"
        "names = had.plugins.names('datasource')\n"
        "assert 'hydice' in names, names\n"
        "assert not [m for m in ('had_hsi.sources', 'had_hsi.lren') if m in sys.modules]\n"
    )
    env = {**os.environ, "HAD_PLUGINS": "hsi"}  # only this plugin: the check stays fast and isolated
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_unknown_scene_is_a_config_error_naming_the_known_ones():
    from had_hsi import HSIScene

    with pytest.raises(ConfigError, match="hydice"):
        HSIScene(scene="atlantis")
    with pytest.raises(ConfigError):
        had.get_datasource("hydice", scene="atlantis")
    with pytest.raises(ConfigError):
        had.get_datasource("hydice", colour="blue")  # unknown field


def test_unknown_lren_map_is_a_typed_error():
    with pytest.raises(had_hsi.UnknownSceneError, match="sandiego_plane") as info:
        had_hsi.lren_published_map("abu-urban-4")
    assert isinstance(info.value, HadError) and isinstance(info.value, KeyError)
