"""ENVI header fields that were read wrongly or not at all: ``reflectance scale factor`` (a model of int16 DN x
10000 scored a float reflectance file: a flat map, exit 0, unsaid), a ``bbl`` of another length than the band
count (dropped without a word; ``--data bands=good`` then said the file marks no band bad), ``band names`` (not
read: ``--data bands=names:...`` said the bands were unnamed), and spectral's warning on upper-case keys (printed
to stderr, though the keys are read)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import had
from had_sdk.testing import run_cli
from had.errors import ConfigError, DataFileError, InvalidInputError
from had_hsi.envi import open_envi, save_envi

WAVELENGTHS = [450, 550, 650, 750, 850]
NAMES = ["Band 1", "Band 2", "Band 3", "Band 4", "Band 5"]


@pytest.fixture
def cube():
    rng = np.random.default_rng(5)
    return rng.integers(100, 4000, size=(9, 7, 5)).astype(np.int16)




def _pair(tmp_path, cube):
    """The same scene as int16 x 10000 (BIL, with the factor) and as big-endian float32 reflectance (BSQ, none)."""
    save_envi(tmp_path / "line.hdr", cube, "bil", wavelength=WAVELENGTHS, reflectance_scale_factor=10000)
    save_envi(tmp_path / "refl.hdr", (cube / 10000).astype(np.float32), "bsq", "big", wavelength=WAVELENGTHS)
    return tmp_path / "line.hdr", tmp_path / "refl.hdr"


def test_the_reflectance_scale_factor_is_read(tmp_path, cube):
    line, refl = _pair(tmp_path, cube)
    assert open_envi(line)[1]["reflectance_scale_factor"] == 10000.0
    assert open_envi(refl)[1]["reflectance_scale_factor"] is None  # the key is there: an ENVI file, values as stored
    for bad in ("abc", "-3", "0"):
        save_envi(tmp_path / "bad.hdr", cube, "bil", reflectance_scale_factor=bad)
        with pytest.raises(DataFileError, match=f"reflectance scale factor = '{bad}' is not a positive number; "
                                                "correct the header"):
            open_envi(tmp_path / "bad.hdr")


@pytest.mark.parametrize("output", ["b.tif", "b.npy"])
def test_a_scene_stored_in_other_units_than_the_models_is_refused(tmp_path, cube, capsys, output):
    line, refl = _pair(tmp_path, cube)
    for fitted, scored, here, model_text in ((line, refl, "none (values as stored)", "10000"),
                                             (refl, line, "10000", "none (values as stored)")):
        model = tmp_path / f"m_{fitted.stem}"
        assert run_cli(capsys, "fit", "rx", fitted, "-o", model)[0] == 0
        for dataset in ((scored,), ("envi-file", "--data", f"path={scored}")):  # tile by tile; in memory
            code, _, err = run_cli(capsys, "score", model, *dataset, "-o", tmp_path / output, "--overwrite")
            lines = err.strip().splitlines()
            assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
            assert (f"{scored.stem}: its reflectance scale factor is {here} and the model's is {model_text}: its "
                    "values are in other units, so the scores would mean nothing; score a file stored as the "
                    "model's was") in lines[0], lines[0]
            assert "or fit a model on this file's data" in lines[0]
        code, out, err = run_cli(capsys, "score", model, fitted, "-o", tmp_path / output, "--overwrite")
        assert code == 0 and "above the threshold" in out, err  # its own units: scored


def test_the_factor_is_compared_only_where_both_record_it(tmp_path, cube):
    from had.reflectance import KEY, check, record

    line, refl = _pair(tmp_path, cube)
    spec: dict = {}
    record({"wavelengths": WAVELENGTHS}, spec)  # another format: nothing recorded
    assert KEY not in spec
    check({}, open_envi(refl)[1], "refl")  # a model saved before: no check
    check({KEY: 10000.0}, {}, "x.npy")  # a scene of another format: no check
    check({KEY: None}, {KEY: 1.0}, "refl")  # none is 1
    with pytest.raises(InvalidInputError, match="reflectance scale factor is 10000 and the model's is none"):
        check({KEY: None}, open_envi(line)[1], "line")


def test_a_bbl_of_another_length_says_so(tmp_path, cube, capsys):
    save_envi(tmp_path / "bblbad.hdr", cube, "bil", bbl=[1, 0, 1, 1])  # 4 flags for 5 bands
    meta = open_envi(tmp_path / "bblbad.hdr")[1]
    assert meta["bad_bands"] is None and meta["bad_bands_unread"] == "bbl lists 4 flags for 5 bands"
    with pytest.raises(ConfigError, match=r"bands=good: bblbad.hdr's bbl lists 4 flags for 5 bands; correct the "
                                          r"header \(or give the bands to keep as 1-based ranges"):
        had.load_dataset("envi-file", path=str(tmp_path / "bblbad.hdr"), bands="good")
    code, out, err = run_cli(capsys, "fit", "rx", tmp_path / "bblbad.hdr", "-o", tmp_path / "m")
    assert code == 0 and "note: bblbad.hdr's bbl lists 4 flags for 5 bands, so had marks no band bad" in out, err
    save_envi(tmp_path / "words.hdr", cube, "bil", bbl=["x"] * 5)
    assert open_envi(tmp_path / "words.hdr")[1]["bad_bands_unread"] == "bbl holds 'x', not flags 1 (good) or 0 (bad)"


def test_band_names_and_fwhm_are_read(tmp_path, cube, capsys):
    save_envi(tmp_path / "line.hdr", cube, "bil", wavelength=WAVELENGTHS, band_names=NAMES, fwhm=[10] * 5)
    meta = open_envi(tmp_path / "line.hdr")[1]
    assert meta["band_names"] == NAMES and meta["fwhm"] == [10.0] * 5
    data = had.load_dataset("envi-file", path=str(tmp_path / "line.hdr"), bands="names:Band 4,Band 2")
    np.testing.assert_array_equal(np.asarray(data.X), cube[..., [3, 1]])
    assert data.meta["band_names"] == ["Band 4", "Band 2"] and data.meta["fwhm"] == [10.0, 10.0]
    save_envi(tmp_path / "short.hdr", cube, "bil", band_names=NAMES[:4])  # not one per band: not names of these
    assert open_envi(tmp_path / "short.hdr")[1]["band_names"] is None
    code, _, err = run_cli(capsys, "fit", "rx", tmp_path / "short.hdr", "--data", "bands=names:Band 1",
                           "-o", tmp_path / "m")
    assert code == 2 and "bands are unnamed (5 bands without band names in its ENVI header)" in err, err
    assert "GeoTIFF" not in err and "elements" not in err


def test_upper_case_header_keys_are_read_without_spectrals_warning(tmp_path, cube, capsys):
    save_envi(tmp_path / "UPPER.hdr", cube, "bil")
    with open(tmp_path / "UPPER.hdr", "a") as header:
        header.write("DATA IGNORE VALUE = -9999\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails
        assert open_envi(tmp_path / "UPPER.hdr")[1]["data_ignore_value"] == -9999.0
    code, _, err = run_cli(capsys, "fit", "rx", tmp_path / "UPPER.hdr", "-o", tmp_path / "m")
    assert code == 0 and "non-lowercase" not in err, err


def test_an_edited_manifest_factor_is_one_artifact_error_in_either_engine(tmp_path, cube, capsys):
    """Was: ValueError "could not convert string to float: 'x'" (or a TypeError for a list), a traceback, exit 1."""
    import json

    line, _ = _pair(tmp_path, cube)
    model = tmp_path / "m"
    assert run_cli(capsys, "fit", "rx", line, "-o", model, "--export")[0] == 0
    manifest = json.loads((model / "manifest.json").read_text())
    for bad in ("x", [1], 0, True):
        manifest["input_spec"]["reflectance_scale_factor"] = bad
        (model / "manifest.json").write_text(json.dumps(manifest))
        for engine in ("eager", "onnx"):
            code, _, err = run_cli(capsys, "score", model, line, "-o", tmp_path / "s.npy", "--overwrite",
                                   "--engine", engine)
            assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
            assert (f"the model's input_spec.reflectance_scale_factor is {bad!r}, not a positive number or null: "
                    "its manifest was edited; fit and save the model again") in err, err
    assert not (tmp_path / "s.npy").exists()
