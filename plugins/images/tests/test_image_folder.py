"""``image-folder``: a folder of PNG/JPEG/BMP files read as images (N, C, H, W) in [0, 1], in the sorted order
of their relative paths, labelled by subfolder, and scored into a CSV whose ``file`` column joins each score to
its image (was: "is a folder; pass a file inside it", and "unsupported file type '.png'")."""

from __future__ import annotations

import csv
from types import SimpleNamespace

import had
import numpy as np
import pytest
from had.errors import ConfigError, DataFileError

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402


def _gray(path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _folder(root, n_normal=12, n_anomalous=6, size=12, seed=0):
    """normal/ images of low-contrast noise and anomalies/ with a bright square; returns {relative path: uint8}."""
    rng = np.random.default_rng(seed)
    made = {}
    for i in range(n_normal):
        made[f"normal/n{i:02d}.png"] = rng.integers(100, 140, size=(size, size), dtype=np.uint8)
    for i in range(n_anomalous):
        image = rng.integers(100, 140, size=(size, size), dtype=np.uint8)
        image[3:8, 3:8] = 250
        made[f"sick/a{i:02d}.png"] = image
    for name, image in made.items():
        _gray(root / name, image)
    return made


def test_images_are_read_in_path_order_scaled_to_unit_range_and_labelled_by_subfolder(tmp_path):
    made = _folder(tmp_path / "xr")
    data = had.load_dataset("image-folder", path=str(tmp_path / "xr"), anomalies="sick")
    names = sorted(made)
    assert data.meta["files"] == names and data.kind == "image" and data.X.shape == (18, 1, 12, 12)
    np.testing.assert_allclose(data.X[:, 0], np.stack([made[n] for n in names]) / 255.0, atol=1e-7)
    assert data.y.tolist() == [0] * 12 + [1] * 6
    assert had.load_dataset("image-folder", path=str(tmp_path / "xr")).y is None  # no labels unless asked
    assert had.load_dataset(str(tmp_path / "xr"), anomalies="sick").y.tolist() == data.y.tolist()  # the folder
    nested = _folder(tmp_path / "xrays" / "test")  # xrays/test/{normal,sick}: a subfolder named so at any depth
    _folder(tmp_path / "xrays" / "train", n_anomalous=0, seed=1)
    deep = had.load_dataset("image-folder", path=str(tmp_path / "xrays"), anomalies="sick")
    assert deep.y.sum() == 6 and all(f.startswith("test/sick/") for f, y in zip(deep.meta["files"], deep.y) if y)
    assert len(nested) == 18
    assert had.load_dataset("image-folder", path=str(tmp_path / "xrays"), anomalies="test/sick").y.sum() == 6


def test_rgb_16_bit_channels_and_sizes(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, size=(10, 8, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    deep = np.full((10, 8), 65535, dtype=np.uint16)
    deep[0, 0] = 0
    Image.fromarray(deep).save(tmp_path / "b.png")
    data = had.load_dataset("image-folder", path=str(tmp_path))
    assert data.X.shape == (2, 3, 10, 8)  # one RGB image: every image as RGB
    np.testing.assert_allclose(data.X[0], rgb.transpose(2, 0, 1) / 255.0, atol=1e-7)
    assert data.X[1, :, 0, 0].tolist() == [0.0] * 3 and data.X[1, :, 5, 5].tolist() == [1.0] * 3
    gray = had.load_dataset("image-folder", path=str(tmp_path), channels=1)
    assert gray.X.shape == (2, 1, 10, 8) and 0.0 <= gray.X.min() and gray.X.max() <= 1.0
    Image.fromarray(np.zeros((6, 6), dtype=np.uint8)).save(tmp_path / "c.png")
    with pytest.raises(DataFileError, match=r"several sizes \(a.png 8x10, c.png 6x6\); resize them all with "
                                             r"size=N"):
        had.load_dataset("image-folder", path=str(tmp_path))
    assert had.load_dataset("image-folder", path=str(tmp_path), size=16).X.shape == (3, 3, 16, 16)


def test_folder_mistakes_are_one_line(tmp_path):
    _folder(tmp_path / "xr", 2, 1)
    with pytest.raises(ConfigError, match=r"no image of .* lies in a subfolder 'pneumonia'; its subfolders: normal, sick"):
        had.load_dataset("image-folder", path=str(tmp_path / "xr"), anomalies="pneumonia")
    (tmp_path / "xr" / "normal" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataFileError, match=r"normal/broken.png: not an image Pillow can read"):
        had.load_dataset("image-folder", path=str(tmp_path / "xr"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFileError, match="holds no .png"):
        had.load_dataset("image-folder", path=str(tmp_path / "empty"))


def test_a_folder_is_fitted_and_scored_from_the_command_line_with_file_names_in_the_csv(tmp_path, capfd,
                                                                                       monkeypatch):
    """``had fit DET FOLDER`` and ``had score m FOLDER -o s.csv``: the CSV's rows name their files, and each row's
    score is the model's score of that file's image. (The commands run in this process, through the CLI's own
    entry point: a subprocess each cost an interpreter and torch's import and tested nothing more.)"""
    from had_sdk.testing import run_cli

    def _had(*args, cwd):
        monkeypatch.chdir(cwd)
        code, stdout, stderr = run_cli(capfd, *args)
        return SimpleNamespace(returncode=code, stdout=stdout, stderr=stderr)

    if "memdae" not in had.plugins.names("detector"):
        pytest.skip("needs an image detector: had-plugin-cxr's memdae")
    made = _folder(tmp_path / "new")
    _folder(tmp_path / "train", n_anomalous=0, seed=1)
    out = _had("fit", "memdae", "train", "--set", "epochs=1", "--set", "isize=12", "-o", "m", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    out = _had("score", "m", "new", "--data", "anomalies=sick", "-o", "s.csv", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    with open(tmp_path / "s.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"] for r in rows] == sorted(made) and list(rows[0]) == ["index", "file", "score", "label"]
    model = had.load(tmp_path / "m")
    for row in (rows[0], rows[-1]):
        image = (made[row["file"]] / 255.0).astype(np.float32)[None, None]
        assert float(row["score"]) == pytest.approx(float(model.decision_function(image)[0]), rel=1e-5)  # float32, batch of 1
        assert int(row["label"]) == int(row["file"].startswith("sick/"))
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("x")
    out = _had("fit", "rx", "plain", "-o", "m2", cwd=tmp_path)  # a folder no plugin reads, holding no images
    assert out.returncode == 2 and "is a folder that holds no images" in out.stderr
    out = _had("fit", "memdae", "new/sick/a00.png", "-o", "m3", cwd=tmp_path)  # one image: its folder is read
    assert out.returncode == 2 and "one image file; image-folder reads images by folder" in out.stderr


@pytest.mark.parametrize("limit", [100, 60])  # 144 pixels: above Pillow's warning limit, and above twice it
def test_a_decompression_bomb_and_a_stack_beyond_memory_are_one_line_before_decoding(tmp_path, monkeypatch, limit):
    """An image above Pillow's pixel limit (a small file declaring a huge image) was decoded after a warning (or
    a DecompressionBombError blamed on the plugin); a folder whose stack cannot fit was a MemoryError mid-way."""
    _folder(tmp_path / "xr", 2, 1)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    with pytest.raises(DataFileError, match=r"larger than Pillow's limit of .* decompression bomb"):
        had.load_dataset("image-folder", path=str(tmp_path / "xr"))
    monkeypatch.undo()
    monkeypatch.setattr("had.memory.available_memory", lambda: 1000)
    with pytest.raises(MemoryError, match=r"image-folder: 3 images of 1x12x12 as float32 needs .* resize them"):
        had.load_dataset("image-folder", path=str(tmp_path / "xr"))


def test_a_folder_too_large_to_be_a_dataset_is_one_line_and_dot_is_named(tmp_path, monkeypatch):
    """Was: ``had score m /`` walked the whole file system (every file, then every image found read); ``.`` was
    the dataset "" (a blank name in ``--json``); a folder of hidden images only was claimed, then "holds no
    images"."""
    from had_images import folder

    _folder(tmp_path / "xr", 3, 1)
    for i in range(5):
        (tmp_path / "xr" / f"notes{i}.txt").write_text("x")
    monkeypatch.setattr(folder, "MAX_ENTRIES", 8)  # 2 subfolders + 4 images + 5 notes = 11 entries
    with pytest.raises(DataFileError, match=r"xr holds more than 8 files and folders, more than a folder of images"):
        had.load_dataset("image-folder", path=str(tmp_path / "xr"))
    monkeypatch.setattr(folder, "MAX_ENTRIES", 100)
    monkeypatch.chdir(tmp_path / "xr")
    assert had.load_dataset("image-folder", path=".").name == "xr"
    (tmp_path / "hidden" / ".cache").mkdir(parents=True)
    _gray(tmp_path / "hidden" / ".cache" / "a.png", np.zeros((4, 4), np.uint8))
    assert folder.claims(str(tmp_path / "xr")) and not folder.claims(str(tmp_path / "hidden"))


def test_16_bit_images_of_12_bit_data_are_said(tmp_path):
    """An audit's X-ray PNGs: 12-bit data stored in 16 bits, divided by 65535 to [0, 0.06], every one flagged by a
    model of 8-bit images without a word. A note now says it (had fit and had score print reader notes); images
    using the 16-bit range get none."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for folder, top in (("b12", 4000), ("b16", 65000)):
        (tmp_path / folder).mkdir()
        for i in range(3):
            pixels = rng.integers(0, top, size=(8, 8), dtype=np.uint16)
            pixels[0, 0] = top
            Image.fromarray(pixels).save(tmp_path / folder / f"{i}.png")
    narrow = had.load_dataset("image-folder", path=str(tmp_path / "b12"))
    assert narrow.meta["reader_notes"] == [
        "note: the folder's 3 16-bit image(s) hold values up to 4000, below 4096 (12-bit data stored in 16 bits?): "
        "read as 16-bit they span [0, 0.0610], nearly black to a model of 8-bit or full-range 16-bit images; if the "
        "data are 12-bit, rescale them (x16 to the full 16-bit range) before fitting and scoring"]
    assert float(narrow.X.max()) == pytest.approx(4000 / 65535)
    assert "reader_notes" not in had.load_dataset("image-folder", path=str(tmp_path / "b16")).meta


def test_palette_images_of_greys_are_grayscale_and_coloured_palettes_rgb(tmp_path):
    """PNG optimisers save grayscale images as palette images; was: read as RGB, so a folder of them (or one
    among grayscale images) became 3 channels, and a grayscale model refused it."""
    rng = np.random.default_rng(0)
    grey = (rng.random((4, 10, 10)) * 255).astype(np.uint8)
    (tmp_path / "g").mkdir()
    for i, picture in enumerate(grey):
        Image.fromarray(picture, "L").convert("P").save(tmp_path / "g" / f"{i}.png")
    data = had.load_dataset(str(tmp_path / "g"))
    assert data.X.shape == (4, 1, 10, 10)
    np.testing.assert_array_equal(data.X[:, 0], grey.astype(np.float32) / 255)
    (tmp_path / "c").mkdir()
    colour = (rng.random((10, 10, 3)) * 255).astype(np.uint8)
    Image.fromarray(colour, "RGB").convert("P").save(tmp_path / "c" / "0.png")
    assert had.load_dataset(str(tmp_path / "c")).X.shape == (1, 3, 10, 10)
