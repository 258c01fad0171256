"""A model fitted on a stack whose bands are named (GeoTIFF band descriptions: a geochemical stack's elements)
records the names beside the numbers, and ``had score`` picks the bands by those names in the scored file.

was: the record held only the band numbers (``"bands": "1,3"``), so a stack of the same elements in another order
(Pb, Cu, Au, Zn) was scored on Pb and Au for a model of Cu and Zn, exit 0, saying "read as the model's scene was at
fit: bands=1,3"; a stack fitted whole was never compared by name at all.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import had
from had_sdk.testing import run_cli
from had import cubeview
from had.errors import BandMismatchError, ConfigError

rasterio = pytest.importorskip("rasterio")
pytest.importorskip("had_raster")

ELEMENTS = ["Cu", "Pb", "Zn", "Au"]


def _layers() -> dict[str, np.ndarray]:
    """Four element grids (24x20, lognormal, a planted 3x3 bump) with a few no-data rows, by element."""
    rng = np.random.default_rng(0)
    grids = np.exp(rng.normal(3.0, 0.3, (len(ELEMENTS), 24, 20))).astype(np.float32)
    grids[:, 10:13, 5:8] *= 6
    grids[:, :2, :] = -9999.0
    return dict(zip(ELEMENTS, grids))


def _write(path, layers: dict[str, np.ndarray], names: list[str | None], described: bool = True) -> str:
    """A GeoTIFF of the layers `names` lists (None, or a name not in `layers`: an extra layer), their names as
    band descriptions (none unless `described`)."""
    from rasterio.transform import from_origin

    extra = np.full_like(next(iter(layers.values())), 7.0)
    stack = np.stack([layers[n] if n in layers else extra for n in names])
    names = names if described else [None] * len(names)
    with rasterio.open(path, "w", driver="GTiff", height=stack.shape[1], width=stack.shape[2], count=len(names),
                       dtype="float32", crs="EPSG:32633", transform=from_origin(500000, 4000000, 10, 10),
                       nodata=-9999.0) as out:
        out.write(stack)
        for i, name in enumerate(names, 1):
            if name:
                out.set_band_description(i, name)
    return str(path)




def _scores(path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)


@pytest.fixture
def stacks(tmp_path):
    layers = _layers()
    return {"stack": _write(tmp_path / "stack.tif", layers, ELEMENTS),
            "reorder": _write(tmp_path / "stack_reorder.tif", layers, ["Pb", "Cu", "Au", "Zn"]),
            "more": _write(tmp_path / "stack_more.tif", layers, ["Au", None, "Zn", "Pb", "Cu"]),
            "lacking": _write(tmp_path / "stack_nozn.tif", layers, ["Pb", "Cu", "Au", "Ag"]),
            "unnamed": _write(tmp_path / "stack_unnamed.tif", layers, ELEMENTS, described=False)}


def _fit_and_score(capsys, tmp_path, stacks, *data: str) -> tuple[str, dict[str, np.ndarray], dict[str, str]]:
    """The model fitted on `stack` with `data` settings, and the maps of the stacks that score (their stdout)."""
    model = tmp_path / "m"
    code, _, err = run_cli(capsys, "fit", "rx", stacks["stack"], *data, "-o", model)
    assert code == 0, err
    maps, said = {}, {}
    for key in ("stack", "reorder", "more"):
        code, out, err = run_cli(capsys, "score", model, stacks[key], "-o", tmp_path / f"map_{key}.tif")
        assert code == 0, err
        maps[key], said[key] = _scores(tmp_path / f"map_{key}.tif"), out
    return str(model), maps, said


def test_a_model_of_chosen_elements_scores_them_by_name_in_a_stack_of_another_order(capsys, tmp_path, stacks):
    model, maps, said = _fit_and_score(capsys, tmp_path, stacks, "--data", "bands=Cu,Zn")
    spec = json.loads((tmp_path / "m" / "manifest.json").read_text())["input_spec"]
    assert spec["data_view"] == {"bands": "1,3", "of": 4, "band_names": ["Cu", "Zn"]}
    np.testing.assert_array_equal(maps["reorder"], maps["stack"])  # Cu and Zn, not Pb and Au
    np.testing.assert_array_equal(maps["more"], maps["stack"])  # among five bands, one unnamed
    assert "stack_reorder: read as the model's scene was at fit: bands=names:Cu,Zn" in said["reorder"]
    assert "using 2 bands (Cu, Zn: bands 2, 4 of the file)" in said["reorder"]


def test_a_named_stack_fitted_whole_is_scored_by_name(capsys, tmp_path, stacks):
    model, maps, said = _fit_and_score(capsys, tmp_path, stacks)
    spec = json.loads((tmp_path / "m" / "manifest.json").read_text())["input_spec"]
    assert spec["data_view"] == {"band_names": ELEMENTS}
    np.testing.assert_array_equal(maps["reorder"], maps["stack"])
    np.testing.assert_array_equal(maps["more"], maps["stack"])
    assert "using" not in said["stack"]  # the same stack is read as it is


@pytest.mark.parametrize("data", [(), ("--data", "bands=Cu,Zn")])
def test_a_stack_lacking_an_element_or_its_names_is_refused_in_one_line(capsys, tmp_path, stacks, data):
    model = tmp_path / "m"
    assert run_cli(capsys, "fit", "rx", stacks["stack"], *data, "-o", model)[0] == 0
    for key, said in (("lacking", "has no band named Zn: the bands asked for (--data bands=names:..., or those a model was "
                             "fitted on) are named "),
                      ("unnamed", "bands are unnamed (4 bands without GeoTIFF band descriptions)")):
        code, _, err = run_cli(capsys, "score", model, stacks[key], "-o", tmp_path / f"map_{key}.tif")
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
        assert said in lines[0] and "--data bands=" in lines[0], lines[0]
        if key == "lacking":
            assert "bands are named Pb, Cu, Au, Ag" in lines[0]
        assert not (tmp_path / f"map_{key}.tif").exists()


def test_the_user_s_bands_win_over_the_recorded_names(capsys, tmp_path, stacks):
    """The fix the refusal names: the elements' numbers in an unnamed stack, given at scoring."""
    model = tmp_path / "m"
    assert run_cli(capsys, "fit", "rx", stacks["stack"], "--data", "bands=Cu,Zn", "-o", model)[0] == 0
    assert run_cli(capsys, "score", model, stacks["stack"], "-o", tmp_path / "a.tif")[0] == 0
    code, _, err = run_cli(capsys, "score", model, stacks["unnamed"], "--data", "bands=1,3", "-o", tmp_path / "b.tif")
    assert code == 0, err
    np.testing.assert_array_equal(_scores(tmp_path / "b.tif"), _scores(tmp_path / "a.tif"))


