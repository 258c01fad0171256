"""PyOD's deep models on training rows that are all equal (a numeric-edge audit)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyod")
pytest.importorskip("torch")


@pytest.mark.parametrize("name", ["pyod-deepsvdd", "pyod-autoencoder"])
def test_all_equal_training_rows_are_refused_in_one_line(name, tmp_path, capsys):
    """Was, for pyod-deepsvdd: PyOD's "the hypersphere center is all zeros ... Pass c=None" (a setting had does not
    offer), called the plugin's fault (a numeric-edge audit)."""
    from had_sdk.testing import run_cli

    np.save(tmp_path / "x.npy", np.full((200, 4), 3.0))
    code, _, err = run_cli(capsys, "fit", name, str(tmp_path / "x.npy"), "-o", str(tmp_path / "m"), "--set", "epochs=2")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "the 200 training samples are all equal (no feature varies)" in err and "plugin" not in err
    assert not (tmp_path / "m").exists()
