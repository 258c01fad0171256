"""``had_sdk.nn``'s scalers judge "no spread" relative to a feature's magnitude (a numeric-edge audit): an absolute
1e-12 left a feature varying at the 1e-13 scale unscaled, and the autoencoder missed outliers planted in it (AUROC
0.377 against 0.992 at unit scale); a constant float64 feature whose mean is off by a rounding step still keeps
std 1."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from had_sdk.nn import MinMaxScale, Standardize  # noqa: E402


@pytest.mark.parametrize("scale", [1.0, 1e-13, 1e-30, 1e12])
def test_a_feature_at_any_scale_is_scaled_alike(scale):
    X = np.random.default_rng(0).normal(size=(300, 3))
    X[:, 1] *= scale
    out = Standardize(3).fit(X)(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(out.std(axis=0), 1.0, rtol=1e-6)  # float32 buffers
    span = MinMaxScale(3).fit(X)(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(span.min(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(span.max(axis=0), 1.0, rtol=1e-6)


@pytest.mark.parametrize("value", [0.0, 0.1, 1234.567])
def test_a_constant_feature_is_centred_not_divided(value):
    X = np.random.default_rng(0).normal(size=(300, 3))
    X[:, 1] = value
    scaler = Standardize(3).fit(X)
    assert float(scaler.std[1]) == 1.0
    assert float(MinMaxScale(3).fit(X).span[1]) == 1.0
