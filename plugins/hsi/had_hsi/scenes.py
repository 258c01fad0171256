"""The hyperspectral scenes this plugin knows: file, sha256, public source, keys, shape and anomaly count.

Pure data (no numpy, no scipy), so that the plugin module can register every scene without loading anything.
The files are never downloaded by `had`: put them under ``$HAD_DATA_DIR`` (see :mod:`had.datadir`).
"""

from __future__ import annotations

from dataclasses import dataclass

from had.datadir import KnownFile
from had.errors import HadError

_RAW = "https://raw.githubusercontent.com"
LREN_REPO = f"{_RAW}/xdjiangkai/LREN/main"
BS3LNET_REPO = f"{_RAW}/DegangWang97/IEEE_TGRS_BS3LNet/main"
ABU_REPO = f"{_RAW}/helloworld-123456789/HSI-Anomaly-Dection/main/datasets/Airport-Beach-Urban%20(ABU)"
GATORSENSE_REPO = f"{_RAW}/GatorSense/hsi_toolkit_py/master"

ABU_CITATION = (
    "X. Kang, X. Zhang, S. Li, K. Li, J. Li, J. A. Benediktsson, \"Hyperspectral Anomaly Detection With Attribute "
    "and Edge-Preserving Filters\", IEEE TGRS 55(10), 2017; http://xudongkang.weebly.com/data-sets.html"
)
LREN_CITATION = (
    "K. Jiang, W. Xie, J. Lei, T. Jiang, Y. Li, \"LREN: Low-Rank Embedded Network for Sample-Free Hyperspectral "
    "Anomaly Detection\", AAAI 2021; data as distributed in github.com/xdjiangkai/LREN"
)
BS3LNET_CITATION = (
    "L. Gao, D. Wang, L. Zhuang, X. Sun, M. Huang, A. Plaza, \"BS3LNet: A New Blind-Spot Self-Supervised Learning "
    "Network for Hyperspectral Anomaly Detection\", IEEE TGRS 61, 2023, doi:10.1109/TGRS.2023.3246565; data as "
    "distributed in github.com/DegangWang97/IEEE_TGRS_BS3LNet"
)
MUUFL_CITATION = (
    "P. Gader, A. Zare, R. Close, J. Aitken, G. Tuell, \"MUUFL Gulfport Hyperspectral and LiDAR Airborne Data Set\", "
    "University of Florida, Tech. Rep. REP-2013-570, 2013; 36x36 crop from github.com/GatorSense/hsi_toolkit_py (MIT)"
)


@dataclass(frozen=True)
class Scene:
    """One known scene: its file and how to read it, with the facts the tests check."""

    name: str
    file: KnownFile
    shape: tuple[int, int, int]
    n_anomalies: int
    description: str
    data_key: str = "data"
    map_key: str = "map"


def _scene(name, relpath, sha256, url, citation, shape, n_anomalies, description, **keys) -> Scene:
    return Scene(name, KnownFile(relpath, sha256, url, citation), shape, n_anomalies, description, **keys)


_LREN_AVIRIS = f"{LREN_REPO}/datasets/avirs"

