"""``had score`` hashes the data it scored as a fit hashes them (:func:`had.fingerprint.of_data`): an integer scene
as float64, tile by tile, as validation hands it to the fit. Was: the raw int16 bytes of an ENVI line (or of an
integer ``.npy`` cube), never the model's fingerprint, so LREN scored on the very line it was fitted on said "lren is
transductive: ... fitted on another scene", and metrics on an integer scene's training data went without the
training-data note."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had import fingerprint
from had.cli import main

from fingerprint_support import ON_TRAINING, Zeros

OTHER_SCENE = "fitted on another scene"


def _cube(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cube = rng.integers(0, 4000, size=(12, 9, 5)).astype(np.int16)
    truth = np.zeros((12, 9), dtype=np.int64)
    truth[:2, :3] = 1
    cube[:2, :3] += 3000
    return cube, truth


@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
def test_of_data_is_the_fits_fingerprint_of_an_integer_memory_map(tmp_path, interleave):
    axes = {"bil": (0, 2, 1), "bsq": (2, 0, 1), "bip": (0, 1, 2)}[interleave]
    cube, _ = _cube()
    path = tmp_path / f"scene.{interleave}"
    np.ascontiguousarray(cube.transpose(axes)).tofile(path)
    mapped = np.memmap(path, dtype=cube.dtype, mode="r", shape=tuple(cube.shape[a] for a in axes))
    mapped = mapped.transpose(np.argsort(axes))  # (H, W, B), as the ENVI reader hands it over
    with pytest.warns(Warning):  # constant training scores
        fitted = Zeros().fit(mapped).training_sha256_
    assert had.get_detector("rx").fit(mapped).training_sha256_ == fitted  # RX's one-pass fit: the same
    assert fingerprint.of_data(mapped) == fitted
    if interleave == "bip":  # each row hashed in its memory order (had.fingerprint): BIP's is C order
        assert fingerprint.of_data(cube) == fitted  # the same numbers in memory
    assert fingerprint.training_sha256(mapped) != fitted  # the int16 bytes: what had score hashed before
    for scheme in fingerprint.SCHEMES:  # old models' plain sha256 too
        assert fingerprint.of_data(mapped, scheme=scheme) == fingerprint.training_sha256(
            mapped.astype(np.float64), scheme=scheme)


def test_of_data_leaves_float_data_and_integer_tables_as_a_fit_hashes_them():
    cube, _ = _cube()
    floats = cube.astype(np.float32)
    assert fingerprint.of_data(floats) == had.get_detector("rx").fit(floats).training_sha256_
    assert fingerprint.of_data(floats) == fingerprint.training_sha256(floats)  # no conversion of floats
    table = cube.reshape(-1, 5)
    assert fingerprint.of_data(table) == had.get_detector("rx").fit(table).training_sha256_


def test_scoring_an_integer_npy_cube_a_model_was_fitted_on_says_so(tmp_path, capsys, monkeypatch):
    from had import score_notes

    cube, truth = _cube()
    np.save(tmp_path / "cube.npy", cube)
    np.save(tmp_path / "truth.npy", truth)
    np.save(tmp_path / "other.npy", _cube(1)[0])
    model = str(tmp_path / "m")
    main(["fit", "rx", str(tmp_path / "cube.npy"), "-o", model])
    capsys.readouterr()
    for output in ("map.npy", "map.tif"):  # in memory and tile by tile
        main(["score", model, str(tmp_path / "cube.npy"), "--data", f"labels={tmp_path / 'truth.npy'}",
              "-o", str(tmp_path / output)])
        out = capsys.readouterr().out
        assert f"note: these are the data {model} was fitted on" in out and ON_TRAINING in out, out
    monkeypatch.setattr(score_notes._Fingerprints, "transductive", property(lambda self: True))  # RX for LREN
    main(["score", model, str(tmp_path / "cube.npy"), "-o", str(tmp_path / "own.npy")])
    assert "is transductive" not in capsys.readouterr().out
    main(["score", model, str(tmp_path / "other.npy"), "-o", str(tmp_path / "other_map.npy")])
    out = capsys.readouterr().out
    assert "is transductive" in out and OTHER_SCENE in out  # another scene is still said


def test_lren_scored_on_the_int16_envi_line_it_was_fitted_on_says_nothing_of_another_scene(tmp_path, capsys):
    pytest.importorskip("had_lren")
    envi = pytest.importorskip("had_hsi.envi")
    cube, truth = _cube()
    envi.save_envi(tmp_path / "line.hdr", cube, "bil")
    np.save(tmp_path / "truth.npy", truth)
    model = str(tmp_path / "ml")
    main(["fit", "lren", str(tmp_path / "line.hdr"), "-o", model, "--set", "epochs=1", "--set", "restarts=1",
          "--set", "progress=false"])
    capsys.readouterr()
    main(["score", model, str(tmp_path / "line.hdr"), "-o", str(tmp_path / "l.npy"), "--engine", "eager"])
    out = capsys.readouterr().out
    assert "above the threshold" in out and "is transductive" not in out and OTHER_SCENE not in out, out


def test_metrics_on_the_int16_envi_line_rx_was_fitted_on_are_said_to_be_on_training_data(tmp_path, capsys):
    envi = pytest.importorskip("had_hsi.envi")
    cube, truth = _cube()
    envi.save_envi(tmp_path / "line.hdr", cube, "bil")
    np.save(tmp_path / "truth.npy", truth)
    model = str(tmp_path / "m")
    main(["fit", "rx", str(tmp_path / "line.hdr"), "-o", model])
    capsys.readouterr()
    for args in ((str(tmp_path / "line.hdr"), "-o", str(tmp_path / "map.tif")),  # tile by tile
                 ("envi-file", "--data", f"path={tmp_path / 'line.hdr'}")):  # in memory
        main(["score", model, *args, "--data", f"map_path={tmp_path / 'truth.npy'}"])
        out = capsys.readouterr().out
        assert "auroc" in out and f"note: these are the data {model} was fitted on" in out and ON_TRAINING in out, out
