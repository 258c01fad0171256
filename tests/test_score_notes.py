"""`had score MODEL DATA` says when its metrics are on the data the model was fitted on (was: `had score m_memdae
pneumoniamnist`, whose default split=all holds the 388 normal training images, printed AUROC 0.7247 without a
word; 0.5047 on the test part)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pydantic import Field

import had
from had import DataSource, DataSourceConfig, Dataset, plugins
from had.cli import main
from had.protocols import one_class

ON_TRAINING = "the metrics are on training data"


def _table(seed: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(200, 4))
    y = np.zeros(200, dtype=np.int64)
    y[:10] = 1
    X[:10] += 4.0
    return X, y


def test_scoring_the_fitted_rows_says_the_metrics_are_on_training_data(tmp_path, capsys):
    for name, seed in (("fit", 0), ("other", 1)):
        X, y = _table(seed)
        np.save(tmp_path / f"{name}.npy", X)
        np.save(tmp_path / f"{name}_y.npy", y)
    model = str(tmp_path / "m")
    main(["fit", "rx", str(tmp_path / "fit.npy"), "-o", model])
    capsys.readouterr()
    main(["score", model, str(tmp_path / "fit.npy"), "--data", f"labels={tmp_path / 'fit_y.npy'}"])
    out = capsys.readouterr().out
    assert f"note: these are the data {model} was fitted on" in out and ON_TRAINING in out
    main(["score", model, str(tmp_path / "fit.npy"), "--data", f"labels={tmp_path / 'fit_y.npy'}", "--json"])
    assert ON_TRAINING in json.loads(capsys.readouterr().out)["metrics_note"]
    main(["score", model, str(tmp_path / "other.npy"), "--data", f"labels={tmp_path / 'other_y.npy'}"])
    out = capsys.readouterr().out
    assert "auroc" in out and "note" not in out  # other rows: held-out metrics, nothing to say


class PartsConfig(DataSourceConfig):
    split: str = Field("all", description="all, or train: the normal training rows without labels")


class Parts(DataSource):
    """A table with train/val/test parts, as the image sources define them (``meta["split_index"]``)."""

    name = "parts-table"
    Config = PartsConfig

    def load(self) -> Dataset:
        X, y = _table(2)
        index = {"train": np.arange(0, 120), "val": np.arange(120, 160), "test": np.arange(160, 200)}
        data = Dataset("parts-table", X, y, meta={"split_index": index})
        return one_class(data).train if self.config.split == "train" else data


class PartsPlugin:
    @staticmethod
    @had.hookimpl
    def register_datasources(register):
        register("parts-table", Parts)


def test_scoring_data_that_hold_the_training_part_says_so(tmp_path, capsys):
    plugins.register_plugin(PartsPlugin, name="parts-plugin")
    model = str(tmp_path / "m")
    main(["fit", "rx", "parts-table", "--data", "split=train", "-o", model])
    capsys.readouterr()
    main(["score", model, "parts-table"])
    out = capsys.readouterr().out
    fitted = int((_table(2)[1][:120] == 0).sum())
    assert (f"note: parts-table holds the {fitted} samples {model} was fitted on (the normal samples of its training "
            "part") in out
    assert "the metrics are partly on training data (--data split=test scores the test part alone)" in out


def test_a_transductive_model_on_another_scene_says_its_threshold_is_not_this_ones(tmp_path, capsys):
    """LREN fitted on abu-beach-3 and scored on abu-beach-1 flagged 22,500 of 22,500 pixels without a word; on its
    own scene it says nothing (fitting and measuring one scene is what a transductive method does)."""
    import pytest

    pytest.importorskip("had_lren")
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        cube = rng.normal(size=(10, 9, 5)) * (1.0 if name == "a" else 4.0)
        np.save(tmp_path / f"{name}.npy", cube)
    model = str(tmp_path / "m")
    main(["fit", "lren", str(tmp_path / "a.npy"), "-o", model, "--set", "epochs=1", "--set", "restarts=1",
          "--set", "progress=false"])
    capsys.readouterr()
    main(["score", model, str(tmp_path / "b.npy"), "-o", str(tmp_path / "b_map.npy"), "--engine", "eager"])
    out = capsys.readouterr().out
    assert "note: lren is transductive" in out and "means nothing here" in out
    main(["score", model, str(tmp_path / "a.npy"), "-o", str(tmp_path / "a_map.npy"), "--engine", "eager"])
    assert "is transductive" not in capsys.readouterr().out


def test_a_model_saved_before_the_blocks_fingerprint_is_compared_in_its_own_form(tmp_path, capsys):
    """A manifest without ``training_data_sha256_scheme`` holds the plain sha256 (models saved before 6 December
    2026): the data scored are hashed that way for it, so the note still tells its training rows."""
    import hashlib

    X, y = _table(0)
    np.save(tmp_path / "fit.npy", X)
    np.save(tmp_path / "fit_y.npy", y)
    model = tmp_path / "m"
    main(["fit", "rx", str(tmp_path / "fit.npy"), "-o", str(model)])
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest["training_data_sha256_scheme"] == "sha256-blocks-16MiB-c-le"
    assert manifest["training_data_sha256"] != hashlib.sha256(X.tobytes()).hexdigest()
    del manifest["training_data_sha256_scheme"]
    manifest["training_data_sha256"] = hashlib.sha256(X.tobytes()).hexdigest()  # as had wrote it then
    (model / "manifest.json").write_text(json.dumps(manifest))
    assert had.load(model).training_sha256_scheme_ == "sha256"
    capsys.readouterr()
    main(["score", str(model), str(tmp_path / "fit.npy"), "--data", f"labels={tmp_path / 'fit_y.npy'}"])
    assert f"note: these are the data {model} was fitted on" in capsys.readouterr().out
    manifest["training_data_sha256_scheme"] = "md5"  # a form had does not know: the manifest is refused
    (model / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(had.ArtifactError, match="training_data_sha256_scheme"):
        had.load(model)
