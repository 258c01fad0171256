"""The ENVI interleave check's second tell (``had_hsi.envi._refuse_wrong_interleave``, (2)): a BSQ file declared BIL or
BIP, or a BIL file declared BIP, of a rough scene (an urban or airport one) was read as a scrambled cube, unsaid: its
misreading is smooth too (a BSQ file's "bands" read as BIL are the same band some lines on; a BIL file's "bands" read
as BIP its neighbouring samples), so the first tell (the declared reading LAYOUT_FACTOR times rougher) never fired.
14 of the 54 misdeclared development-scene files were read so; now 6 (benchmarks/envi_interleave_study.py). And files
declared rightly, wider, narrower and in fewer lines than the check was first chosen on, are still read."""

from __future__ import annotations

import numpy as np
import pytest
from had.errors import DataFileError
from had_hsi.envi import open_envi, save_envi, write_header

LAYOUTS = ("bsq", "bil", "bip")


def _misdeclare(folder, cube, written: str, declared: str):
    """`cube` written as `written`, its header saying `declared`; the data file's path."""
    data = save_envi(folder / f"{written}_as_{declared}.hdr", cube, written)
    write_header(folder / f"{written}_as_{declared}.hdr", cube.shape, cube.dtype, declared)
    return data


def _textured_scene(lines: int = 60, samples: int = 50, bands: int = 100, seed: int = 0) -> np.ndarray:
    """A scene without real data whose pixels differ from their neighbours about as a real one's do: four
    spectra mixed in smoothly varying amounts, each pixel brighter or darker by 10%, with a little noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:lines, 0:samples] / 10.0
    amounts = np.stack([np.sin(y * a + x * b + phase) + 1.5 for a, b, phase in rng.uniform(0.2, 1.0, (4, 3))], -1)
    amounts *= 1 + 0.1 * rng.standard_normal((lines, samples, 1))
    wavelength = np.linspace(0, 1, bands)
    spectra = np.stack([np.exp(-((wavelength - centre) / 0.1) ** 2) + 0.2 for centre in (0.1, 0.4, 0.7, 0.9)])
    return (1000 * amounts @ spectra + rng.normal(0, 5, (lines, samples, bands))).astype(np.float32)


def _scene(real_file, name: str) -> np.ndarray:
    from scipy.io import loadmat

    filename, key = {"abu-airport-3": ("abu-airport-3.mat", "data"), "abu-urban-4": ("abu-urban-4.mat", "data"),
                     "hydice-ii": ("HYDICE-II.mat", "data"), "muufl-crop": ("muufl-crop.mat", "hsi_sub"),
                     "abu-urban-1": ("abu-urban-1.mat", "data")}[name]
    return np.ascontiguousarray(loadmat(real_file(f"hsi/{filename}"))[key]).astype(np.float32)


def _tiled(cube: np.ndarray, samples: int) -> np.ndarray:
    """`cube` tiled side by side, every other copy mirrored, cut to `samples` samples."""
    copies = [cube if i % 2 == 0 else cube[:, ::-1] for i in range(-(-samples // cube.shape[1]))]
    return np.ascontiguousarray(np.concatenate(copies, axis=1)[:, :samples])


def test_a_bil_file_declared_bip_of_a_textured_scene_is_refused_saying_it_has_no_bip_period(tmp_path):
    """Both readings differ by about 0.3 from one neighbour to the next, so the first tell cannot tell them apart;
    read as BIP the values a pixel on differ about twice as much as bands half the band count apart (no period),
    where BIL shows its own. Was: read as a scrambled cube. Declared rightly, each layout is read back."""
    cube = _textured_scene()
    data = _misdeclare(tmp_path, cube, "bil", "bip")
    with pytest.raises(DataFileError) as caught:
        open_envi(data)
    message = str(caught.value)
    assert message.startswith(f"{data.with_suffix('.hdr')}: interleave = bip reads {data.name} as a scrambled cube "
                              "(it has no BIP period: the same band a pixel on differs "), message
    assert "where bil reads it as a scene (neighbours within " in message
    assert ("write 'interleave = bil' in the header if the file was written BIL, or, if the header is right, read it "
            "as declared with --data check_interleave=false") in message
    assert len(message.splitlines()) == 1
    assert open_envi(data, check_interleave=False)[0].shape == cube.shape  # the way past, as for the first tell
    for layout in LAYOUTS:
        right = save_envi(tmp_path / f"right_{layout}.hdr", cube, layout)
        np.testing.assert_array_equal(open_envi(right)[0], cube)


@pytest.mark.realdata
@pytest.mark.parametrize(("name", "written", "declared"), [
    ("abu-airport-3", "bsq", "bil"), ("abu-airport-3", "bsq", "bip"), ("abu-airport-3", "bil", "bip"),
    ("abu-urban-4", "bsq", "bil"), ("abu-urban-4", "bsq", "bip"), ("abu-urban-4", "bil", "bip"),
    ("hydice-ii", "bsq", "bil"), ("abu-urban-1", "bil", "bip")])
def test_a_rough_development_scene_misdeclared_is_refused_by_its_missing_period(tmp_path, real_file, name, written,
                                                                                 declared):
    """The study's files the first tell let through (its declared reading 1.34 to 2.46 times rougher, where it
    needs 2.5): the declared reading has no period (1.23 to 1.58) and its neighbours differ 1.98 to 10.5 times
    as much as the true reading's where the two differ. Was: read as a scrambled cube."""
    cube = _scene(real_file, name)
    data = _misdeclare(tmp_path, cube, written, declared)
    with pytest.raises(DataFileError, match=f"interleave = {declared} reads .* as a scrambled cube \\(it has no "
                                            f"{declared.upper()} period.* write 'interleave = {written}'"):
        open_envi(data)


@pytest.mark.realdata
def test_development_scenes_declared_rightly_wider_narrower_and_in_strips_are_read(tmp_path, real_file):
    """No false refusal of the study's nearest rightly declared files: muufl-crop mirrored to 600 samples in a
    24-line strip (BSQ read as BIP is smooth and credible: its 72 bands are the mirrored tiling's period; first tell
    1.37 of the 2.5 needed), 30 neighbouring bands of HYDICE-II and muufl-crop in a 16 x 600 strip and 20 bands of
    HYDICE-II in 21 lines (BIL without its period, BSQ read smooth: only the strides where the readings differ keep
    them, 0.91 to 0.94 of the 1.5 needed), and abu-urban-1 tiled to 600 samples. Each in every layout."""
    hydice, muufl = _scene(real_file, "hydice-ii"), _scene(real_file, "muufl-crop")
    cubes = {"muufl strip 24x600": _tiled(muufl, 600)[:24],
             "muufl bands 42-71 strip 16x600": _tiled(muufl[..., 42:72], 600)[:16],
             "hydice bands 132-161 strip 16x600": _tiled(hydice[..., 132:162], 600)[:16],
             "hydice bands 0-29 strip 16x600": _tiled(hydice[..., :30], 600)[:16],
             "hydice bands 0-19 strip 21": np.ascontiguousarray(hydice[:21, :, :20]),
             "urban-1 tiled 600": _tiled(_scene(real_file, "abu-urban-1"), 600)}
    for name, cube in cubes.items():
        for layout in LAYOUTS:
            data = save_envi(tmp_path / f"right_{layout}.hdr", cube, layout)
            try:
                read = open_envi(data)[0]
            except DataFileError as refused:  # pragma: no cover - the failure says which
                pytest.fail(f"{name} written and declared {layout} was refused: {refused}")
            np.testing.assert_array_equal(read, cube)
