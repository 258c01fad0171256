"""LREN thirteenth design round: longer training (``epochs``) and the number of restarts, DEVELOPMENT scenes only.

Candidates (benchmarks/results/lren/round13/rule.md, committed before this script ran): (epochs e, restarts k) in
EPOCHS x RESTARTS, the default (10, 6). One default fit but for ``epochs=e`` (``restarts`` 6) per (scene, seed, e)
(``lren_round10_eval.cell``) answers for every k: the members are independent fits with seeds derived from
(seed, member), so the first k members are a k-restart fit, and the ensemble of the first k is
``mean_m s_m / IQR_m`` over their own scene scores (``had_sdk.restarts.combine``, here in float64). Cached per
(scene, seed, e) under ``--cache``; the table step checks validity (k = 6 within VALID_TOL of the detector's own
AUROC for every e) and writes ``round13/dev_table.md`` with the rule's verdict. Headline scenes are refused.

    HAD_DATA_DIR=/work/shared/data OMP_NUM_THREADS=1 .venv/bin/python benchmarks/lren_round13_eval.py \\
        --cache /tmp/lren13_cache
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lren_round10_eval import cell, start_cache, study_main, write_dev_table  # noqa: E402
from lren_round11_eval import rule_lines  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "lren"
EPOCHS, RESTARTS = (10, 20, 40), (3, 6)
BASE = (10, 6)
GRID = tuple((e, k) for e in EPOCHS for k in RESTARTS)
#: the rule (round13/rule.md): round 11's (lren_round11_eval.rule_lines), float32 against float64 combination
VALID_TOL = 1e-5


def cost(candidate: tuple[int, int]) -> int:
    """The fourth round's cost of k restarts of e epochs: k x (e + 10) epoch-equivalents."""
    e, k = candidate
    return k * (e + 10)


def ensemble(members: np.ndarray, scale: np.ndarray, k: int) -> np.ndarray:
    """The first k members' ensemble score: each member's scene scores over its IQR, averaged."""
    return np.mean(members[:k] / scale[:k, None], axis=0)


def fit_all(cache: Path, scenes: list[str], seeds: list[int]) -> None:
    for scene in scenes:
        start_cache(cache, scene)
        for seed in seeds:
            for e in EPOCHS:
                target = cache / f"{scene}__seed{seed}__e{e}.npz"
                if target.is_file():
                    continue
                det, scores, y, fit_s = cell("lren", scene, seed, {"epochs": e})
                if det.config.restarts != max(RESTARTS) or det.config.raw_weight != 0.25:
                    raise SystemExit(f"the default is not round 11's (restarts {det.config.restarts}, raw_weight "
                                     f"{det.config.raw_weight})")
                members = np.stack([np.asarray(m.decision_scores_, dtype=np.float64).reshape(-1)
                                    for m in det.restart_members_])
                np.savez(target, scores=scores, y=y, members=members,
                         scale=np.asarray(det.restart_scale_, np.float64), fit_s=fit_s)
                print(f"{scene} seed {seed} epochs {e}: fit {fit_s:.1f}s", flush=True)


def table(cache: Path, scenes: list[str], seeds: list[int], out: Path, command: str) -> None:
    from had.metrics import auroc

    au, rx, invalid, fit_s = {}, {}, [], {e: [] for e in EPOCHS}
    for scene in scenes:
        r = np.load(cache / f"{scene}__rx.npz")
        rx[scene] = auroc(r["y"].astype(bool), r["scores"])
        for seed in seeds:
            for e in EPOCHS:
                run = np.load(cache / f"{scene}__seed{seed}__e{e}.npz")
                y = run["y"].astype(bool)
                fit_s[e].append(float(run["fit_s"]))
                for k in RESTARTS:
                    au[scene, seed, (e, k)] = auroc(y, ensemble(run["members"], run["scale"], k))
                own = auroc(y, run["scores"])
                if abs(au[scene, seed, (e, max(RESTARTS))] - own) > VALID_TOL:
                    invalid.append((scene, seed, e, au[scene, seed, (e, max(RESTARTS))], own))
    n = len(scenes) * len(seeds) * len(EPOCHS)
    lines = ["# LREN round 13: development table (rule: rule.md)", "", f"    {command}", "",
             f"Scenes {', '.join(scenes)}; seeds {seeds}; candidates (epochs, restarts), cost k x (e + 10): "
             + ", ".join(f"{c} {cost(c)}" for c in GRID) + ". Validity: "
             f"{'passed' if not invalid else 'FAILED'} (k = {max(RESTARTS)} within {VALID_TOL:g} of each fit's own "
             f"AUROC on {n - len(invalid)} of {n}). Fit seconds, median (6 restarts, one torch thread): "
             + ", ".join(f"{e} epochs {np.median(fit_s[e]):.1f}" for e in EPOCHS) + ".", ""]
    lines += rule_lines(au, rx, scenes, seeds, GRID, BASE, "(epochs, restarts)", invalid, cost=cost)
    write_dev_table(out, lines)


def main() -> None:
    study_main(__doc__, Path("/tmp/lren13_cache"), RESULTS / "round13", fit_all, table, "lren_round13_eval.py")


if __name__ == "__main__":
    main()
