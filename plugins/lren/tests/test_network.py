"""LREN's networks and loss against direct computations: the GMM estimate and its energy, the loss terms,
the preprocessing, the fast CPU layers, and the float32 out-of-sample graph against its float64 reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from had_lren import fastops
from had_lren import lrr as L
from had_lren.network import (LRENNet, MinMaxStandardize, cov_diag_penalty, gmm_energy, gmm_parameters,
                              lren_loss)

from lren_testdata import latent_batch


@pytest.fixture
def batch():
    return latent_batch(seed=0, n=200)


def _numpy_gmm(z, gamma):
    z, gamma = z.numpy(), gamma.numpy()
    phi = gamma.mean(axis=0)
    mu = np.stack([np.average(z, axis=0, weights=gamma[:, k]) for k in range(gamma.shape[1])])
    sigma = np.stack([np.cov(z.T, aweights=gamma[:, k], bias=True) for k in range(gamma.shape[1])])
    return phi, mu, sigma


def test_gmm_parameters_are_the_weighted_moments(batch):
    z, gamma = batch
    phi, mu, sigma = gmm_parameters(z, gamma)
    phi_np, mu_np, sigma_np = _numpy_gmm(z, gamma)
    np.testing.assert_allclose(phi.numpy(), phi_np, rtol=1e-12)
    np.testing.assert_allclose(mu.numpy(), mu_np, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sigma.numpy(), sigma_np, rtol=1e-10, atol=1e-12)


def test_energy_is_the_negative_mixture_log_density(batch):
    from scipy.stats import multivariate_normal

    z, gamma = batch
    eps = 1e-6
    phi, mu, sigma = gmm_parameters(z, gamma)
    energy = gmm_energy(z, phi, mu, sigma, eps).numpy()
    phi_np, mu_np, sigma_np = _numpy_gmm(z, gamma)
    d = z.shape[1]
    density = sum(phi_np[k] * multivariate_normal(mu_np[k], sigma_np[k] + eps * np.eye(d)).pdf(z.numpy())
                  for k in range(len(phi_np)))
    np.testing.assert_allclose(energy, -np.log(density), rtol=1e-9)


def test_loss_is_reconstruction_plus_weighted_energy_and_covariance_penalty(batch):
    z, gamma = batch
    g = torch.Generator().manual_seed(1)
    x = torch.randn(200, 7, generator=g, dtype=torch.float64)
    xhat = x + 0.1 * torch.randn(200, 7, generator=g, dtype=torch.float64)
    phi, mu, sigma = gmm_parameters(z, gamma)
    rec = float(((x - xhat) ** 2).sum(dim=1).mean())
    energy = float(gmm_energy(z, phi, mu, sigma).mean())
    penalty = float((1.0 / torch.diagonal(sigma, dim1=1, dim2=2)).sum())
    assert float(cov_diag_penalty(sigma)) == pytest.approx(penalty)
    got = float(lren_loss(x, z, xhat, gamma, 0.1, 1e-4))
    assert got == pytest.approx(rec + 0.1 * energy + 1e-4 * penalty, rel=1e-12)
    # the float64 mixture on float32 activations: same value to float32 precision
    got32 = float(lren_loss(x.float(), z.float(), xhat.float(), gamma.float(), 0.1, 1e-4, gmm_dtype=torch.float64))
    assert got32 == pytest.approx(got, rel=1e-5)


def test_loss_gradients_equal_a_per_component_formulation(batch):
    """The loss (the K components stacked into single GEMMs) has the gradients of the textbook computation: one
    component at a time, its weighted centred covariance and torch's multivariate normal log-density."""
    z0, gamma0 = batch
    logits0 = torch.log(gamma0)

    def grads(fn):
        z = z0.clone().requires_grad_(True)
        logits = logits0.clone().requires_grad_(True)
        fn(z, torch.softmax(logits, dim=1)).backward()
        return z.grad, logits.grad

    def direct(z, gamma):
        log_terms, penalty = [], 0.0
        eye = torch.eye(z.shape[1], dtype=z.dtype)
        for k in range(gamma.shape[1]):
            g = gamma[:, k]
            mu = (g[:, None] * z).sum(dim=0) / g.sum()
            c = z - mu
            sigma = (g[:, None] * c).T @ c / g.sum()
            normal = torch.distributions.MultivariateNormal(mu, covariance_matrix=sigma + 1e-6 * eye)
            log_terms.append(torch.log(g.mean()) + normal.log_prob(z))
            penalty = penalty + (1.0 / torch.diagonal(sigma)).sum()
        energy = -torch.logsumexp(torch.stack(log_terms, dim=1), dim=1)
        return 0.1 * energy.mean() + 1e-4 * penalty

    x = torch.zeros(z0.shape[0], 3, dtype=torch.float64)
    fast = grads(lambda z, gamma: lren_loss(x, z, x, gamma, 0.1, 1e-4))
    for got, want in zip(fast, grads(direct)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-9, atol=1e-12)


def test_preprocessing_is_global_minmax_then_standard_scaler():
    rng = np.random.default_rng(0)
    X = rng.uniform(100, 5000, size=(300, 6))
    X[:, 3] = 42.0  # a constant band keeps scale 1 (StandardScaler)
    X[:, 4] = 1234.56789  # constant too, but its rounded mean is not exactly its value
    pre = MinMaxStandardize(6).fit(X)
    scaled = (X - X.min()) / (X.max() - X.min())
    std = scaled.std(axis=0)
    std[[3, 4]] = 1.0
    expected = (scaled - scaled.mean(axis=0)) / std
    got = pre(torch.from_numpy(X.astype(np.float32))).numpy()
    np.testing.assert_allclose(got, expected, atol=2e-5)
    assert np.abs(got[:, [3, 4]]).max() < 1e-6
    assert float(pre.lo) == X.min() and float(pre.span) == pytest.approx(X.max() - X.min())