def test_a_model_saved_with_band_numbers_only_keeps_working(capsys, tmp_path, stacks):
    model = tmp_path / "m"
    assert run_cli(capsys, "fit", "rx", stacks["stack"], "--data", "bands=Cu,Zn", "-o", model)[0] == 0
    assert run_cli(capsys, "score", model, stacks["stack"], "-o", tmp_path / "new.tif")[0] == 0
    shutil.copytree(model, tmp_path / "old")
    manifest = json.loads((tmp_path / "old" / "manifest.json").read_text())
    manifest["input_spec"]["data_view"].pop("band_names", None)  # as saved before the names
    (tmp_path / "old" / "manifest.json").write_text(json.dumps(manifest))
    code, out, err = run_cli(capsys, "score", tmp_path / "old", stacks["stack"], "-o", tmp_path / "old.tif")
    assert code == 0, err
    assert "stack: read as the model's scene was at fit: bands=1,3" in out
    np.testing.assert_array_equal(_scores(tmp_path / "old.tif"), _scores(tmp_path / "new.tif"))


def test_raster_file_tiles_record_the_names_and_are_cut_from_the_named_bands(stacks):
    """``raster-file`` (Geo-Hgan's tiles): the same record, and the tiles of the reordered stack picked by name
    are those of the original's elements."""
    tiles = had.load_dataset("raster-file", path=stacks["stack"], bands="Cu,Zn", tile_size=8, stride=8)
    record = cubeview.record_of(tiles.meta)
    assert record["band_names"] == ["Cu", "Zn"] and record["bands"] == "1,3"
    added = cubeview.settings_to_match(record, {}, {"bands", "tile_size", "stride", "path"})
    assert added["bands"] == "names:Cu,Zn"
    again = had.load_dataset("raster-file", path=stacks["reorder"], **added)
    np.testing.assert_array_equal(np.asarray(again.X), np.asarray(tiles.X))
    assert cubeview.same_file_bands(record, again.meta)


