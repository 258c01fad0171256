"""``image-folder``: a folder of PNG/JPEG/BMP images (chest X-rays exported from a PACS, microscope tiles) as
images ``(N, C, H, W)`` in [0, 1], the convention the image detectors take.

Images are read with Pillow in the order of their paths relative to the folder (sorted, so the order is the same
on every machine), down into subfolders; ``meta["files"]`` keeps those paths, and ``had score -o scores.csv``
writes them in a ``file`` column, so a score joins to its image. 8-bit images are divided by 255, 16-bit ones by
65535; an alpha channel is dropped, a palette expanded. ``channels`` (1 or 3) converts every image to grayscale
or RGB; by default the folder is grayscale when every image is, else RGB. Images of several sizes are refused
(naming two) unless ``size`` resizes them all (bilinear). Labels come from subfolders: ``anomalies=pneumonia``
makes the images in a subfolder ``pneumonia`` (at any depth: ``test/pneumonia/``) anomalies (1) and every other
image normal (0), ``anomalies=test/pneumonia`` that path alone; without it there are no labels.

``had fit memdae xrays/train`` and ``had score m xrays/new -o scores.csv`` take the folder itself: the plugin
claims a folder holding such images (:func:`claims`).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

import numpy as np
from had.data import DataSource, DataSourceConfig, Dataset
from had.datadir import expand_home
from had.errors import ConfigError, DataFileError
from pydantic import Field

#: the suffixes read (any case); TIFF is left to the raster plugins (a GeoTIFF is a raster, not a picture)
SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
#: the most files and folders a walk of the folder visits: past it the folder is not a dataset's (``had score m /``
#: walked the whole file system); a million holds the largest public X-ray sets (CheXpert's 224,316 images)
MAX_ENTRIES = 1_000_000


class ImageFolderConfig(DataSourceConfig):
    path: str = Field(..., description="a folder of .png/.jpg/.jpeg/.bmp images (its subfolders too), read in the "
                                       "sorted order of their relative paths")
    channels: int | None = Field(None, ge=1, le=3, description="1: grayscale, 3: RGB (every image converted); "
                                 "default: 1 when every image is grayscale, else 3")
    size: int | None = Field(None, ge=4, description="resize every image to size x size (bilinear); default: "
                             "as stored, one size for all")
    anomalies: str | None = Field(None, description="subfolder names (comma-separated; at any depth, or a path "
                                  "such as test/pneumonia) whose images are anomalies (label 1), every other image "
                                  "normal (0); default: no labels")


class ImageFolder(DataSource):
    """Your own image files, as ``(N, C, H, W)`` float32 in [0, 1], with their paths in ``meta["files"]``."""

    name = "image-folder"
    Config = ImageFolderConfig
    kind = "image"

    @property
    def default_protocol(self) -> str:  # type: ignore[override]
        """``one-class`` with labels (split per class, as a labelled ``.npy`` stack), else ``transductive``."""
        return "one-class" if self.config.anomalies else "transductive"

    def load(self) -> Dataset:
        cfg = self.config
        folder = expand_home(cfg.path, f"image folder {cfg.path}")
        if not folder.is_dir():
            raise DataFileError(f"{folder}: not a folder; give the folder holding the images (path=FOLDER)")
        files = image_files(folder)
        if not files:
            raise DataFileError(f"{folder} holds no {', '.join(SUFFIXES)} images (its subfolders neither); give the "
                                "folder of your images")
        relative = [f.relative_to(folder).as_posix() for f in files]
        X, sixteen = read_images(files, relative, cfg.channels, cfg.size)
        y = None
        if cfg.anomalies:
            wanted = [name.strip().strip("/") for name in cfg.anomalies.split(",") if name.strip()]
            y = np.array([int(any(_under(r, n) for n in wanted)) for r in relative], dtype=np.int64)
            missing = [n for n in wanted if not any(_under(r, n) for r in relative)]
            if missing:
                present = sorted({"/".join(Path(r).parts[:depth]) for r in relative
                                  for depth in range(1, len(Path(r).parts))})
                raise ConfigError(f"anomalies={cfg.anomalies!r}: no image of {folder} lies in a subfolder "
                                  f"{', '.join(map(repr, missing))}; its subfolders: {', '.join(present) or 'none'}")
        name = folder.resolve().name or str(folder)  # `.` is the folder's own name (was: "", a blank in --json)
        meta = {"path": str(folder), "files": relative, "citation": "", "url": None}
        if (note := narrow_16_bit_note(sixteen, X)) is not None:
            meta["reader_notes"] = [note]  # had fit and had score print it
        return Dataset(name, X, y, meta=meta)


def _under(relative: str, name: str) -> bool:
    """Whether the image at `relative` lies in a subfolder `name`: one named so at any depth
    (``pneumonia`` takes ``train/pneumonia/a.png`` and ``test/pneumonia/b.png``), or that path from the top
    (``test/pneumonia``)."""
    folders = Path(relative).parts[:-1]
    if "/" in name:
        return relative.startswith(name + "/")
    return name in folders


def image_files(folder: Path) -> list[Path]:
    """The image files under `folder`, sorted by their relative paths (hidden files and folders left out); a
    DataFileError past :data:`MAX_ENTRIES` files and folders."""
    found = list(_images_under(folder))
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def _images_under(folder: Path):
    """The image files under `folder` (links to folders not followed, hidden entries left out), as found; a
    DataFileError once more than :data:`MAX_ENTRIES` files and folders were visited."""
    visited = 0
    for top, folders, names in os.walk(folder):
        folders[:] = [f for f in folders if not f.startswith(".")]
        visited += len(folders) + len(names)
        if visited > MAX_ENTRIES:
            raise DataFileError(f"{folder} holds more than {MAX_ENTRIES:,} files and folders, more than a folder of "
                                "images had reads; give the folder of your images")
        for name in names:
            path = Path(top) / name
            if not name.startswith(".") and path.suffix.lower() in SUFFIXES and path.is_file():
                yield path


def read_images(files: list[Path], names: list[str], channels: int | None,
                size: int | None) -> tuple[np.ndarray, list[int]]:
    """The images ``(N, C, H, W)`` float32 in [0, 1], and the positions of the 16-bit ones among them (their header
    pass tells them: :func:`narrow_16_bit_note`); one size for all unless `size` resizes them. Their headers
    are read first: sizes that differ, a file that is no image, one above Pillow's pixel limit (a decompression
    bomb: a small file declaring a huge image) and a stack larger than the memory available are each one line
    before any image is decoded."""
    from had.memory import check_fits

    sizes, colour, sixteen = [], [], []
    for i, (path, name) in enumerate(zip(files, names)):
        with _opened(path, name) as image:
            sizes.append(image.size)
            colour.append(not _grey(image))
            if image.mode in SIXTEEN_BIT_MODES:
                sixteen.append(i)
    if size is None and len(set(sizes)) > 1:
        other = next(i for i, s in enumerate(sizes) if s != sizes[0])
        raise DataFileError(f"the images are of several sizes ({names[0]} {sizes[0][0]}x{sizes[0][1]}, {names[other]} "
                            f"{sizes[other][0]}x{sizes[other][1]}); resize them all with --data size=N (N x N "
                            "pixels, bilinear)")
    if channels == 2:
        raise ConfigError("channels=2: give 1 (grayscale) or 3 (RGB)")
    if channels is None:
        channels = 3 if any(colour) else 1
    width, height = (size, size) if size is not None else sizes[0]
    check_fits(f"image-folder: {len(files):,} images of {channels}x{height}x{width} as float32",
               4 * len(files) * channels * height * width, "resize them (--data size=N) or read the folder in parts")
    stack = np.empty((len(files), channels, height, width), dtype=np.float32)
    for i, (path, name) in enumerate(zip(files, names)):
        with _opened(path, name) as image:
            stack[i] = _channels(_as_array(image, name, size), channels).transpose(2, 0, 1)
    return stack, sixteen


#: 16-bit values below this are a narrower bit depth stored in 16 bits (12-bit X-ray detectors' 0-4095)
NARROW_16_BIT = 4096


def narrow_16_bit_note(sixteen: list[int], X: np.ndarray) -> str | None:
    """A note when the 16-bit images of `X` (at positions `sixteen`) all hold values below :data:`NARROW_16_BIT`:
    12-bit data stored in 16 bits, which the division by 65535 maps to [0, 0.0625], nearly black to a model of
    8-bit or full-range images (an audit: every such image flagged, without a word); None otherwise."""
    if not sixteen:
        return None
    top = float(np.nanmax(X[sixteen])) * 65535.0
    if top >= NARROW_16_BIT - 0.5:
        return None
    return (f"note: the folder's {len(sixteen):,} 16-bit image(s) hold values up to {top:.0f}, below 4096 (12-bit "
            f"data stored in 16 bits?): read as 16-bit they span [0, {top / 65535:.4f}], nearly black to a model of "
            "8-bit or full-range 16-bit images; if the data are 12-bit, rescale them (x16 to the full 16-bit range) "
            "before fitting and scoring")


#: Pillow's 16-bit grayscale modes
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
#: Pillow modes holding one channel (grayscale, 16-bit, 1-bit)
GRAY_MODES = ("1", "L", "LA", *SIXTEEN_BIT_MODES)


def _grey(image) -> bool:
    """Whether `image` holds one channel: a grayscale mode, or a palette whose every colour is a grey (PNG
    optimisers write grayscale images as palette images)."""
    if image.mode in GRAY_MODES:
        return True
    if image.mode != "P":
        return False
    palette = image.getpalette() or []
    return bool(palette) and all(palette[i] == palette[i + 1] == palette[i + 2] for i in range(0, len(palette) - 2, 3))


@contextlib.contextmanager
def _opened(path: Path, name: str):
    """`path` opened by Pillow (its header read, pixels on demand), its failures one DataFileError naming `name`;
    Pillow's decompression-bomb warning is an error here (was: a warning, then the image decoded whole)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                yield image
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise DataFileError(f"{name}: larger than Pillow's limit of {Image.MAX_IMAGE_PIXELS:,} pixels ({exc}); a file "
                            "that small declaring so large an image is a decompression bomb: remove it, or shrink "
                            "the image") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataFileError(f"{name}: not an image Pillow can read ({exc}); remove it or replace it") from None