def test_architecture_and_glorot_init():
    torch.manual_seed(0)
    net = LRENNet(189)
    shapes = {name: tuple(p.shape) for name, p in net.named_parameters() if name.endswith("weight")}
    assert shapes == {"enc1.weight": (400, 189), "enc2.weight": (9, 400), "dec1.weight": (400, 9),
                      "dec2.weight": (189, 400), "est1.weight": (60, 9), "est2.weight": (7, 60)}
    for name, p in net.named_parameters():
        if name.endswith("bias"):
            assert not p.any()
        else:
            fan_out, fan_in = p.shape
            assert p.abs().max() <= math.sqrt(6.0 / (fan_in + fan_out))
    z, xhat, gamma = net(torch.randn(5, 189))
    assert z.shape == (5, 9) and xhat.shape == (5, 189) and gamma.shape == (5, 7)
    torch.testing.assert_close(gamma.sum(dim=1), torch.ones(5))


@pytest.mark.skipif(not fastops.available(), reason="oneDNN linear is not available in this torch build")
def test_fast_layers_match_the_plain_path():
    torch.manual_seed(0)
    net = LRENNet(30, hidden=64, latent=5, est_hidden=16, clusters=4)
    x = torch.randn(500, 30)
    outs = []
    for fast in (False, True):
        net.zero_grad()
        z, xhat, gamma = net.training_forward(x, x.t().contiguous()) if fast else net(x)
        loss = lren_loss(x, z, xhat, gamma, 0.1, 1e-4, gmm_dtype=torch.float64)
        loss.backward()
        outs.append((float(loss.detach()), {n: p.grad.clone() for n, p in net.named_parameters()}))
    (plain, g_plain), (fast, g_fast) = outs
    assert fast == pytest.approx(plain, rel=1e-5)
    for name in g_plain:
        torch.testing.assert_close(g_fast[name], g_plain[name], rtol=1e-3, atol=1e-5 * g_plain[name].abs().max())


def net_with_rule(seed: int, lam: float = 0.05):
    """A small random LRENNet, 400 random pixels `x`, their codes `Z` (float64), the LRR of `Z` on 6 of them and its
    out-of-sample rule set in the network's buffers: (net, x, Z, lrr result, rule)."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    net = LRENNet(12, hidden=16, latent=4, est_hidden=8, clusters=3).eval()
    x = torch.randn(400, 12)
    with torch.no_grad():
        Z = net.encode(x).double().numpy()
    B = Z[rng.choice(400, 6, replace=False)].T
    res = L.lrr(Z.T, B, lam)
    rule = L.out_of_sample_rule(B, res.X, lam)
    net.oos_basis.copy_(torch.from_numpy(rule.basis))
    net.oos_delta.copy_(torch.from_numpy(rule.delta))
    net.oos_lambda.fill_(rule.lam)
    return net, x, Z, res, rule


def test_float32_out_of_sample_graph_matches_the_float64_solver():
    net, x, Z, res, rule = net_with_rule(0)
    with torch.no_grad():
        got = net.oos_score(x).double().numpy()
    expected = L.out_of_sample_scores(Z, rule)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * expected.max())
    np.testing.assert_allclose(expected, L.column_scores(res.E), rtol=0.05, atol=1e-3 * expected.max())


def test_full_rank_low_rank_part_gives_exact_zeros_in_both_paths():
    """When the low-rank part spans the latent space, samples inside the subdifferential ball have error exactly
    0 (as the solver's own columns): the float32 graph must give the same zeros, not rounding noise."""
    torch.manual_seed(0)
    net = LRENNet(6, hidden=16, latent=3, est_hidden=8, clusters=3).eval()
    x = torch.randn(300, 6)
    with torch.no_grad():
        Z = net.encode(x).double().numpy()
    B = Z[np.random.default_rng(0).choice(300, 6, replace=False)].T
    res = L.lrr(Z.T, B, 0.2)
    rule = L.out_of_sample_rule(B, res.X, 0.2)
    assert rule.rank == 3
    expected = L.out_of_sample_scores(Z, rule)
    net.oos_basis.copy_(torch.from_numpy(rule.basis))
    net.oos_delta.copy_(torch.from_numpy(rule.delta))
    net.oos_lambda.fill_(rule.lam)
    net.oos_full_rank.fill_(1.0)
    with torch.no_grad():
        got = net.oos_score(x).double().numpy()
    zeros = expected == 0
    assert 0 < zeros.sum() < 300 and (L.column_scores(res.E) < 1e-9).sum() > 0.9 * zeros.sum()
    np.testing.assert_array_equal(got == 0, zeros)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * expected.max())


def test_eager_score_stops_at_the_fixed_point_with_the_full_counts_bits(monkeypatch):
    """Eagerly, the Newton loop stops once a step changes nothing; the exported graph runs all OOS_ITERATIONS
    steps. The scores must be the same bits, and the eager loop must in fact stop early."""
    import had_lren.network as network

    net, x, _, _, _ = net_with_rule(1)
    steps = []
    real_where = torch.where
    monkeypatch.setattr(network.torch, "where", lambda *a: (steps.append(1), real_where(*a))[1])
    with torch.no_grad():
        eager = net.oos_score(x)
        eager_steps = len(steps)
        monkeypatch.setattr(network.torch.onnx, "is_in_onnx_export", lambda: True)
        full = net.oos_score(x)
    assert eager_steps < 0.6 * (len(steps) - eager_steps)  # torch.where calls: the eager loop ran fewer steps
    assert torch.equal(eager, full)
