"""The stabilised LREN's changes, each against a direct computation: the rotation-invariant covariance penalty,
the ridge relative to the latent scale, atoms kept away from the latent tail, the LRR's whitened space; and the
behaviour they exist for: the mixture does not collapse where the reference's does."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import had
from had_lren import lrr as L
from had_lren.network import gmm_parameters, lren_loss

from lren_testdata import SCENE, latent_batch


@pytest.fixture
def batch():
    return latent_batch(seed=1, n=300)


def test_trace_penalty_is_the_trace_of_each_regularised_inverse_covariance(batch):
    z, gamma = batch
    x = torch.zeros(z.shape[0], 2, dtype=torch.float64)
    _, _, sigma = gmm_parameters(z, gamma)
    eye = np.eye(z.shape[1])
    trace = sum(np.trace(np.linalg.inv(s + 1e-6 * eye)) for s in sigma.numpy())
    without = float(lren_loss(x, z, x, gamma, 0.1, 0.0, cov_penalty="trace"))
    with_penalty = float(lren_loss(x, z, x, gamma, 0.1, 1e-4, cov_penalty="trace"))
    assert with_penalty - without == pytest.approx(1e-4 * trace, rel=1e-9)
    # rotation invariance: the trace penalty of rotated codes is the same, the diagonal one is not
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(4, 4)))
    zr = z @ torch.from_numpy(q)
    for penalty, same in (("trace", True), ("diag", False)):
        a = float(lren_loss(x, z, x, gamma, 0.0, 1.0, cov_penalty=penalty))
        b = float(lren_loss(x, zr, x, gamma, 0.0, 1.0, cov_penalty=penalty))
        assert bool(a == pytest.approx(b, rel=1e-9)) is same


def test_relative_ridge_makes_the_energy_follow_the_scale_of_the_codes(batch):
    """With the ridge relative to the latent variance, shrinking the codes by c changes every sample's energy
    by exactly d log c (a density of scaled data); with the fixed ridge the ridge dominates small codes."""
    z, gamma = batch
    x = torch.zeros(z.shape[0], 2, dtype=torch.float64)
    d, c = z.shape[1], 1e-4
    for relative, exact in ((True, True), (False, False)):
        big = float(lren_loss(x, z, x, gamma, 1.0, 0.0, eps=1e-3, relative_ridge=relative))
        small = float(lren_loss(x, c * z, x, gamma, 1.0, 0.0, eps=1e-3, relative_ridge=relative))
        assert bool(small - big == pytest.approx(d * np.log(c), rel=1e-9)) is exact


def test_excluded_rows_never_become_atoms():
    rng = np.random.default_rng(0)
    gamma = rng.dirichlet(np.ones(4), size=200)
    allowed = np.ones(200, dtype=bool)
    reference = L.select_atoms(gamma)
    allowed[reference] = False  # every atom the reference would pick is now excluded
    atoms = L.select_atoms(gamma, allowed)
    assert allowed[atoms].all() and len(atoms) >= 2
    cluster = gamma.argmax(axis=1)
    for k in np.unique(cluster[atoms]):  # still the largest/smallest membership among the allowed members
        members = np.flatnonzero((cluster == k) & allowed)
        assert {int(members[gamma[members, k].argmax()]), int(members[gamma[members, k].argmin()])} <= set(atoms)


def test_whitening_floors_collapsed_directions():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(500, 3)) * np.array([10.0, 1.0, 1e-9])
    mean, matrix, distance = L.whitening(z, floor=1e-6)
    white = (z - mean) @ matrix
    variances = np.sort(np.diag(np.cov(white.T)))
    np.testing.assert_allclose(variances[1:], 1.0, rtol=1e-6)
    assert variances[0] < 1e-6  # the collapsed direction is scaled by floor^-1/2 of the largest, not blown up
    np.testing.assert_allclose(distance, np.einsum("ij,ij->i", white, white))


def test_stabilised_training_keeps_the_mixture_away_from_collapse(scene, fitted):
    """Same scene, seed, epochs and latent width: the reference's mixture covariances thin out by orders of
    magnitude more than the stabilised default's (the collapse the stabilisation exists to stop)."""
    X, _ = scene
    reference = had.get_detector("lren-reference", **SCENE, latent=fitted.config.latent).fit(X)

    def condition(det):
        return min(np.linalg.eigvalsh(s).min() / np.linalg.eigvalsh(s).max() for s in det.gmm_["sigma"])

    assert condition(fitted) > 30 * condition(reference)


def test_defaults_are_the_frozen_design_and_the_reference_keeps_its_own():
    """The third design round's choice (choice_log.md): 6 restarts of 10 epochs, in a latent space of 32 dimensions
    since the seventh round (16 in the third),
    with the fourth and fifth (speed) rounds' ADMM capped at 15 iterations at rho 1.44, the mixture energy in float32
    and the lean mixture ops;
    `lren-reference` keeps the reference's 1000 epochs, latent 9 and no restarts; a fit builds what the config says."""
    cfg = had.get_detector("lren").config
    assert (cfg.epochs, cfg.restarts, cfg.latent, cfg.lrr_lambda) == (10, 6, 32, 0.01)
    assert (cfg.cov_penalty, cfg.relative_ridge, cfg.atom_exclusion, cfg.lrr_space) == ("trace", True, 0.05,
                                                                                       "whitened")
    assert cfg.lrr_svt == "gram"  # a speed choice, not a design one: the same scores to float32 rounding
    assert (cfg.lrr_tol, cfg.gmm_float64) == (1e-8, False)  # the fourth (speed) round's
    assert (cfg.lrr_max_iter, cfg.lrr_rho, cfg.lean_mixture) == (15, 1.44, True)  # the fifth's
    ref = had.get_detector("lren-reference").config
    assert cfg.lrr_float32 and not ref.lrr_float32  # the ninth round's; the reference solves in float64
    assert (ref.epochs, ref.latent, ref.cov_penalty, ref.lrr_space, ref.lrr_svt) == (1000, 9, "diag", "latent",
                                                                                     "svd")
    assert (ref.lrr_max_iter, ref.lrr_rho, ref.gmm_float64, ref.lean_mixture) == (500, 1.2, True, False)
    X = np.random.default_rng(0).normal(size=(200, 12)).astype(np.float32)
    det = had.get_detector("lren", restarts=1, epochs=1, hidden=8, batch_size=64).fit(X)
    assert det.embed(X)[0].shape == (200, 32)


