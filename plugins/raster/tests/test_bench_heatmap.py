"""`had bench` writes a heat map over the raster for tile sources (DataSource.score_map / truth_map)."""

import numpy as np

import had
from had import bench, plugins
from had.detector import Detector


class TileMean(Detector):
    """Mean tile value: enough to check the plumbing, not a method."""

    name = "tile-mean"
    kinds = ("image",)

    def _fit(self, X, y):
        return None

    def _score(self, X):
        return X.mean(axis=(1, 2, 3))


class _Plugin:
    @staticmethod
    @had.hookimpl
    def register_detectors(register):
        register("tile-mean", TileMean)


def test_bench_writes_a_raster_heat_map(tmp_path):
    plugins.register_plugin(_Plugin, name="tile-mean-test")
    try:
        config = {"synthetic-geochem": {"height": 64, "width": 64, "tile_size": 16, "stride": 8}}
        result = bench.run(["tile-mean"], ["synthetic-geochem"], [0], out=tmp_path, dataset_config=config,
                           echo=lambda line: None)
    finally:
        plugins.unregister_plugin("tile-mean-test")
    assert (tmp_path / "heatmap_synthetic-geochem.png").stat().st_size > 1000
    source = had.get_datasource("synthetic-geochem", config["synthetic-geochem"])
    dataset = source.load()
    picture = source.score_map(dataset, np.arange(dataset.n_samples, dtype=float))
    assert picture.shape == (64, 64) and np.isfinite(picture).all()
    assert source.truth_map(dataset).shape == (64, 64)
    assert len(result.rows) == 1
