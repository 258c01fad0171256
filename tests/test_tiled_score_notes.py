"""`had score` of a scene tile by tile (a GeoTIFF or ENVI file, a ``.tif`` map) and of a raster's tiles into a heat
map gives the metrics and notes the in-memory path gives (was: the tiled path printed AUROC on the model's own
training scene without the training-data note, and the heat map dropped the metrics, ``"metrics": {}``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from had import fingerprint, score_notes
from test_reliability_cli import run_cli

ON_TRAINING = "the metrics are on training data"
TRANSFORM = (10.0, 0.0, 500000.0, 0.0, -10.0, 4000000.0)


def _scene(seed: int, shape=(40, 30, 4)) -> tuple[np.ndarray, np.ndarray]:
    """A small cube (H, W, B) with a 3x3 anomaly, and its 0/1 mask."""
    rng = np.random.default_rng(seed)
    cube = np.exp(rng.normal(3.0, 0.3, shape)).astype(np.float32)
    mask = np.zeros(shape[:2], dtype=np.uint8)
    mask[20:23, 10:13] = 1
    cube[20:23, 10:13] *= 8.0
    return cube, mask


def _write_tif(rasterio, path, bands: np.ndarray) -> str:
    """`bands` (B, H, W) as a GeoTIFF in EPSG:32633."""
    with rasterio.open(path, "w", driver="GTiff", height=bands.shape[1], width=bands.shape[2], count=bands.shape[0],
                       dtype=bands.dtype, crs="EPSG:32633", transform=rasterio.Affine(*TRANSFORM)) as dst:
        dst.write(bands)
    return str(path)


@pytest.fixture
def geotiffs(tmp_path):
    """Two GeoTIFF scenes (fit, other) and their masks: {name: (scene, mask)}."""
    rasterio = pytest.importorskip("rasterio")
    files = {}
    for name, seed in (("fit", 0), ("other", 1)):
        cube, mask = _scene(seed)
        files[name] = (_write_tif(rasterio, tmp_path / f"{name}.tif", cube.transpose(2, 0, 1)),
                       _write_tif(rasterio, tmp_path / f"{name}_mask.tif", mask[None]))
    return files


def _score(capsys, model: str, scene: str, mask: str, *args: str) -> tuple[str, str]:
    code, out, err = run_cli(capsys, "score", model, scene, "--data", f"map_path={mask}", *args)
    assert code == 0, err
    return out, err


def test_a_geotiff_scored_tile_by_tile_says_its_metrics_are_on_training_data(geotiffs, tmp_path, capsys):
    """The model's own scene, scored tile by tile (into a GeoTIFF map, in memory, --json): the metrics and the
    training-data note, as in memory; another scene: the metrics alone."""
    (scene, mask), (other, other_mask) = geotiffs["fit"], geotiffs["other"]
    model = str(tmp_path / "rx")
    assert run_cli(capsys, "fit", "rx", scene, "--data", f"map_path={mask}", "-o", model)[0] == 0
    for args in (("-o", str(tmp_path / "map.tif")), ()):
        out, _ = _score(capsys, model, scene, mask, *args)
        assert "tile by tile" in out and "auroc 1.0000" in out
        assert f"note: these are the data {model} was fitted on" in out and ON_TRAINING in out
    out, err = _score(capsys, model, scene, mask, "--json")
    summary = json.loads(out)
    assert summary["metrics"]["auroc"] == 1.0 and ON_TRAINING in summary["metrics_note"]
    assert ON_TRAINING in err  # the progress lines, on stderr beside the JSON
    out, _ = _score(capsys, model, other, other_mask, "-o", str(tmp_path / "other_map.tif"))
    assert "auroc" in out and "note" not in out  # another scene: held-out metrics, nothing to say
    out, _ = _score(capsys, model, other, other_mask, "--json")
    assert json.loads(out)["metrics_note"] is None


def test_an_envi_scene_says_its_metrics_are_on_training_data_and_is_hashed_only_for_them(tmp_path, capsys,
                                                                                      monkeypatch):
    """An ENVI scene (memory-mapped, scored tile by tile): the note with the metrics; without labels no metrics,
    no note, and the scene is not read a second time for its fingerprint."""
    save_envi = pytest.importorskip("had_hsi.envi", reason="had-plugin-hsi reads the ENVI files").save_envi
    cube, mask = _scene(2)
    save_envi(tmp_path / "line.hdr", cube, "bil")
    np.save(tmp_path / "mask.npy", mask)
    scene, model = str(tmp_path / "line.hdr"), str(tmp_path / "rx")
    assert run_cli(capsys, "fit", "rx", scene, "--data", f"map_path={tmp_path / 'mask.npy'}", "-o", model)[0] == 0
    out, _ = _score(capsys, model, scene, str(tmp_path / "mask.npy"))
    assert "tile by tile" in out and "auroc" in out and ON_TRAINING in out
    hashed = []
    real = fingerprint.training_sha256
    monkeypatch.setattr(fingerprint, "training_sha256", lambda *a, **k: hashed.append(1) or real(*a, **k))
    code, out, err = run_cli(capsys, "score", model, scene, "-o", str(tmp_path / "map.npy"))
    assert code == 0, err
    assert "auroc" not in out and "note" not in out and not hashed


def test_a_transductive_model_on_another_scene_says_so_tile_by_tile(geotiffs, tmp_path, capsys, monkeypatch):
    """The other-scene note of a transductive model (its count above its own scene's threshold means nothing
    elsewhere), as in memory; on its own scene neither note (fitted and measured on one scene is its use)."""
    (scene, mask), (other, other_mask) = geotiffs["fit"], geotiffs["other"]
    model = str(tmp_path / "rx")
    assert run_cli(capsys, "fit", "rx", scene, "--data", f"map_path={mask}", "-o", model)[0] == 0
    monkeypatch.setattr(score_notes._Fingerprints, "transductive", property(lambda self: True))  # RX standing for LREN
    out, _ = _score(capsys, model, other, other_mask, "-o", str(tmp_path / "other_map.tif"))
    assert "is transductive" in out and "fitted on another scene" in out
    out, _ = _score(capsys, model, scene, mask, "-o", str(tmp_path / "own.tif"))
    assert "auroc" in out and "note" not in out


G = ["--set", "epochs=1", "--set", "encoder_epochs=1", "--set", "first_width=32", "--set", "hidden_widths=[32,32,32]"]


def test_a_heat_map_keeps_the_tiles_metrics_and_their_note(tmp_path, capsys):
    """``had score M raster-file ... -o heat.tif``: the tiles' scores against the tiles' labels (mask_path), the
    numbers given without the heat map, and the training-data note, in text and --json; another raster: the
    metrics without the note."""
    rasterio = pytest.importorskip("rasterio")
    pytest.importorskip("had_geohgan", reason="had-plugin-geohgan fits the tiles")
    rasters = {}
    for name, seed in (("fit", 3), ("other", 4)):
        cube, mask = _scene(seed, (40, 40, 4))
        rasters[name] = ["--data", f"path={_write_tif(rasterio, tmp_path / f'{name}.tif', cube.transpose(2, 0, 1))}",
                         "--data", f"mask_path={_write_tif(rasterio, tmp_path / f'{name}_mask.tif', mask[None])}"]
    model = str(tmp_path / "gb")
    code, _, err = run_cli(capsys, "fit", "geohgan", "raster-file", *rasters["fit"], "--data", "tile_size=16",
                           "--data", "stride=8", *G, "-o", model)
    assert code == 0, err

    def score(name: str, *args: str) -> tuple[str, str]:
        code, out, err = run_cli(capsys, "score", model, "raster-file", *rasters[name], *args)
        assert code == 0, err
        return out, err

    in_memory, _ = score("fit")
    metrics = [line for line in in_memory.splitlines() if "auroc" in line]
    assert len(metrics) == 1 and ON_TRAINING in in_memory
    heat, _ = score("fit", "-o", str(tmp_path / "heat.tif"))
    assert "heat map" in heat and metrics[0] in heat.splitlines() and ON_TRAINING in heat
    out, err = score("fit", "-o", str(tmp_path / "heat2.tif"), "--json")
    summary = json.loads(out)
    assert summary["map"] == str(tmp_path / "heat2.tif") and ON_TRAINING in summary["metrics_note"]
    assert metrics[0] == "  " + ", ".join(f"{k} {v:.4f}" for k, v in summary["metrics"].items())
    out, _ = score("other", "-o", str(tmp_path / "other_map.tif"))
    assert "auroc" in out and "note" not in out
    # --metrics on the heat-map path: the metrics named (f1 at the tiles' threshold), as without the heat map
    named = json.loads(score("fit", "-o", str(tmp_path / "heat3.tif"), "--metrics", "eer,f1", "--json")[0])["metrics"]
    assert list(named) == ["eer", "f1"]
    assert named == json.loads(score("fit", "--metrics", "eer,f1", "--json")[0])["metrics"]
