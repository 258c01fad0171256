"""Hyperspectral data sources: the known scenes (:class:`HSIScene`) and any user file (:class:`HSIFile`).

Both return a :class:`had.Dataset` whose ``X`` is a float64 cube ``(H, W, B)`` and ``y`` an int64 0/1 map
``(H, W)`` (1 where the file's map is > 0).
"""

from __future__ import annotations

from pathlib import Path

from had import DataSource, DataSourceConfig, Dataset
from had.arrayfiles import read_known, read_user
from had.cubeview import bands_field, crop_truth, nodata_any_band_field, span_field, view_scene
from had.datadir import expand_home, sha256_of
from had.matfile import list_keys, only_array
from had.truth import OptionalName, map_key_field, map_path_field, read_map_file, truth_for
from pydantic import Field, field_validator

from .cube import as_cube, as_map
from .scenes import SCENES


class HSISceneConfig(DataSourceConfig):
    scene: str = Field(..., description=f"a known scene: {', '.join(SCENES)}")

    @field_validator("scene")
    @classmethod
    def _known_scene(cls, value: str) -> str:
        if value not in SCENES:
            raise ValueError(f"unknown scene {value!r}; known scenes: {', '.join(SCENES)}")
        return value


class HSIScene(DataSource):
    """A known benchmark scene, read from ``$HAD_DATA_DIR`` and verified against its sha256."""

    name = "hsi-scene"
    Config = HSISceneConfig
    kind = "cube"
    named_by = ("scene",)  # its registered scene is the dataset: a setting cannot swap it
    default_protocol = "transductive"

    def known_files(self):
        """The scene's file (`had data fetch` downloads it)."""
        return [SCENES[self.config.scene].file]

    def load(self) -> Dataset:
        scene = SCENES[self.config.scene]
        arrays, where, meta = read_known(scene.file, [scene.data_key, scene.map_key], scene.description)
        X = as_cube(arrays[scene.data_key], where)
        return Dataset(scene.name, X, as_map(arrays[scene.map_key], X.shape, where), meta=meta)


DEFAULT_MAP_KEY = "map"


class HSIFileConfig(DataSourceConfig):
    path: str = Field(..., description="a .mat (MATLAB 5 or v7.3) or .npz file holding the cube")
    data_key: str = Field("data", description="key of the (H, W, B) cube")
    # OptionalName: ``--data map_key=None`` (as the docs write it) or ``null``/empty means no key, not "None"
    map_key: OptionalName = Field(DEFAULT_MAP_KEY, description="key of the (H, W) ground truth (anomaly where > 0); "
                                  "null/None: no truth (as for a file holding the cube alone)")
    map_path: OptionalName = Field(None, description="a second file holding the map (.mat/.npz/.npy, a single-band "
                                   "GeoTIFF or ENVI image), when the data and the mask ship apart (HYDICE, Pavia); "
                                   "default: the map is in `path`")
    bands: str | int | None = Field(None, description="bands to use, 1-based ranges such as 1-103,109-149 (leave "
                                    "out water absorption bands); default: every band (the model records it: had "
                                    "score repeats it)")
    rows: str | int | None = span_field("rows")
    cols: str | int | None = span_field("cols")


class HSIFile(DataSource):
    """Any hyperspectral cube ``(H, W, B)`` (non-square is fine) from your own `.mat` or `.npz` file."""

    name = "hsi-file"
    Config = HSIFileConfig
    kind = "cube"
    default_protocol = "transductive"

    def load(self) -> Dataset:
        cfg = self.config
        map_path = expand_home(cfg.map_path) if cfg.map_path else None
        map_key = cfg.map_key if (cfg.map_key or map_path) else None
        keys, data_key = set(list_keys(cfg.path)), cfg.data_key
        if data_key not in keys and len(keys) == 1 and "data_key" not in cfg.model_fields_set:
            only = only_array(cfg.path)
            data_key = only[0] if only is not None and only[1] == 3 else data_key  # one 3-D array, any name
        if map_path is None and map_key == DEFAULT_MAP_KEY and keys == {data_key}:
            map_key = None  # a file holding the cube alone is a scene without truth; with other arrays, say which
        arrays, path, meta = read_user(cfg.path, [data_key, map_key if map_path is None else None])
        X = as_cube(arrays[data_key], str(path))
        y = None
        if map_path is not None:
            y = as_map(read_map_file(map_path, map_key), X.shape, str(map_path))
            meta.update(map_path=str(map_path), map_sha256=sha256_of(map_path))
        elif map_key:
            y = as_map(arrays[map_key], X.shape, str(path))
        X, meta = view_scene(X, meta, path.name, cfg.bands, rows=cfg.rows, cols=cfg.cols)  # in memory: a copy
        return Dataset(path.stem, X, crop_truth(y, meta), meta=meta)


class ENVIFileConfig(DataSourceConfig):
    path: str = Field(..., description="the ENVI header (.hdr), or its data file (.img/.dat/.raw) with the header beside it")
    map_path: OptionalName = map_path_field()
    map_key: OptionalName = map_key_field()
    bands: str | int | None = bands_field()
    nodata_any_band: bool = nodata_any_band_field()
    rows: str | int | None = span_field("rows")
    cols: str | int | None = span_field("cols")
    check_interleave: bool = Field(True, description="refuse a header whose interleave reads the data file as a "
                                   "scrambled cube where another interleave reads it as a scene; false: read it as "
                                   "the header declares")


class ENVIFile(DataSource):
    """An ENVI scene (BSQ, BIL or BIP), memory-mapped: ``X`` is a read-only ``np.memmap`` ``(H, W, B)``.

    ``meta`` carries the wavelengths and the georeferencing (``transform``, ``crs``; see :mod:`had_hsi.envi`).
    :meth:`open` returns the scene without reading it (for tile-by-tile scoring); :meth:`load` returns a
    :class:`had.Dataset`, whose validation reads the file once.
    """

    name = "envi-file"
    Config = ENVIFileConfig
    kind = "cube"
    default_protocol = "transductive"

    def open(self):
        from had.tiling import LazyScene

        from .envi import open_envi

        cfg = self.config
        cube, meta = open_envi(expand_home(cfg.path), cfg.check_interleave)
        y = None
        if cfg.map_path:
            y = truth_for(cfg.map_path, cube.shape, cfg.map_key, scene_meta=meta)
            meta.update(map_path=str(expand_home(cfg.map_path)))
        cube, meta = view_scene(cube, meta, Path(meta["path"]).name, cfg.bands, cfg.nodata_any_band, cfg.rows, cfg.cols)
        return LazyScene(Path(meta["path"]).stem, cube, meta, y=crop_truth(y, meta))

    def load(self) -> Dataset:
        scene = self.open()
        return Dataset(scene.name, scene.X, scene.y, meta=scene.meta)