#: Every known scene by registered name.
SCENES: dict[str, Scene] = {
    s.name: s
    for s in (
        _scene("sandiego_plane", "hsi/sandiego_plane.mat",
               "9800a9fbd9d043c46171b14c5ef1077f57be287ccf3a61198cc1746b6217d2cb",
               f"{_LREN_AVIRIS}/sandiego_plane.mat", f"AVIRIS San Diego airport; {LREN_CITATION}",
               (100, 100, 189), 134, "AVIRIS San Diego airport, three planes (LREN's SanDiego)"),
        _scene("hydice", "hsi/HYDICE_data.mat",
               "04a1795af7648b16fb305d3aedbd2e4534b9c0899ecbe7f5b387af2e274b124c",
               f"{_LREN_AVIRIS}/HYDICE_data.mat", f"HYDICE urban; {LREN_CITATION}",
               (100, 80, 162), 19, "HYDICE urban scene, vehicles (LREN's Hydice; non-square)"),
        _scene("hydice-ii", "hsi/HYDICE-II.mat",
               "71901078803632279195daa9070697ce353f601e1948b62cf443eea42c03bd7a",
               f"{BS3LNET_REPO}/data/HYDICE-II.mat", f"HYDICE urban; {BS3LNET_CITATION}",
               (80, 60, 162), 10, "HYDICE urban crop used by BS3LNet (non-square)"),
        _scene("abu-airport-1", "hsi/abu-airport-1.mat",
               "0705395c9922948083bdd60a2889300c30d17d901648849705b4f35157b8c780",
               f"{ABU_REPO}/abu-airport-1.mat", ABU_CITATION,
               (100, 100, 205), 144, "ABU Airport-1 (AVIRIS), planes"),
        _scene("abu-airport-3", "hsi/abu-airport-3.mat",
               "97b574be2de8c1ae3158b60b4aa34676c59a218398fc096c0dcdf125a6c74495",
               f"{ABU_REPO}/abu-airport-3.mat", ABU_CITATION,
               (100, 100, 205), 170, "ABU Airport-3 (AVIRIS), planes"),
        _scene("abu-beach-1", "hsi/abu-beach-1.mat",
               "b1fa88474fbc06f2e654e4452d8f7f98757c199197e2b7fec1977a5c5753fcb0",
               f"{ABU_REPO}/abu-beach-1.mat", ABU_CITATION,
               (150, 150, 188), 19, "ABU Beach-1 (AVIRIS, Cat Island)"),
        _scene("abu-beach-3", "hsi/abu-beach-3.mat",
               "56622ebe89aa1a37aced4b41286eb0a045677553f637c63f90c8222f1027f576",
               f"{ABU_REPO}/abu-beach-3.mat", ABU_CITATION,
               (100, 100, 188), 11, "ABU Beach-3 (AVIRIS)"),
        _scene("abu-beach-4", "hsi/abu-beach-4.mat",
               "bd020d4c649141e5aee2e25dae9a96d1ca8a1d180ddf3e32597494cd9c5b4c11",
               f"{_LREN_AVIRIS}/abu-beach-4.mat", f"{ABU_CITATION}; {LREN_CITATION}",
               (100, 100, 102), 68, "ABU Beach-4 (ROSIS Pavia, scaled to [0, 1]; LREN's Pavia)"),
        _scene("abu-urban-1", "hsi/abu-urban-1.mat",
               "951d8d9c405d7ae200634dfd5244586545c01a561b1028f0e65e09e562523942",
               f"{ABU_REPO}/abu-urban-1.mat", ABU_CITATION,
               (100, 100, 204), 67, "ABU Urban-1 (AVIRIS, Texas Coast)"),
        _scene("abu-urban-2", "hsi/abu-urban-2.mat",
               "97aca40840b854a04ebd7852cb59f3b5a40b8df6c02a274ac81fbc64efe00637",
               f"{_LREN_AVIRIS}/abu-urban-2.mat", f"{ABU_CITATION}; {LREN_CITATION}",
               (100, 100, 198), 155, "ABU Urban-2 (AVIRIS, 198 bands; LREN's Coast)"),
        _scene("abu-urban-4", "hsi/abu-urban-4.mat",
               "6d6b81c9688f883a9ca59ff99ebc8053c5be1a14099960c460ba420d8507e676",
               f"{ABU_REPO}/abu-urban-4.mat", ABU_CITATION,
               (100, 100, 205), 272, "ABU Urban-4 (AVIRIS)"),
        _scene("muufl-crop", "hsi/muufl-crop.mat",
               "916cac91baeca5a5c2ca102ab18eaf74ec92b928a9a0703b99f4738295b6ccd5",
               f"{GATORSENSE_REPO}/signature_detectors/an_hsi_img_for_tgt_det_demo.mat", MUUFL_CITATION,
               (36, 36, 72), 3, "MUUFL Gulfport 36x36 crop (tiny real scene for fast tests)",
               data_key="hsi_sub", map_key="gtImg_sub"),
    )
}


def _lren_map(scene: str, folder: str, filename: str, sha256: str) -> KnownFile:
    stem = SCENES[scene].file.relpath.rsplit("/", 1)[-1].removesuffix(".mat")
    url = f"{LREN_REPO}/detection_results/{folder}/{filename}".replace(" ", "%20")
    return KnownFile(f"hsi/lren-results/{stem}.lren-map.mat", sha256, url, LREN_CITATION)


#: LREN's published detection maps (key ``array``, (H, W) float64 in [0, 1]) by scene name.
LREN_MAPS: dict[str, KnownFile] = {
    "sandiego_plane": _lren_map(
        "sandiego_plane", "sandiego_plane", "sandiego_planeEnergy-map-cluster centers=7hidden nodes=9,lam=0.01.mat",
        "dab9390c43d7c12f9980ad841918feca33302b25c96cc0e2d8d2603d6884f94b"),
    "hydice": _lren_map(
        "hydice", "HYDICE_data", "HYDICE_dataEnergy-map-cluster centers=7hidden nodes=9,lam=0.01.mat",
        "fb07caa3d875632a00b6ef26da9f0d59089f8ef8e9e1bcbe53ff506b0ff6574d"),
    "abu-beach-4": _lren_map(
        "abu-beach-4", "abu-beach-4", "abu-beach-4Energy-map-cluster centers=7hidden nodes=9,lam=0.0001.mat",
        "779ce5d407d447ca9f10a2a1687b4611dcb1d46d3ada0dd34e690efa8f4baa16"),
}


def known_files() -> list[KnownFile]:
    """Every file this plugin can read: the scenes, then LREN's published maps."""
    return [s.file for s in SCENES.values()] + list(LREN_MAPS.values())


class UnknownSceneError(HadError, KeyError):
    """A scene name this plugin does not know."""

    def __init__(self, name: str, known: list[str], what: str = "scene"):
        self.name, self.known = name, sorted(known)
        super().__init__(f"unknown {what} {name!r}; known: {', '.join(self.known)}")

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return self.args[0]
