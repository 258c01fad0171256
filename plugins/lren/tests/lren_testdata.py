"""Shared test data for had-plugin-lren (a uniquely named module, so that plugins' test folders do not clash)."""

import numpy as np

#: a small LREN for quick checks: same structure, narrow layers, few epochs, one run (`lren` only; its restarts:
#: test_restarts.py)
TINY = {"epochs": 5, "hidden": 16, "latent": 4, "est_hidden": 8, "clusters": 3, "device": "cpu", "progress": False,
        "restarts": 1}
#: the reference architecture (400 / 9 / 60 / 7), few epochs: enough on the synthetic scene
SCENE = {"epochs": 60, "device": "cpu", "progress": False}


def synthetic_scene(seed: int = 0, h: int = 30, w: int = 30, bands: int = 24):
    """A cube mixed from 3 smooth endmembers with noise; 12 anomaly pixels, each half a different foreign spectrum."""
    rng = np.random.default_rng(seed)
    grid = np.linspace(0.0, 1.0, bands)
    endmembers = np.stack([np.sin(3 * grid + p) + 1.5 for p in (0.0, 1.0, 2.0)])
    abundance = rng.dirichlet(np.ones(3) * 0.7, size=h * w)
    cube = abundance @ endmembers + 0.01 * rng.normal(size=(h * w, bands))
    truth = np.zeros(h * w, dtype=np.int8)
    idx = rng.choice(h * w, 12, replace=False)
    truth[idx] = 1
    freq = rng.uniform(6.0, 12.0, size=(idx.size, 1))
    cube[idx] = 0.5 * cube[idx] + 0.5 * (1.5 + np.cos(freq * grid + rng.uniform(0, 6, size=(idx.size, 1))))
    return (cube.reshape(h, w, bands) * 1000.0).astype(np.float64), truth.reshape(h, w)


def latent_batch(seed: int = 0, n: int = 200, d: int = 4, k: int = 3):
    """(codes ``(n, d)``, memberships ``(n, k)``) in float64: correlated Gaussian codes, softmax memberships."""
    import torch

    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, d, generator=g, dtype=torch.float64) @ torch.randn(d, d, generator=g, dtype=torch.float64)
    gamma = torch.softmax(torch.randn(n, k, generator=g, dtype=torch.float64), dim=1)
    return z, gamma


#: seeded fits whose scores were saved before the speed work of issue 12 (pre_speed_scores.npz, made at commit
#: 0ce7e04 by :func:`case_scores`); the speed changes must reproduce them (test_speed.py)
#: the LRR stopping rule and mixture precision of the defaults before the fourth (speed) round of issue 12, with
#: which the saved `lren` scores were made (the round may change the defaults, not what these tests pin)
ROUND3_SOLVER = {"lrr_tol": 1e-8, "lrr_max_iter": 500, "lrr_rho": 1.2, "gmm_float64": True, "lean_mixture": False,
                 "lrr_float32": False, "raw_weight": 0.0}  # no raw branch (eleventh round): the scores saved had none
SPEED_CASES = {
    "lren_restarts": ("lren", {**TINY, **ROUND3_SOLVER, "restarts": 2, "seed": 5}),
    "lren_one": ("lren", {**TINY, **ROUND3_SOLVER, "seed": 3}),
    "reference": ("lren-reference", {k: v for k, v in TINY.items() if k != "restarts"} | {"seed": 1}),
}


def case_scores(name: str) -> dict:
    """{"scores": decision_scores_, "admm": the (first) run's lrr_scores_} of SPEED_CASES[name] on the scene."""
    import had

    detector, config = SPEED_CASES[name]
    det = had.get_detector(detector, **config).fit(synthetic_scene()[0])
    first = det.restart_members_[0] if hasattr(det, "restart_members_") else det
    return {"scores": det.decision_scores_, "admm": first.lrr_scores_}


#: real scenes (under HAD_DATA_DIR) whose default `lren` scores were saved before the fourth (speed) round of issue
#: 12 (pre_round4_scores.npz, made at commit 8115d37 by :func:`scene_case_scores`); its bit-identical cuts must
#: reproduce them to float32 round-off (test_speed.py)
SCENE_CASES = {"sandiego_plane": 0, "hydice": 1}


def scene_case_scores(scene: str, seed: int) -> dict:
    """{"scores": decision_scores_, "function": decision_function of the scene, "admm": the first
    member's lrr_scores_} (float32 values) of a default `lren` fit of `scene` with `seed` and the round-3 solver
    settings (:data:`ROUND3_SOLVER`), its latent width 16 and 7 mixture components (the seventh round's default
    width is 32, the eighth round's count 5), one torch thread."""
    import had
    import pytest
    from had.errors import DataFileError

    try:
        data = had.load_dataset(scene)
    except DataFileError as exc:
        pytest.skip(f"{scene}: {exc}")
    det = had.get_detector("lren", seed=seed, device="cpu", progress=False, latent=16, clusters=7,  # round 3's
                           **ROUND3_SOLVER).fit(data.X)
    return {"scores": det.decision_scores_, "function": det.decision_function(data.X),
            "admm": det.restart_members_[0].lrr_scores_}
