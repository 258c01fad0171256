"""One line per refused scene, said once and in the same words by both engines (a flight-line probe of 7 December
2026): a wavelength refusal under ``--out`` named the scene twice, ONNX said "the model expects 12
features/bands" where eager said "fitted on 12 bands", and another sensor's scene of another band count was
refused for its reflectance scale factor."""

from __future__ import annotations

import numpy as np
import pytest

from had_sdk.testing import run_cli

save_envi = pytest.importorskip("had_hsi.envi", reason="had-plugin-hsi reads the ENVI files").save_envi


def _wavelengths(low: float, high: float, n: int) -> str:
    return "{" + ", ".join(f"{w:.1f}" for w in np.linspace(low, high, n)) + "}"


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenes")
    cube = (np.random.default_rng(0).normal(size=(20, 15, 12)) + 5).astype(np.float32)
    units = {"wavelength units": "Nanometers"}
    save_envi(folder / "a.hdr", cube, "bil", wavelength=_wavelengths(400, 1000, 12), **units)
    save_envi(folder / "wl.hdr", cube, "bil", wavelength=_wavelengths(1400, 2000, 12), **units)
    save_envi(folder / "s10.hdr", cube[..., :10], "bil", **{"reflectance scale factor": "10000"})
    return folder


def _fit(capsys, scenes, model):
    """An RX model of a.hdr, fitted as a user does: its wavelengths and scale factor recorded."""
    code, _, err = run_cli(capsys, "fit", "rx", scenes / "a.hdr", "-o", model)
    assert code == 0, err
    return model


def test_a_wavelength_refusal_under_out_names_the_file_once(scenes, tmp_path, capsys):
    model = _fit(capsys, scenes, tmp_path / "m")
    code, _, err = run_cli(capsys, "score", model, scenes / "wl.hdr", "--out", tmp_path / "maps")
    line = next(line for line in err.splitlines() if "its bands are not the model's" in line)
    assert code == 1 and line.startswith(f"error: {scenes / 'wl.hdr'}: its bands are not the model's"), err


@pytest.mark.parametrize("engine", ["eager", "onnx"])
def test_both_engines_say_a_band_count_alike(scenes, tmp_path, capsys, engine):
    pytest.importorskip("onnxruntime")
    model = _fit(capsys, scenes, tmp_path / "m")
    assert run_cli(capsys, "export", model)[0] == 0
    cube = np.zeros((6, 5, 10), dtype=np.float32)
    np.save(tmp_path / "ten.npy", cube)
    code, _, err = run_cli(capsys, "score", model, tmp_path / "ten.npy", "--engine", engine, "-o", tmp_path / "x.npy")
    assert code == 2 and "fitted on 12 bands, got 10" in err and "expects" not in err, err


def test_another_band_count_is_said_before_another_scale_factor(scenes, tmp_path, capsys):
    model = _fit(capsys, scenes, tmp_path / "m")
    code, _, err = run_cli(capsys, "score", model, scenes / "s10.hdr", "-o", tmp_path / "z.tif")
    assert code == 2 and "fitted on 12 bands, got 10" in err and "scale factor" not in err, err


@pytest.mark.parametrize("how", ["npy", "envi", "out"])
def test_nearly_every_sample_above_the_threshold_is_noted(scenes, tmp_path, capsys, how):
    """The same scene stored x100 (another unit), scored by the model: 300 of 300 above the threshold, exit 0,
    unsaid (a GeoTIFF of int16 x 10000 against a reflectance model in the probe). A note now, in memory, tile by
    tile and under --out; the model's own scene gets none."""
    model = _fit(capsys, scenes, tmp_path / "m")
    cube = (np.random.default_rng(0).normal(size=(20, 15, 12)) + 5).astype(np.float32) * 100
    if how == "envi":
        save_envi(tmp_path / "far.hdr", cube, "bil")
        target = tmp_path / "far.hdr"
    else:
        np.save(tmp_path / "far.npy", cube)
        target = tmp_path / "far.npy"
    args = ["--out", tmp_path / "maps"] if how == "out" else ["-o", tmp_path / "s.npy"]
    code, out, err = run_cli(capsys, "score", model, target, *args)
    assert code == 0, err
    assert "100% of these samples are above the threshold, where the model flags 10% of its training data" in out + err
    code, out, err = run_cli(capsys, "score", model, scenes / "a.hdr", "-o", tmp_path / "own.npy")
    assert code == 0 and "of these samples are above the threshold" not in out + err
