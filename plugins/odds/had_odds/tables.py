"""The tables this plugin knows: file, sha256, public source, keys, shape and outlier count.

Pure data (no scipy), so that the plugin module can register every table without loading anything.
The files are never downloaded by `had`: put them under ``$HAD_DATA_DIR`` (see :mod:`had.datadir`).
"""

from __future__ import annotations

from dataclasses import dataclass

from had.datadir import KnownFile

PYOD_DATA = "https://raw.githubusercontent.com/yzhao062/pyod/master/notebooks/data"
ADBENCH_CLASSICAL = "https://raw.githubusercontent.com/Minqi824/ADBench/main/adbench/datasets/Classical"

ODDS_CITATION = (
    "S. Rayana (2016). ODDS Library [http://odds.cs.stonybrook.edu]. Stony Brook, NY: Stony Brook University, "
    "Department of Computer Science"
)
ADBENCH_CITATION = (
    "S. Han, X. Hu, H. Huang, M. Jiang, Y. Zhao, \"ADBench: Anomaly Detection Benchmark\", NeurIPS 2022 "
    "Datasets and Benchmarks; github.com/Minqi824/ADBench"
)


@dataclass(frozen=True)
class Table:
    """One known table: its file and how to read it, with the facts the tests check."""

    name: str
    file: KnownFile
    n_samples: int
    n_features: int
    n_outliers: int
    description: str
    x_key: str = "X"
    y_key: str = "y"


def _odds(name: str, sha256: str, n: int, d: int, outliers: int, uci: str) -> Table:
    citation = f"{ODDS_CITATION}; originally the UCI Machine Learning Repository {uci} data set"
    file = KnownFile(f"odds/{name}.mat", sha256, f"{PYOD_DATA}/{name}.mat", citation)
    return Table(name, file, n, d, outliers, f"ODDS {name} (UCI {uci})")


#: Every known table by registered name.
TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("thyroid",
              KnownFile("odds/thyroid.npz", "8de161b3f235b7647bb0b39a836d983ff61d67bf234edac461da2d71e889cb87",
                        f"{ADBENCH_CLASSICAL}/38_thyroid.npz",
                        f"{ADBENCH_CITATION}; {ODDS_CITATION}; originally the UCI Thyroid Disease data set"),
              3772, 6, 93, "thyroid (ADBench's copy of ODDS thyroid; UCI Thyroid Disease)"),
        _odds("arrhythmia", "e4d47e499591ae31e5d7f0cd983367092353eac240f48e14c9b36457edb3460d", 452, 274, 66,
              "Arrhythmia"),
        _odds("cardio", "5e568b6a73711012c481fa6cc984ab9c68e9a4fa44d6aeb3b43efa381c3f695b", 1831, 21, 176,
              "Cardiotocography"),
        _odds("musk", "50bbf414caceb66cfe6f6b1eb7c1ff7c6eb1e6d87173f7bb597ba55cd3dc5493", 3062, 166, 97,
              "Musk (Version 2)"),
        _odds("satellite", "6feac3112b9c14e1c3e60afc437f2f3d29dc1000119c9f950c628078778d6aa0", 6435, 36, 2036,
              "Statlog (Landsat Satellite)"),
        _odds("satimage-2", "95c37a07cea2cb201f6900d14f521510e10b6b2f0074c06ac46d3157440ec67b", 5803, 36, 71,
              "Statlog (Landsat Satellite)"),
        _odds("shuttle", "b6e396c92354d5dcf5036901e36dc58e2913f2d1a5e138c35a2bedf9c69db899", 49097, 9, 3511,
              "Statlog (Shuttle)"),
    )
}


def known_files() -> list[KnownFile]:
    """Every file this plugin can read."""
    return [t.file for t in TABLES.values()]
