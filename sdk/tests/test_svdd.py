"""``had_sdk.svdd``: Deep SVDD's hypersphere rules, one copy for deepsad's and cxr's detectors (were written in
both plugins)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from had_sdk.svdd import away_from_zero, radius, soft_boundary_loss  # noqa: E402


def test_coordinates_near_zero_move_to_plus_or_minus_eps_and_the_rest_stay():
    c = torch.tensor([0.0, -0.0, 0.05, -0.05, 0.1, -0.1, 0.3, -2.0])
    got = away_from_zero(c, 0.1).tolist()
    assert got == pytest.approx([0.1, 0.1, 0.1, -0.1, 0.1, -0.1, 0.3, -2.0])
    assert got[4] == pytest.approx(0.1) and away_from_zero(torch.tensor([1e-9]), 0.0).tolist() == [pytest.approx(1e-9)]


def test_the_radius_is_the_one_minus_nu_quantile_of_the_distances():
    dist = torch.tensor([1.0, 4.0, 9.0, 16.0, 25.0])  # distances 1..5
    assert float(radius(dist, 0.25)) == pytest.approx(np.quantile([1, 2, 3, 4, 5], 0.75))
    assert float(radius(dist, 0.0)) == pytest.approx(5.0)
    assert radius(dist.float(), 0.1).dtype == torch.float32


def test_the_soft_boundary_loss_charges_only_what_lies_outside_the_sphere():
    dist = torch.tensor([0.5, 1.0, 3.0, 5.0])
    R = torch.tensor(1.0)
    # R^2 + mean(max(0, d - R^2)) / nu = 1 + (0 + 0 + 2 + 4) / 4 / 0.5
    assert float(soft_boundary_loss(dist, R, 0.5)) == pytest.approx(1 + 1.5 / 0.5)
    assert float(soft_boundary_loss(torch.tensor([0.1, 0.2]), R, 0.1)) == pytest.approx(1.0)