def test_bands_are_picked_by_name_in_the_model_s_order():
    names = ["Pb", "Zn", "Au", "Cu"]
    assert cubeview.bands_by_name(["Cu", "zn"], names, "f").tolist() == [3, 1]  # the model's order, any case
    assert cubeview.parse_bands("names:Cu,Zn", 4, None, "f", names).tolist() == [3, 1]
    assert cubeview.parse_bands("Cu,Zn", 4, None, "f", names).tolist() == [1, 3]  # a user's names: the file's order
    with pytest.raises(BandMismatchError, match="names more than one band Cu"):
        cubeview.bands_by_name(["Cu"], ["Cu", "cu"], "f")
    with pytest.raises(ConfigError):  # a user's name that the file lacks stays a setting's error
        cubeview.parse_bands("Cu,Ag", 4, None, "f", names)
    assert cubeview.recordable_names({"band_names": ["Cu", None]}) is None  # an unnamed band: numbers, as before
    assert cubeview.recordable_names({"band_names": ["Cu", "cu"]}) is None
    assert cubeview.recordable_names({"band_names": ["Cu, ppm", "Zn"]}) is None
    assert cubeview.recordable_names({"wavelengths": [400, 500]}) is None
    assert cubeview.recordable_names({"band_names": ["a", "b"], "wavelengths": [400, 500]}) is None  # a spectrum


def test_a_view_picking_a_whole_named_file_in_its_order_changes_nothing():
    cube = np.ones((3, 2, 4), dtype=np.float32)
    meta = {"band_names": list(ELEMENTS)}
    same, unchanged = cubeview.view_scene(cube, meta, "f", bands="names:Cu,Pb,Zn,Au")
    assert same is cube and unchanged is meta
    assert cubeview.same_file_bands({"band_names": ELEMENTS}, unchanged)
    assert not cubeview.same_file_bands({"band_names": ["Zn", "Cu"]}, {"band_names": ["Cu", "Zn"]})


def test_names_that_only_number_the_bands_are_not_recorded():
    """Was: "Band 1, Band 2, Band 3" (GDAL's default descriptions) recorded, and a file of the same layout with
    other such names, or none, refused."""
    from had.cubeview import recordable_names

    for generic in (["Band 1", "Band 2"], ["Band_1", "Band_2"], ["B1", "B2"], ["layer 1", "layer 2"]):
        assert recordable_names({"band_names": generic}) is None, generic
    assert recordable_names({"band_names": ["Cu", "B2O3"]}) == ["Cu", "B2O3"]


def test_a_band_name_missing_at_fit_time_is_not_said_as_a_fitted_model(capsys, tmp_path, stacks):
    """At fit time no model exists yet: the line says which bands were asked for (was: "the model was fitted on
    the bands named Ni", before any fit)."""
    code, _, err = run_cli(capsys, "fit", "rx", stacks["stack"], "--data", "bands=names:Ni", "-o", tmp_path / "m")
    assert code == 2, err
    line = err.strip()
    assert "has no band named Ni" in line and "the bands asked for" in line and "the model was fitted" not in line, line
    assert not (tmp_path / "m").exists()