def _as_array(image, name: str, size: int | None) -> np.ndarray:
    """One image as ``(H, W, 1 or 3)`` float32 in [0, 1]."""
    from PIL import Image

    image.load()
    if image.mode == "P":  # a palette of greys is grayscale (was: read as RGB, so the folder became 3 channels)
        image = image.convert("L" if _grey(image) else "RGBA" if "transparency" in image.info else "RGB")
    if image.mode in SIXTEEN_BIT_MODES:
        scale, image = 65535.0, image.convert("I")
    elif image.mode in ("1", "L", "LA"):
        scale, image = 255.0, image.convert("L")
    elif image.mode in ("RGB", "RGBA", "CMYK", "YCbCr"):
        scale, image = 255.0, image.convert("RGB")
    else:
        raise DataFileError(f"{name}: pixels of mode {image.mode} (32-bit or float) have no fixed range to scale to "
                            "[0, 1]; save it as 8- or 16-bit PNG")
    if size is not None:
        image = image.resize((size, size), Image.BILINEAR)
    array = np.asarray(image, dtype=np.float32) / scale
    return array[..., None] if array.ndim == 2 else array


def _channels(picture: np.ndarray, channels: int) -> np.ndarray:
    if picture.shape[2] == channels:
        return picture
    if channels == 3:  # grayscale repeated
        return np.repeat(picture, 3, axis=2)
    # RGB to grayscale with ITU-R 601-2 luma, as Pillow's convert("L")
    return (picture @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., None]


def claims(path: str) -> bool:
    """A folder holding at least one image file directly or in a subfolder (as :func:`image_files` finds them),
    within the first :data:`MAX_ENTRIES` files and folders."""
    folder = Path(path)
    if not folder.is_dir():
        return False
    try:
        return next(_images_under(folder), None) is not None
    except DataFileError:
        return False