def test_lean_mixture_is_the_same_loss_and_gradients_to_float32_rounding():
    """`lean_mixture`: the memberships' softmax in elementwise ops and the relative ridge from the mixture's
    moments; values and gradients equal the plain form's to float32 rounding."""
    import torch

    from had_lren.network import lean_softmax, lren_loss

    g = torch.Generator().manual_seed(4)
    x, xhat = torch.randn(512, 20, generator=g), torch.randn(512, 20, generator=g)
    z0 = torch.randn(512, 6, generator=g) * torch.tensor([3.0, 1.0, 0.5, 0.2, 2.0, 1.0]) + 0.7
    l0 = torch.randn(512, 4, generator=g) * 3
    torch.testing.assert_close(lean_softmax(l0), torch.softmax(l0, dim=-1), rtol=1e-6, atol=1e-7)
    results = []
    for lean in (False, True):
        z, logits = z0.clone().requires_grad_(), l0.clone().requires_grad_()
        gamma = lean_softmax(logits) if lean else torch.softmax(logits, dim=-1)
        loss = lren_loss(x, z, xhat, gamma, 0.1, 1e-4, 1e-2, None, "trace", True, lean_ridge=lean)
        loss.backward()
        results.append((loss.detach(), z.grad, logits.grad))
    for plain, lean in zip(*results):
        torch.testing.assert_close(lean, plain, rtol=1e-4, atol=1e-6)
    # the ridge is large here (1e-2 x the mean variance), so a wrong variance would show in the loss
    wrong = lren_loss(x, z0, xhat, torch.softmax(l0, -1), 0.1, 1e-4, 2e-2, None, "trace", True)
    assert abs(float(wrong) - float(results[0][0])) > 1e-4 * abs(float(results[0][0]))


def test_the_readme_states_every_stabilised_value():
    """The README's field table gives `lren`'s value of every field the stabilised default changes, in bold: the
    table said latent 16 for a round after the default became 32, which no test caught."""
    import re
    from pathlib import Path

    from had_lren.detector import STABILISED

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    rows = {m.group(1): m.group(2).strip() for m in re.finditer(r"^\| `([a-z_0-9]+)` \| ([^|]+) \|", readme, re.M)}
    for field, value in STABILISED.items():
        shown = f'`"{value}"`' if isinstance(value, str) else str(value)
        assert rows.get(field) == f"**{shown}**", (field, rows.get(field), shown)


def test_the_mixture_node_has_autograd_s_value_and_gradients():
    """had_lren.mixture_node (the stabilised terms' hand-written backward) against autograd through the plain
    form of the same terms: float64 to 1e-10, float32 to its rounding; a zero weight removes its term."""
    import torch

    from had_lren.mixture_node import mixture_terms
    from had_lren.network import lren_loss

    g = torch.Generator().manual_seed(2)
    z64 = torch.randn(600, 5, generator=g, dtype=torch.float64) @ torch.randn(5, 5, generator=g, dtype=torch.float64)
    l64 = torch.randn(600, 3, generator=g, dtype=torch.float64) * 2
    zeros = torch.zeros(600, 1, dtype=torch.float64)
    for dtype, rtol in ((torch.float64, 1e-10), (torch.float32, 1e-3)):
        for lambdas in ((0.1, 0.05), (0.0, 1.0), (1.0, 0.0)):
            results = []
            for fused in (False, True):
                z, logits = z64.to(dtype).clone().requires_grad_(), l64.to(dtype).clone().requires_grad_()
                gamma = torch.softmax(logits, dim=-1)
                value = (mixture_terms(z, gamma, 1e-2, *lambdas) if fused else  # plain form: lean ridge off
                         lren_loss(zeros.to(dtype), z, zeros.to(dtype), gamma, *lambdas, 1e-2, None, "trace", True))
                value.backward()
                results.append((value.detach(), z.grad, logits.grad))
            for plain, node in zip(*results):
                torch.testing.assert_close(node, plain, rtol=rtol, atol=rtol * float(plain.abs().max()))
            assert float(results[0][1].abs().max()) > 0  # the gradient compared is not zero


def test_the_stabilised_loss_goes_through_the_mixture_node(monkeypatch):
    import torch

    from had_lren import network

    calls = []
    real = network.mixture_terms
    monkeypatch.setattr(network, "mixture_terms", lambda *a: calls.append(1) or real(*a))
    z, gamma = torch.randn(64, 3), torch.softmax(torch.randn(64, 2), -1)
    x = torch.zeros(64, 4)
    network.lren_loss(x, z, x, gamma, 0.1, 0.005, 1e-6, None, "trace", True, True)
    network.lren_loss(x, z, x, gamma, 0.1, 0.005, 1e-6, None, "diag", False, False)  # the reference's terms
    assert calls == [1]
