"""The metric path on Geo-Hgan's published per-tile results (geohgan-roc/<set>/our.csv)."""

import csv

import numpy as np
import pytest
from had.datadir import data_dir
from had.metrics import auroc

EXPECTED = {"dim10chang": (647, 117, 0.8502), "dim10zheng": (2430, 337, 0.6600), "dim39zheng": (2430, 337, 0.7216)}


@pytest.mark.realdata
@pytest.mark.parametrize("area", sorted(EXPECTED))
def test_our_csv_auroc(area):
    path = data_dir() / "geohgan-roc" / area / "our.csv"
    if not path.is_file():
        pytest.skip(f"{path} is not in HAD_DATA_DIR (Geo-Hgan's published ROC CSVs)")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    labels = np.array([int(float(r["labels"])) for r in rows])
    scores = np.array([float(r["scores"]) for r in rows])
    n, n_anom, value = EXPECTED[area]
    assert labels.size == n and int((labels != 0).sum()) == n_anom
    assert round(auroc((labels != 0).astype(int), scores), 4) == value
